/**
 * Is the forwarding-effect test (audit-assurance.ts, appendLatencyWithForwarding) calibrated on
 * this machine? Runs it alternately as a sham (the "with" phase runs no forwarder: any effect is
 * noise) and for real, on one log, and counts how often each says "slower" (p < 0.05). A
 * calibrated test says so in about 1 sham run in 20; a real effect shows as many more real runs.
 * Each test is also run on all runs' rounds at once (more rounds: more power).
 *   npx tsc -p tsconfig.bench.json && node dist/bench/forwarding-calibration.js
 * BENCH_CALIBRATION_RUNS (default 5) pairs; about 3 minutes a pair. BENCH_ARRIVALS_PER_SECOND:
 * appends arriving at that rate instead of back to back (open loop), BENCH_PER_ROUND a phase
 * (default 6,000), BENCH_CURSOR_EVERY_MS the forwarder's cursorEveryMs (to try a rarer cursor
 * write), BENCH_QUIET_STEAL the most steal (%, default 2) of a quiet round. Figures:
 * bench/results/forwarding-calibration.json. Saved results of several runs of it, tested as one:
 *   node dist/bench/forwarding-calibration.js --pool a.json b.json ...
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/log';
import { Writer } from './audit';
import { appendLatencyWithForwarding, slowdownP, slowestOfThree, typicalForwardingEffect, type Round } from './audit-assurance';
import { envNumber, percentOneDecimal, readJson, refuse, writeResult } from './report';

interface Run {
  effectPercent: { mean: number };
  p99EffectPercent: { mean: number };
  slowdownP: { median: number; p99: number };
  slowestOfThree: { median: { p: number }; p99: { p: number } };
  phases: { medianUs: Round; p99Us: Round; stealPercent?: Round }[];
  hostStealPercent: { without: number; with: number; highest: number } | null;
}

export async function main(): Promise<Record<string, unknown>> {
  const pairs = envNumber('BENCH_CALIBRATION_RUNS', 5, { min: 1, integer: true });
  const arrivalsPerSecond = envNumber('BENCH_ARRIVALS_PER_SECOND', undefined, { min: 1 });
  const perRound = envNumber('BENCH_PER_ROUND', undefined, { min: 1, integer: true });
  const cursorEveryMs = envNumber('BENCH_CURSOR_EVERY_MS', undefined);
  const forwarderOptions = cursorEveryMs === undefined ? {} : { cursorEveryMs };
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-fwd-cal-'));
  const runs: { sham: Run[]; real: Run[] } = { sham: [], real: [] };
  try {
    const w = new Writer(await AuditLog.open(join(dir, 'audit')));
    await Promise.all(Array.from({ length: 5000 }, () => w.next()));
    for (let i = 0; i < pairs; i++) {
      // Alternate which goes first, so that neither kind always follows the other.
      for (const sham of i % 2 ? [false, true] : [true, false]) {
        const r = (await appendLatencyWithForwarding(w.log, () => w.next(), dir, { sham, arrivalsPerSecond, perRound, forwarderOptions })) as unknown as Run;
        runs[sham ? 'sham' : 'real'].push(r);
        const stolen = r.hostStealPercent ? `; CPU stolen by the host ${r.hostStealPercent.without}% / ${r.hostStealPercent.with}% of phases' time (without / with), up to ${r.hostStealPercent.highest}%` : '';
        console.log(`forwarding calibration: ${sham ? 'sham' : 'real'} run: median ${r.effectPercent.mean}% (p=${r.slowdownP.median}; slowest p=${r.slowestOfThree.median.p}), p99 ${r.p99EffectPercent.mean}% (p=${r.slowdownP.p99}; slowest p=${r.slowestOfThree.p99.p})${stolen}`);
      }
    }
    await w.log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = summarize(runs, pairs);
  printSummary(summary, pairs);
  const result = { pairs, arrivalsPerSecond: arrivalsPerSecond ?? null, forwarderOptions, ...summary, runs };
  writeResult('forwarding-calibration', result);
  return result;
}

/**
 * Rounds whose three phases each lost at most this share of CPU time to the host (steal, %): the
 * test's power is in them (the host's theft swamps effects of forwarding's size), and as whole
 * rounds are kept or left by a figure forwarding does not change, the test stays calibrated.
 */
const quietSteal = envNumber('BENCH_QUIET_STEAL', 2);

