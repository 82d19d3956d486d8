/**
 * Where the forwarder's effect on append latency comes from (a diagnostic beside
 * appendLatencyWithForwarding). Awaited appends in phases without and with a live forwarder (TCP
 * collector on a thread of its own), alternating; with the forwarder, each append is classed by
 * the costliest of the forwarder's work that ran while it was in flight (or, arriving, waited):
 * a write of the cursor file (temp file, fsync, rename), a delivery (the socket write), a slice
 * (records read and encoded beside the writer, Forwarder.besideWriter()), or nothing. Per class:
 * how often that work ran and how long it took, how many appends met it, their median, and how
 * many more were slow (over the p99 of the phases without) than the appends during which nothing
 * of it ran.
 *   npx tsc -p tsconfig.bench.json && node dist/bench/forwarding-attribution.js
 * BENCH_ROUNDS (default 8): rounds of one phase each. BENCH_ARRIVALS_PER_SECOND: appends arriving
 * at that rate (open loop, arrivalThread()), each timed from its arrival, BENCH_PER_PHASE of them
 * (default 6,000), instead of back to back. BENCH_PIN=0,1 (Linux, taskset) first pins
 * the main thread to CPU 0 and every other thread (libuv's pool, which runs the fdatasync; the
 * collector) to CPU 1. Figures: bench/results/forwarding-attribution.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Forwarder } from '../src/audit/forward/forwarder';
import type { ForwardItem } from '../src/audit/forward/sink';
import { SyslogSink } from '../src/audit/forward/syslog';
import { AuditLog } from '../src/audit/log';
import { segmentName } from '../src/audit/segments';
import { Writer } from './audit';
import { arrivalThread, collectorThread, lastLineStart, timedAppends, usNow as now } from './audit-assurance';
import { envNumber, median, oneDecimal, percentile, refuse, writeResult } from './report';

type Span = { kind: 'slice' | 'delivery' | 'cursor'; from: number; to: number };
type Ran = 'slice' | 'delivery' | 'cursor' | 'nothing';

/** The syslog sink, noting when its encodes (the slices) and its deliveries' socket writes run. */
class NotingSink extends SyslogSink {
  constructor(url: string, private readonly spans: Span[], private readonly on: () => boolean) {
    super({ url });
  }
  override encode(items: ForwardItem[]): Buffer {
    const from = now();
    const out = super.encode(items);
    if (this.on()) this.spans.push({ kind: 'slice', from, to: now() });
    return out;
  }
  override deliver(parts: Buffer[], lastId: number): Promise<void> {
    const from = now();
    const p = super.deliver(parts, lastId); // the socket write happens in here, synchronously
    if (this.on()) this.spans.push({ kind: 'delivery', from, to: now() });
    return p;
  }
}

function pin(spec: string): void {
  const [main, rest] = spec.split(',');
  for (const tid of readdirSync('/proc/self/task')) execFileSync('taskset', ['-cp', Number(tid) === process.pid ? main! : rest!, tid], { stdio: 'ignore' });
}

