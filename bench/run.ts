/**
 * `npm run bench`: the policy bench, then the audit bench, then a short pass/fail summary.
 * Full figures: bench/results/{policy,audit,powershell}.json.
 */
import { main as auditBench } from './audit';
import { main as auditIndexBench } from './audit-index';
import { main as policyBench } from './policy';
import { main as powershellBench } from './powershell';
import { main as slackBench } from './slack';
import { main as teamsStoreBench } from './teams-store';

interface PolicyOut {
  setupMs: { evaluatorConstruct: number };
  decide: { current: { perCallMedianUs: number; perCallP99Us: number; decisionsPerSecond: number } };
  identify: { medianUs: number };
  target: { pass: boolean };
}
interface IndexOut {
  records: number;
  index: { buildMs: number };
  summary: Record<string, { indexedMedianMs: number; indexedP99Ms: number; scanMedianMs: number }>;
  target: { pass: boolean };
}
interface AuditOut {
  summary: Record<string, { logMedianUs: number; logP99Us: number; rawAsyncMedianUs: number; rawSyncMedianUs: number; openMs: number }>;
  targets: { logAt1mVsRawAsync: { ratio: number; pass: boolean }; logAt1mVsLogAt1k: { ratio: number; pass: boolean }; verifyAt1mVsFloor: { ratio: number; signedRatio: number; cpuRatio: number; cpuSignedRatio: number; pass: boolean } };
  verify: { records: number; floorMs: number; verifyMs: number; verifyWithCheckpointsMs: number; resumeFromLastCheckpoint: { ms: number } };
  forwarding: { syslogTcp: { recordsPerSecond: number }; httpHec: { recordsPerSecond: number } };
  appendWithForwarding: {
    withForwarding: { medianUs: number; p99Us: number }; withoutForwarding: { medianUs: number; p99Us: number };
    effectPercent: { mean: number }; p99EffectPercent: { mean: number }; slowdownP: { median: number; p99: number }; target: { pass: boolean };
  };
}

export async function main(): Promise<boolean> {
  const t = Date.now();
  const p = (await policyBench()) as unknown as PolicyOut;
  const a = (await auditBench()) as unknown as AuditOut;
  const ix = (await auditIndexBench()) as unknown as IndexOut;
  const ps = await powershellBench();
  const d = p.decide.current;
  const at1m = a.summary['1000000']!;
  const at1k = a.summary['1000']!;
  const fx = a.appendWithForwarding;
  const rows: [string, string, boolean | null][] = [
    ['policy: decide median < 5 µs', `${d.perCallMedianUs} µs (p99 ${d.perCallP99Us} µs, ${d.decisionsPerSecond}/s; identify ${p.identify.medianUs} µs; construct ${p.setupMs.evaluatorConstruct} ms)`, p.target.pass],
    [
      'audit: append @1M <= 1.5x raw fsync',
      `${at1m.logMedianUs} µs vs raw async ${at1m.rawAsyncMedianUs} µs = ${a.targets.logAt1mVsRawAsync.ratio}x (raw sync ${at1m.rawSyncMedianUs} µs; p99 ${at1m.logP99Us} µs)`,
      a.targets.logAt1mVsRawAsync.pass,
    ],
    ['audit: append @1M <= 1.2x append @1k', `${at1m.logMedianUs} µs vs ${at1k.logMedianUs} µs = ${a.targets.logAt1mVsLogAt1k.ratio}x (open @1M ${at1m.openMs} ms)`, a.targets.logAt1mVsLogAt1k.pass],
    [
      'audit: verify @1M <= 1.5x read+parse+hash floor',
      `${a.verify.verifyMs} ms (${a.targets.verifyAt1mVsFloor.ratio}x), with checkpoints ${a.verify.verifyWithCheckpointsMs} ms (${a.targets.verifyAt1mVsFloor.signedRatio}x) vs floor ${a.verify.floorMs} ms at ${a.verify.records} records (CPU time ${a.targets.verifyAt1mVsFloor.cpuRatio}x / ${a.targets.verifyAt1mVsFloor.cpuSignedRatio}x); resume ${a.verify.resumeFromLastCheckpoint.ms} ms`,
      a.targets.verifyAt1mVsFloor.pass,
    ],
    [
      'audit: forwarding slows no append beyond noise',
      `append median ${fx.withForwarding.medianUs} µs with vs ${fx.withoutForwarding.medianUs} µs without (${fx.effectPercent.mean}%, p=${fx.slowdownP.median}), p99 ${fx.withForwarding.p99Us} vs ${fx.withoutForwarding.p99Us} µs (${fx.p99EffectPercent.mean}%, p=${fx.slowdownP.p99}); syslog/TCP ${a.forwarding.syslogTcp.recordsPerSecond}/s, HEC ${a.forwarding.httpHec.recordsPerSecond}/s`,
      fx.target.pass,
    ],
  ];
  const q = (k: string) => `${k} ${ix.summary[k]!.indexedMedianMs} ms (p99 ${ix.summary[k]!.indexedP99Ms}; scan ${ix.summary[k]!.scanMedianMs})`;
  rows.push([
    `audit index: query median < 50 ms @${ix.records}`,
    `${q('user')}, ${q('vm')}, ${q('timeRange')}; build ${Math.round(ix.index.buildMs / 100) / 10} s`,
    ix.target.pass,
  ]);
  for (const s of ps.shells)
    rows.push(
      s.skipped
        ? [`powershell (${s.shell}): warm <= 1/10 cold`, s.skipped, null]
        : [`powershell (${s.shell} ${s.version}): warm <= 1/10 cold`, `warm ${s.warm!.medianMs} ms (p99 ${s.warm!.p99Ms} ms) vs cold ${s.cold!.medianMs} ms = ${s.ratio}x`, s.pass],
    );
  const sl = (await slackBench()) as unknown as { vmbot: { medianMs: number; p99Ms: number }; bareBolt: { medianMs: number; p99Ms: number }; target: { p99Ratio: number; pass: boolean } };
  rows.push(['slack: ack p99 <= 1.5x bare Bolt', `vmbot median ${sl.vmbot.medianMs} ms / p99 ${sl.vmbot.p99Ms} ms vs bare ${sl.bareBolt.medianMs} / ${sl.bareBolt.p99Ms} ms = ${sl.target.p99Ratio}x`, sl.target.pass]);
  const ts = (await teamsStoreBench()) as unknown as { users: Record<string, { unchangedUs: { median: number }; changedUs: { median: number }; changeOnDiskMs: { median: number } }>; target: { pass: boolean } };
  const ts50k = ts.users['50000']!;
  rows.push([
    'teams store: an activity that changes nothing < 50 µs at 50,000 people',
    `${ts50k.unchangedUs.median} µs (1,000 people: ${ts.users['1000']!.unchangedUs.median} µs); a change ${ts50k.changedUs.median} µs on the event loop, on disk after ${ts50k.changeOnDiskMs.median} ms`,
    ts.target.pass,
  ]);
  console.log('\n== bench summary ==');
  for (const [name, figure, pass] of rows) console.log(`${pass === null ? 'SKIP' : pass ? 'PASS' : 'FAIL'}  ${name}: ${figure}`);
  console.log(`(total ${Math.round((Date.now() - t) / 1000)} s; details in bench/results/*.json)`);
  return rows.every((r) => r[2] !== false);
}

if (require.main === module)
  void main().then(
    (ok) => process.exit(ok ? 0 : 1),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