/** The counts of runs that said "slower", and both tests on all runs' rounds at once, and on their quiet rounds. */
function summarize(runs: { sham: Run[]; real: Run[] }, pairs: number) {
  const slower = (rs: Run[], k: 'median' | 'p99') => rs.filter((r) => r.slowdownP[k] < 0.05).length;
  const slowest = (rs: Run[], k: 'median' | 'p99') => rs.filter((r) => r.slowestOfThree[k].p < 0.05).length;
  const counts = (rs: Run[]) => ({ median: slower(rs, 'median'), p99: slower(rs, 'p99'), slowestMedian: slowest(rs, 'median'), slowestP99: slowest(rs, 'p99') });
  // All runs' rounds as one test: more rounds, more power than any one run (each p as in a run).
  const pooled = (rs: Run[], quiet: boolean) => {
    const phases = rs.flatMap((r) => r.phases).filter((ph) => !quiet || (ph.stealPercent && Math.max(ph.stealPercent.A, ph.stealPercent.on, ph.stealPercent.B) <= quietSteal));
    const of = (k: 'medianUs' | 'p99Us') => {
      const rounds = phases.map((ph) => ph[k]);
      if (!rounds.length) return { rounds: 0, slowdownP: null, slowestOfThree: slowestOfThree(rounds), effectPercent: null };
      // How large, not only whether (the typical round's factor): the sham's is what noise alone makes of it.
      const size = typicalForwardingEffect(rounds);
      return {
        rounds: rounds.length, slowdownP: Number(slowdownP(rounds).toPrecision(2)), slowestOfThree: slowestOfThree(rounds),
        effectPercent: { mean: percentOneDecimal(size.mean), interval95: size.interval.map(percentOneDecimal) },
      };
    };
    return { median: of('medianUs'), p99: of('p99Us') };
  };
  return {
    shamSaidSlower: counts(runs.sham), realSaidSlower: counts(runs.real),
    pooled: { sham: pooled(runs.sham, false), real: pooled(runs.real, false) },
    quietStealPercent: quietSteal,
    pooledQuiet: { sham: pooled(runs.sham, true), real: pooled(runs.real, true) },
  };
}

function printSummary(summary: ReturnType<typeof summarize>, pairs: number): void {
  const said = (x: typeof summary.shamSaidSlower) => `median ${x.median}/${pairs}, p99 ${x.p99}/${pairs} (slowest of three: median ${x.slowestMedian}/${pairs}, p99 ${x.slowestP99}/${pairs})`;
  type Pool = typeof summary.pooled.sham;
  const size = (t: Pool['median']) => (t.effectPercent ? `${t.effectPercent.mean > 0 ? '+' : ''}${t.effectPercent.mean}% [${t.effectPercent.interval95.join(', ')}]` : '');
  const all = (x: Pool) =>
    !x.median.rounds ? 'no rounds'
      : `median ${size(x.median)} p=${x.median.slowdownP} (slowest in ${x.median.slowestOfThree.slowest}/${x.median.rounds}, p=${x.median.slowestOfThree.p}), p99 ${size(x.p99)} p=${x.p99.slowdownP} (slowest in ${x.p99.slowestOfThree.slowest}/${x.p99.rounds}, p=${x.p99.slowestOfThree.p})`;
  console.log(`forwarding calibration: "slower" (p < 0.05) in sham runs: ${said(summary.shamSaidSlower)}; in real runs: ${said(summary.realSaidSlower)}`);
  console.log(`forwarding calibration: all rounds as one test: sham ${all(summary.pooled.sham)}; real ${all(summary.pooled.real)}`);
  console.log(`forwarding calibration: quiet rounds (steal <= ${summary.quietStealPercent}% in each phase) as one test: sham ${all(summary.pooledQuiet.sham)}; real ${all(summary.pooledQuiet.real)}`);
}

/** What main() saves, as far as --pool reads it. */
interface Saved {
  runs: { sham: Run[]; real: Run[] };
  arrivalsPerSecond: number | null;
  forwarderOptions?: unknown;
}

/**
 * `--pool a.json b.json ...`: the same tests on the runs of saved calibrations together (results
 * of one code and load, from different hours), without running anything.
 */
function pool(files: string[]): void {
  if (!files.length) refuse('--pool needs the saved results to pool: --pool a.json b.json ...');
  const saved = files.map((f) => {
    const x = readJson<Partial<Saved> | null>(f);
    if (!Array.isArray(x?.runs?.sham) || !Array.isArray(x.runs.real)) refuse(`${f} is not a saved forwarding calibration (it has no sham and real runs)`);
    return x as Saved;
  });
  const settings = new Set(saved.map((x) => JSON.stringify([x.arrivalsPerSecond, x.forwarderOptions ?? {}])));
  if (settings.size > 1) console.log(`forwarding calibration: warning: the files differ in load or forwarder options (${[...settings].join(' / ')})`);
  // Results saved before the bench counted slowest-of-three: counted here from their phases, as the bench does.
  const complete = (r: Run): Run => ({ ...r, slowestOfThree: r.slowestOfThree ?? { median: slowestOfThree(r.phases.map((ph) => ph.medianUs)), p99: slowestOfThree(r.phases.map((ph) => ph.p99Us)) } });
  const runs = { sham: saved.flatMap((x) => x.runs.sham.map(complete)), real: saved.flatMap((x) => x.runs.real.map(complete)) };
  const pairs = Math.min(runs.sham.length, runs.real.length);
  const summary = summarize(runs, pairs);
  printSummary(summary, pairs);
  writeResult('forwarding-calibration-pooled', { files, pairs, ...summary });
}

if (require.main === module) {
  const at = process.argv.indexOf('--pool');
  if (at !== -1) pool(process.argv.slice(at + 1));
  else void main();
}