export async function main(): Promise<Record<string, unknown>> {
  const rounds = envNumber('BENCH_ROUNDS', 8, { min: 1, integer: true });
  const perPhase = envNumber('BENCH_PER_PHASE', 6000, { min: 1, integer: true });
  const rate = envNumber('BENCH_ARRIVALS_PER_SECOND', undefined, { min: 1 }) ?? null;
  const pinning = process.env.BENCH_PIN;
  if (pinning && !/^\d+,\d+$/.test(pinning)) refuse(`BENCH_PIN must be two CPU numbers, the event loop's and the other threads' (0,1), not "${pinning}"`);
  const arrivals = rate ? arrivalThread(rate) : null;
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-fwd-attr-'));
  const col = await collectorThread();
  const w = new Writer(await AuditLog.open(join(dir, 'audit')));
  const log = w.log;
  await Promise.all(Array.from({ length: 5000 }, () => w.next()));
  if (pinning) pin(pinning);
  const cursor = join(dir, 'cursor.json');
  const spans: Span[] = [];
  let noting = false;
  const off: number[] = [];
  const on: { us: number; ran: Ran }[] = [];
  const took = { slice: [] as number[], delivery: [] as number[], cursor: [] as number[] };
  // The cursor file's writes (temp file, fsync, rename: on libuv's pool and the log's disk) run
  // beside the slices and deliveries, so they are noted apart: a diagnostic's look inside.
  const cursorSpans: Span[] = [];
  const proto = Forwarder.prototype as unknown as { commit: (this: { cursorWrittenAt: number }, force?: boolean) => Promise<void> };
  const commit = proto.commit;
  proto.commit = async function (force) {
    const [before, from] = [this.cursorWrittenAt, now()];
    await commit.call(this, force);
    if (noting && this.cursorWrittenAt !== before) cursorSpans.push({ kind: 'cursor', from, to: now() });
  };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const d = log.durable;
        writeFileSync(cursor, JSON.stringify({ segment: d.segment, offset: d.bytes, id: d.id, hash: d.hash, lineStart: lastLineStart(join(log.dir, segmentName(d.segment)), d.bytes) }));
        const f = kind === 'on' ? await new Forwarder(log.dir, new NotingSink(`tcp://127.0.0.1:${col.port}`, spans, () => noting), cursor, { log }).start() : null;
        spans.length = 0;
        cursorSpans.length = 0;
        noting = true;
        const xs = await timedAppends(perPhase, () => w.next(), arrivals, r + 1);
        noting = false;
        for (const sp of [...spans, ...cursorSpans]) took[sp.kind].push(sp.to - sp.from);
        await f?.stop();
        if (kind === 'off') off.push(...xs.map(([a, b]) => b - a));
        else {
          // What of the forwarder ran while each append was in flight or waiting to start (an
          // arrival during a span waits for it); both in time order, spans one after another.
          // Classed by the costliest that ran: a cursor write, a delivery, a slice.
          const rank: Ran[] = ['nothing', 'slice', 'delivery', 'cursor'];
          const cursor = { j: 0 };
          const main = { j: 0 };
          const overlapping = (list: Span[], at: { j: number }, a: number, b: number): Ran => {
            while (at.j < list.length && list[at.j]!.to <= a) at.j++;
            let ran: Ran = 'nothing';
            for (let k = at.j; k < list.length && list[k]!.from < b; k++) if (rank.indexOf(list[k]!.kind) > rank.indexOf(ran)) ran = list[k]!.kind;
            return ran;
          };
          for (const [a, b] of xs) {
            const c = overlapping(cursorSpans, cursor, a, b);
            on.push({ us: b - a, ran: c !== 'nothing' ? c : overlapping(spans, main, a, b) });
          }
        }
      }
    }
  } finally {
    proto.commit = commit;
    await log.close();
    await col.close();
    await arrivals?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const slowOver = percentile(off, 99);
  const nothing = on.filter((x) => x.ran === 'nothing');
  const baseRate = nothing.filter((x) => x.us > slowOver).length / nothing.length;
  const classes = Object.fromEntries(
    (['nothing', 'slice', 'delivery', 'cursor'] as const).map((k) => {
      const xs = on.filter((x) => x.ran === k);
      const slow = xs.filter((x) => x.us > slowOver).length;
      const spent = k === 'nothing' ? {} : { runs: took[k].length, tookMedianUs: took[k].length ? oneDecimal(median(took[k])) : null, tookMaxUs: took[k].length ? oneDecimal(Math.max(...took[k])) : null };
      return [k, { ...spent, appends: xs.length, medianUs: xs.length ? oneDecimal(median(xs.map((x) => x.us))) : null, slow, slowMoreThanNothingPerPhase: oneDecimal((slow - xs.length * baseRate) / rounds) }];
    }),
  );
  const result = {
    rounds, perPhase, arrivalsPerSecond: rate, pinned: pinning ?? null,
    without: { medianUs: oneDecimal(median(off)), p99Us: oneDecimal(slowOver) },
    with: { medianUs: oneDecimal(median(on.map((x) => x.us))), p99Us: oneDecimal(percentile(on.map((x) => x.us), 99)) },
    byWhatRan: classes,
  };
  writeResult('forwarding-attribution', result);
  return result;
}

if (require.main === module) void main();
