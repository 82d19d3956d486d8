/**
 * Where the forwarder's effect on append latency comes from (a diagnostic beside
 * appendLatencyWithForwarding). Awaited appends in phases without and with a live forwarder (TCP
 * collector on a thread of its own), alternating; with the forwarder, each append is classed by
 * what of the forwarder ran while it was in flight: a slice (records read and encoded beside the
 * writer, Forwarder.besideWriter()), a delivery (the socket write), or nothing. Per class: how
 * many, the median, and how many more were slow (over the p99 of the phases without) than the
 * appends during which nothing of it ran.
 *   npx tsc -p tsconfig.bench.json && node dist/bench/forwarding-attribution.js
 * BENCH_ROUNDS (default 8): rounds of one phase each. BENCH_PIN=0,1 (Linux, taskset) first pins
 * the main thread to CPU 0 and every other thread (libuv's pool, which runs the fdatasync; the
 * collector) to CPU 1. Figures: bench/results/forwarding-attribution.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Forwarder } from '../src/audit/forward/forwarder';
import type { ForwardItem } from '../src/audit/forward/sink';
import { SyslogSink } from '../src/audit/forward/syslog';
import { AuditLog } from '../src/audit/log';
import { segmentName } from '../src/audit/segments';
import { Writer } from './audit';
import { collectorThread, lastLineStart } from './audit-assurance';
import { median, percentile, writeResult } from './report';

type Span = { kind: 'slice' | 'delivery'; from: number; to: number };

/** The syslog sink, noting when its encodes (the slices) and its deliveries' socket writes run. */
class NotingSink extends SyslogSink {
  constructor(url: string, private readonly spans: Span[], private readonly on: () => boolean) {
    super({ url });
  }
  override encode(items: ForwardItem[]): Buffer {
    const from = performance.now();
    const out = super.encode(items);
    if (this.on()) this.spans.push({ kind: 'slice', from, to: performance.now() });
    return out;
  }
  override deliver(parts: Buffer[], lastId: number): Promise<void> {
    const from = performance.now();
    const p = super.deliver(parts, lastId); // the socket write happens in here, synchronously
    if (this.on()) this.spans.push({ kind: 'delivery', from, to: performance.now() });
    return p;
  }
}

function pin(spec: string): void {
  const [main, rest] = spec.split(',');
  for (const tid of readdirSync('/proc/self/task')) execFileSync('taskset', ['-cp', Number(tid) === process.pid ? main! : rest!, tid], { stdio: 'ignore' });
}

export async function main(): Promise<Record<string, unknown>> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
  const perPhase = 6000;
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-fwd-attr-'));
  const col = await collectorThread();
  const w = new Writer(await AuditLog.open(join(dir, 'audit')));
  const log = w.log;
  await Promise.all(Array.from({ length: 5000 }, () => w.next()));
  if (process.env.BENCH_PIN) pin(process.env.BENCH_PIN);
  const cursor = join(dir, 'cursor.json');
  const spans: Span[] = [];
  let noting = false;
  const off: number[] = [];
  const on: { ms: number; ran: 'slice' | 'delivery' | 'nothing' }[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const d = log.durable;
        writeFileSync(cursor, JSON.stringify({ segment: d.segment, offset: d.bytes, id: d.id, hash: d.hash, lineStart: lastLineStart(join(log.dir, segmentName(d.segment)), d.bytes) }));
        const f = kind === 'on' ? await new Forwarder(log.dir, new NotingSink(`tcp://127.0.0.1:${col.port}`, spans, () => noting), cursor, { log }).start() : null;
        const xs: [number, number][] = [];
        spans.length = 0;
        noting = true;
        for (let i = 0; i < perPhase; i++) {
          const t = performance.now();
          await w.next();
          xs.push([t, performance.now()]);
        }
        noting = false;
        await f?.stop();
        if (kind === 'off') off.push(...xs.map(([a, b]) => b - a));
        else {
          // What of the forwarder started while each append was in flight (both in time order).
          let j = 0;
          for (const [a, b] of xs) {
            while (j < spans.length && spans[j]!.from < a) j++;
            let ran: 'slice' | 'delivery' | 'nothing' = 'nothing';
            for (let k = j; k < spans.length && spans[k]!.from < b; k++) ran = spans[k]!.kind === 'delivery' ? 'delivery' : ran === 'nothing' ? 'slice' : ran;
            on.push({ ms: b - a, ran });
          }
        }
      }
    }
  } finally {
    await log.close();
    await col.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const slowOver = percentile(off, 99);
  const us = (ms: number) => Math.round(ms * 10000) / 10;
  const nothing = on.filter((x) => x.ran === 'nothing');
  const baseRate = nothing.filter((x) => x.ms > slowOver).length / nothing.length;
  const classes = Object.fromEntries(
    (['nothing', 'slice', 'delivery'] as const).map((k) => {
      const xs = on.filter((x) => x.ran === k);
      const slow = xs.filter((x) => x.ms > slowOver).length;
      return [k, { appends: xs.length, medianUs: xs.length ? us(median(xs.map((x) => x.ms))) : null, slow, slowMoreThanNothingPerPhase: Math.round(((slow - xs.length * baseRate) / rounds) * 10) / 10 }];
    }),
  );
  const result = {
    rounds, perPhase, pinned: process.env.BENCH_PIN ?? null,
    without: { medianUs: us(median(off)), p99Us: us(slowOver) },
    with: { medianUs: us(median(on.map((x) => x.ms))), p99Us: us(percentile(on.map((x) => x.ms), 99)) },
    byWhatRan: classes,
  };
  writeResult('forwarding-attribution', result);
  return result;
}

if (require.main === module) void main();
