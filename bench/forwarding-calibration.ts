/**
 * Is the forwarding-effect test (audit-assurance.ts, appendLatencyWithForwarding) calibrated on
 * this machine? Runs it alternately as a sham (the "with" phase runs no forwarder: any effect is
 * noise) and for real, on one log, and counts how often each says "slower" (p < 0.05). A
 * calibrated test says so in about 1 sham run in 20; a real effect shows as many more real runs.
 * Each test is also run on all runs' rounds at once (more rounds: more power).
 *   npx tsc -p tsconfig.bench.json && node dist/bench/forwarding-calibration.js
 * BENCH_CALIBRATION_RUNS (default 5) pairs; about 3 minutes a pair. BENCH_ARRIVALS_PER_SECOND:
 * appends arriving at that rate instead of back to back (open loop), BENCH_PER_ROUND a phase
 * (default 6,000). Figures: bench/results/forwarding-calibration.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/log';
import { Writer } from './audit';
import { appendLatencyWithForwarding, slowdownP, slowestOfThree, type Round } from './audit-assurance';
import { writeResult } from './report';

interface Run {
  effectPercent: { mean: number };
  p99EffectPercent: { mean: number };
  slowdownP: { median: number; p99: number };
  slowestOfThree: { median: { p: number }; p99: { p: number } };
  phases: { medianUs: Round; p99Us: Round }[];
  hostStealPercent: { without: number; with: number; highest: number } | null;
}

export async function main(): Promise<Record<string, unknown>> {
  const pairs = Number(process.env.BENCH_CALIBRATION_RUNS ?? 5);
  const arrivalsPerSecond = process.env.BENCH_ARRIVALS_PER_SECOND ? Number(process.env.BENCH_ARRIVALS_PER_SECOND) : undefined;
  const perRound = process.env.BENCH_PER_ROUND ? Number(process.env.BENCH_PER_ROUND) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-fwd-cal-'));
  const runs: { sham: Run[]; real: Run[] } = { sham: [], real: [] };
  try {
    const w = new Writer(await AuditLog.open(join(dir, 'audit')));
    await Promise.all(Array.from({ length: 5000 }, () => w.next()));
    for (let i = 0; i < pairs; i++) {
      // Alternate which goes first, so that neither kind always follows the other.
      for (const sham of i % 2 ? [false, true] : [true, false]) {
        const r = (await appendLatencyWithForwarding(w.log, () => w.next(), dir, { sham, arrivalsPerSecond, perRound })) as unknown as Run;
        runs[sham ? 'sham' : 'real'].push(r);
        const stolen = r.hostStealPercent ? `; CPU stolen by the host ${r.hostStealPercent.without}% / ${r.hostStealPercent.with}% of phases' time (without / with), up to ${r.hostStealPercent.highest}%` : '';
        console.log(`forwarding calibration: ${sham ? 'sham' : 'real'} run: median ${r.effectPercent.mean}% (p=${r.slowdownP.median}; slowest p=${r.slowestOfThree.median.p}), p99 ${r.p99EffectPercent.mean}% (p=${r.slowdownP.p99}; slowest p=${r.slowestOfThree.p99.p})${stolen}`);
      }
    }
    await w.log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const slower = (rs: Run[], k: 'median' | 'p99') => rs.filter((r) => r.slowdownP[k] < 0.05).length;
  const slowest = (rs: Run[], k: 'median' | 'p99') => rs.filter((r) => r.slowestOfThree[k].p < 0.05).length;
  // All runs' rounds as one test: more rounds, more power than any one run (each p as in a run).
  const pooled = (rs: Run[]) => {
    const of = (k: 'medianUs' | 'p99Us') => {
      const rounds = rs.flatMap((r) => r.phases.map((ph) => ph[k]));
      return { rounds: rounds.length, slowdownP: Number(slowdownP(rounds).toPrecision(2)), slowestOfThree: slowestOfThree(rounds) };
    };
    return { median: of('medianUs'), p99: of('p99Us') };
  };
  const summary = {
    pairs, arrivalsPerSecond: arrivalsPerSecond ?? null,
    shamSaidSlower: { median: slower(runs.sham, 'median'), p99: slower(runs.sham, 'p99'), slowestMedian: slowest(runs.sham, 'median'), slowestP99: slowest(runs.sham, 'p99') },
    realSaidSlower: { median: slower(runs.real, 'median'), p99: slower(runs.real, 'p99'), slowestMedian: slowest(runs.real, 'median'), slowestP99: slowest(runs.real, 'p99') },
    pooled: { sham: pooled(runs.sham), real: pooled(runs.real) },
  };
  const said = (x: typeof summary.shamSaidSlower) => `median ${x.median}/${pairs}, p99 ${x.p99}/${pairs} (slowest of three: median ${x.slowestMedian}/${pairs}, p99 ${x.slowestP99}/${pairs})`;
  const all = (x: ReturnType<typeof pooled>) =>
    `median p=${x.median.slowdownP} (slowest in ${x.median.slowestOfThree.slowest}/${x.median.rounds}, p=${x.median.slowestOfThree.p}), p99 p=${x.p99.slowdownP} (slowest in ${x.p99.slowestOfThree.slowest}/${x.p99.rounds}, p=${x.p99.slowestOfThree.p})`;
  console.log(`forwarding calibration: "slower" (p < 0.05) in sham runs: ${said(summary.shamSaidSlower)}; in real runs: ${said(summary.realSaidSlower)}`);
  console.log(`forwarding calibration: all rounds as one test: sham ${all(summary.pooled.sham)}; real ${all(summary.pooled.real)}`);
  const result = { ...summary, runs };
  writeResult('forwarding-calibration', result);
  return result;
}

if (require.main === module) void main();
