/**
 * Audit assurance figures, on the 1M-record log the audit bench has just written:
 *  - `audit verify` (chain only, and with signed checkpoints) against the floor of reading,
 *    parsing and hashing every line, in the same run (target <= 1.5x);
 *  - resuming from the newest checkpoint;
 *  - forwarding throughput to a local syslog collector (TCP, octet counting) and a local HEC
 *    stand-in (records/s from a cold cursor);
 *  - effect of live forwarding on append latency (awaited appends with and without a forwarder,
 *    in rotating rounds, with the noise measured alongside: see appendLatencyWithForwarding).
 * The throughput collectors run in the bench's own process (loopback): they share its CPU. For
 * the effect on append latency the collector runs on a thread of its own (a SIEM is another
 * machine): what is measured is the bot's side of forwarding, not the collector's work.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { appendFileSync, closeSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { verifyWithCheckpoints } from '../src/audit/assure';
import { signCheckpoint } from '../src/audit/checkpoint';
import { Forwarder, type ForwarderOptions } from '../src/audit/forward/forwarder';
import { HttpSink } from '../src/audit/forward/http';
import { SyslogSink } from '../src/audit/forward/syslog';
import { keyIdOf } from '../src/audit/keys';
import type { AuditLog } from '../src/audit/log';
import { listSegments, segmentName } from '../src/audit/segments';
import { verifyAudit } from '../src/audit/verify';
import { cpuSteal, median, oneDecimal, percentile, percentOneDecimal, stealPercent } from './report';

const ns = () => process.hrtime.bigint();
/** µs of hrtime: one clock across threads (arrivalThread() stamps arrivals with it). */
export const usNow = () => Number(ns()) / 1000;
const since = (t: bigint) => Number(ns() - t) / 1e6;

/** Signs checkpoints of a log being pre-filled (what the bot's Checkpointer would have written). */
export class BenchSigner {
  readonly file: string;
  readonly key: KeyObject;
  readonly keyId: string;
  readonly pub: KeyObject;
  count = 0;
  constructor(dir: string) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.key = privateKey;
    this.pub = publicKey;
    this.keyId = keyIdOf(publicKey);
    this.file = join(dir, 'checkpoints.jsonl');
  }
  sign(log: AuditLog): void {
    const h = log.durable;
    if (!h.id) return;
    appendFileSync(this.file, JSON.stringify(signCheckpoint({ records: h.id, head: h.hash, segment: h.segment, time: new Date().toISOString() }, this.key, this.keyId)) + '\n');
    this.count++;
  }
}

/** The floor: read every segment, and per line JSON.parse it and SHA-256 its bytes. Nothing else. */
function floor(dir: string): { ms: number; lines: number; bytes: number } {
  const t = ns();
  let lines = 0;
  let bytes = 0;
  for (const s of listSegments(dir)) {
    const buf = readFileSync(s.file);
    bytes += buf.length;
    let start = 0;
    for (let nl = buf.indexOf(10, 0); nl !== -1; nl = buf.indexOf(10, start)) {
      JSON.parse(buf.toString('utf8', start, nl));
      createHash('sha256').update(buf.subarray(start, nl)).digest('hex');
      lines++;
      start = nl + 1;
    }
  }
  return { ms: since(t), lines, bytes };
}

export async function verifyFigures(logDir: string, signer: BenchSigner, rounds = 3): Promise<Record<string, unknown>> {
  const floors: number[] = [];
  const plain: number[] = [];
  const signed: number[] = [];
  // CPU time too: on a shared machine wall time mostly measures the wait for a core.
  const floorsCpu: number[] = [];
  const plainCpu: number[] = [];
  const signedCpu: number[] = [];
  const cpu = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  let lines = 0;
  let bytes = 0;
  let ok = true;
  let anchors = 0;
  for (let r = 0; r < rounds; r++) {
    let c = process.cpuUsage();
    const f = floor(logDir);
    floorsCpu.push(cpu(process.cpuUsage(c)));
    floors.push(f.ms);
    lines = f.lines;
    bytes = f.bytes;
    let t = ns();
    c = process.cpuUsage();
    const v = await verifyAudit(logDir);
    plainCpu.push(cpu(process.cpuUsage(c)));
    plain.push(since(t));
    t = ns();
    c = process.cpuUsage();
    const s = await verifyWithCheckpoints(logDir, { keys: new Map([[signer.keyId, signer.pub]]), sources: [signer.file] });
    signedCpu.push(cpu(process.cpuUsage(c)));
    signed.push(since(t));
    ok &&= v.ok && s.ok && v.records === lines;
    anchors = s.anchorsMet;
  }
  let t = ns();
  const resumed = await verifyWithCheckpoints(logDir, { keys: new Map([[signer.keyId, signer.pub]]), sources: [signer.file], resume: true });
  const resumeMs = since(t);
  const m = (xs: number[]) => Math.round(median(xs));
  const ratio = (x: number[], base = floors) => Math.round((median(x) / median(base)) * 100) / 100;
  return {
    records: lines, bytes, ok, rounds,
    floorMs: m(floors), verifyMs: m(plain), verifyWithCheckpointsMs: m(signed), checkpointsChecked: anchors,
    ratioVerifyToFloor: ratio(plain), ratioSignedToFloor: ratio(signed),
    cpuMs: { floor: m(floorsCpu), verify: m(plainCpu), verifyWithCheckpoints: m(signedCpu) },
    cpuRatioVerifyToFloor: ratio(plainCpu, floorsCpu), cpuRatioSignedToFloor: ratio(signedCpu, floorsCpu),
    resumeFromLastCheckpoint: { ms: Math.round(resumeMs), records: resumed.records, from: resumed.from, ok: resumed.ok },
    samples: { floorMs: floors.map(Math.round), verifyMs: plain.map(Math.round), verifyWithCheckpointsMs: signed.map(Math.round) },
    target: {
      limit: 1.5,
      wallPass: median(plain) <= 1.5 * median(floors) && median(signed) <= 1.5 * median(floors),
      cpuPass: median(plainCpu) <= 1.5 * median(floorsCpu) && median(signedCpu) <= 1.5 * median(floorsCpu),
      pass: median(plain) <= 1.5 * median(floors) && median(signed) <= 1.5 * median(floors),
    },
  };
}

if (!isMainThread && workerData?.role === 'collector') {
  void countingCollector().then((c) => {
    parentPort!.postMessage({ port: c.port });
    parentPort!.on('message', (m: string) => (m === 'count' ? parentPort!.postMessage({ count: c.count() }) : c.server.close()));
  });
}

if (!isMainThread && workerData?.role === 'arrivals') {
  // Blocks this thread between arrivals (Atomics.wait: tens of µs precise, where a timer is 1 ms).
  const nap = new Int32Array(new SharedArrayBuffer(4));
  parentPort!.on('message', ({ n, perSecond, seed }: { n: number; perSecond: number; seed: number }) => {
    const rand = seededRandom(seed);
    let due = usNow();
    for (let i = 0; i < n; i++) {
      due += (-Math.log(1 - rand()) / perSecond) * 1e6;
      for (let left = due - usNow(); left > 0; left = due - usNow()) Atomics.wait(nap, 0, 0, left / 1000);
      parentPort!.postMessage(usNow()); // arrived now (the nap may overrun `due` by 100 µs or so: not the bot's time)
    }
  });
}

/**
 * Requests arriving at random (a Poisson process of `perSecond` on average), from a thread of its
 * own, as requests reach the bot on its sockets: `run(n, each)` calls `each` on this thread as
 * each arrives and resolves with, per arrival, when it arrived (sent by that thread) and when
 * `each`'s promise settled, in µs of hrtime (one clock across threads), so that time this
 * thread was busy when a request arrived counts.
 */
export interface Arrivals {
  run: (n: number, each: () => Promise<unknown>, seed: number) => Promise<[number, number][]>;
  close: () => Promise<void>;
}

export function arrivalThread(perSecond: number): Arrivals {
  const w = new Worker(__filename, { workerData: { role: 'arrivals' } });
  return {
    run: (n, each, seed) =>
      new Promise((resolve, reject) => {
        const xs: [number, number][] = new Array(n);
        let arrived = 0;
        let settled = 0;
        const onArrival = (sent: number) => {
          const i = arrived++;
          if (arrived === n) w.off('message', onArrival);
          each().then(() => {
            xs[i] = [sent, usNow()];
            if (++settled === n) resolve(xs);
          }, reject);
        };
        w.on('message', onArrival);
        w.postMessage({ n, perSecond, seed });
      }),
    close: () => w.terminate().then(() => undefined),
  };
}

/**
 * `n` appends, each as [started or arrived, durable] in µs (usNow()): arriving from `arrivals`
 * (open loop, `seed` picks the arrivals), or without it back to back, each awaited (closed loop).
 */
export async function timedAppends(n: number, append: () => Promise<unknown>, arrivals: Arrivals | null, seed: number): Promise<[number, number][]> {
  if (arrivals) return arrivals.run(n, append, seed);
  const xs: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const t = usNow();
    await append();
    xs.push([t, usNow()]);
  }
  return xs;
}

/** countingCollector on a thread of its own (its own event loop), asked for its count by message. */
export async function collectorThread(): Promise<{ port: number; count: () => Promise<number>; close: () => Promise<void> }> {
  const w = new Worker(__filename, { workerData: { role: 'collector' } });
  const next = () => new Promise<{ port?: number; count?: number }>((r) => w.once('message', r));
  const { port } = await next();
  return {
    port: port!,
    count: async () => {
      const reply = next();
      w.postMessage('count');
      return (await reply).count!;
    },
    close: () => w.terminate().then(() => undefined),
  };
}

/** A loopback syslog collector that only counts octet-counted frames. */
async function countingCollector(): Promise<{ server: Server; port: number; count: () => number }> {
  let n = 0;
  // Bytes are only taken on arrival (the least any receiver does); frames are counted when asked,
  // so the collector's own work stays out of the writer's way while appends are timed.
  const streams: { chunks: Buffer[]; buf: Buffer }[] = [];
  const server = createServer((s) => {
    const st = { chunks: [] as Buffer[], buf: Buffer.alloc(0) };
    streams.push(st);
    s.on('data', (d: Buffer) => void st.chunks.push(d));
    s.on('end', () => s.end());
    s.on('error', () => undefined);
  });
  const count = () => {
    for (const st of streams) {
      if (!st.chunks.length) continue;
      let buf = Buffer.concat([st.buf, ...st.chunks]);
      st.chunks = [];
      let at = 0;
      for (;;) {
        const sp = buf.indexOf(0x20, at);
        if (sp === -1) break;
        const len = Number(buf.toString('latin1', at, sp));
        if (buf.length < sp + 1 + len) break;
        n++;
        at = sp + 1 + len;
      }
      buf = buf.subarray(at);
      st.buf = buf;
    }
    return n;
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, count };
}

async function hecStandIn(): Promise<{ close: () => Promise<void>; url: string; count: () => number }> {
  let n = 0;
  const server = createHttpServer((req, res) => {
    req.setEncoding('utf8');
    let body = '';
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) n++;
      if (body.length) n++;
      res.writeHead(200).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/services/collector/event`, count: () => n, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** Records per second from a cold cursor, for the first `records` records of the log. */
export async function forwardingThroughput(logDir: string, work: string, records: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  {
    const col = await countingCollector();
    const cursor = join(work, 'cursor-syslog.json');
    rmSync(cursor, { force: true });
    const f = new Forwarder(logDir, new SyslogSink({ url: `tcp://127.0.0.1:${col.port}` }), cursor, { batch: 1000 });
    const t = ns();
    await f.start();
    while (col.count() < records) await new Promise((r) => setTimeout(r, 5));
    const ms = since(t);
    await f.stop(0);
    col.server.close();
    out.syslogTcp = { records, ms: Math.round(ms), recordsPerSecond: Math.round(records / (ms / 1000)) };
  }
  {
    const hec = await hecStandIn();
    const cursor = join(work, 'cursor-http.json');
    rmSync(cursor, { force: true });
    const f = new Forwarder(logDir, new HttpSink({ url: hec.url, token: 'bench' }), cursor, { batch: 1000 });
    const t = ns();
    await f.start();
    while (hec.count() < records) await new Promise((r) => setTimeout(r, 5));
    const ms = since(t);
    await f.stop(0);
    await hec.close();
    out.httpHec = { records, ms: Math.round(ms), recordsPerSecond: Math.round(records / (ms / 1000)) };
  }
  return out;
}

/** One round's figure for each of its three phases. */
export type Round = { A: number; on: number; B: number };

export interface ForwardingEffectOptions {
  rounds?: number;
  perRound?: number;
  forwarderOptions?: ForwarderOptions;
  /**
   * Calibration: the "with" phase is prepared alike but runs no forwarder, so any effect found
   * is noise (bench/forwarding-calibration.ts counts how often the test then says "slower").
   */
  sham?: boolean;
  /**
   * Open loop: appends arrive at this mean rate (arrivalThread()), each timed from its arrival
   * to durable. Default: closed loop, each append awaited before the next (the writer saturated).
   */
  arrivalsPerSecond?: number;
}

/**
 * Awaited appends in rounds of three phases: without forwarding (A), with a live forwarder (TCP
 * collector on a thread of its own) behind the writer, and without again (B). Every phase starts
 * alike (the forwarder's cursor is written at the head, as in a running bot that is caught up),
 * and the order of the three rotates from round to round, so that neither drift in the disk's
 * latency nor a phase's place in the round falls on one condition. Per round, the effect is the
 * median with forwarding against the mean of the two medians without (likewise the p99); its
 * 95% interval comes from resampling the rounds, and A vs B (the same code measured twice)
 * shows the noise. Target: neither the median nor the p99 is slower than randomly relabelled
 * phases make it (slowdownP, a permutation test, p >= 0.05). A sham run (no forwarder in the
 * "with" phase) checks that the test itself is calibrated. `append` must append one record and
 * resolve when it is durable.
 */
export async function appendLatencyWithForwarding(log: AuditLog, append: () => Promise<unknown>, work: string, opts: ForwardingEffectOptions = {}): Promise<Record<string, unknown>> {
  // 6,000 appends a phase (1.5-2 s here): long enough for the forwarder to deliver while timed
  // (it gathers for a second); a phase of 1,500 ended before its first delivery.
  const { rounds = 12, perRound = 6000, forwarderOptions = {}, sham = false, arrivalsPerSecond } = opts;
  const col = await collectorThread();
  const arrivals = arrivalsPerSecond ? arrivalThread(arrivalsPerSecond) : null;
  const cursor = join(work, 'cursor-live.json');
  const all = { A: [] as number[], on: [] as number[], B: [] as number[] };
  const perRoundMedians: Round[] = [];
  const perRoundP99s: Round[] = [];
  let forwarded = 0;
  let sentWhileTimed = 0;
  let expected = 0; // records appended while forwarding (a segment's header record included)
  // Garbage collection in this thread while each kind of phase is timed (ms per 1,000 appends).
  const gcMs = { A: 0, on: 0, B: 0 };
  let timing: 'A' | 'on' | 'B' | null = null;
  // The hypervisor's share of CPU time taken from this VM while each phase is timed (NaN: unknown).
  const perRoundSteal: Round[] = [];
  // CPU time of the whole process while each kind of phase is timed (every thread: the writer,
  // libuv's pool, the bench's arrival and collector threads): the difference is what forwarding
  // costs (the collector's counting included).
  const cpuUs = { A: 0, on: 0, B: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    if (timing) for (const e of list.getEntries()) gcMs[timing] += e.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const phase = async (kind: 'A' | 'on' | 'B', round: number): Promise<[number, number, number]> => {
    const d = log.durable;
    writeFileSync(cursor, JSON.stringify({ segment: d.segment, offset: d.bytes, id: d.id, hash: d.hash, lineStart: lastLineStart(join(log.dir, segmentName(d.segment)), d.bytes) }));
    const before = await col.count(); // in every phase, so that all are prepared alike (the sham's too)
    const f = kind === 'on' && !sham ? await new Forwarder(log.dir, new SyslogSink({ url: `tcp://127.0.0.1:${col.port}` }), cursor, { ...forwarderOptions, log }).start() : null;
    timing = kind;
    const stealFrom = cpuSteal();
    const cpuFrom = process.cpuUsage();
    const xs = (await timedAppends(perRound, append, arrivals, round + 1)).map(([from, to]) => to - from); // open loop: the same arrivals in each phase of a round
    const used = process.cpuUsage(cpuFrom);
    cpuUs[kind] += used.user + used.system;
    const stolen = stealPercent(stealFrom, cpuSteal());
    await new Promise((r) => setImmediate(r)); // let the observer hear of the last collections
    timing = null;
    if (f) {
      sentWhileTimed += f.status().sent - d.id; // what went out while appends were being timed (not at the drain)
      const appended = log.head.id - d.id;
      expected += appended;
      await f.stop();
      // The last frames may still be on their way to the collector's thread.
      for (const end = Date.now() + 5000; (await col.count()) - before < appended && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
      forwarded += (await col.count()) - before;
    }
    all[kind].push(...xs);
    return [median(xs), percentile(xs, 99), stolen ?? NaN];
  };
  const orders = [['A', 'on', 'B'], ['on', 'B', 'A'], ['B', 'A', 'on'], ['A', 'B', 'on'], ['on', 'A', 'B'], ['B', 'on', 'A']] as const;
  for (let r = 0; r < rounds; r++) {
    const m = { A: 0, on: 0, B: 0 };
    const p = { A: 0, on: 0, B: 0 };
    const st = { A: 0, on: 0, B: 0 };
    for (const k of orders[r % orders.length]!) [m[k], p[k], st[k]] = await phase(k, r);
    perRoundMedians.push(m);
    perRoundP99s.push(p);
    perRoundSteal.push(st);
  }
  await col.close();
  await arrivals?.close();
  gcObserver.disconnect();
  const perThousand = (x: number) => Math.round((x / (rounds * perRound)) * 1000 * 10) / 10;
  const twice = (rs: Round[]) => meanWithInterval(rs.map((m) => m.B / m.A - 1));
  const us = oneDecimal;
  const pct = percentOneDecimal;
  const off = [...all.A, ...all.B];
  const e = forwardingEffect(perRoundMedians);
  const n = twice(perRoundMedians);
  const tail = forwardingEffect(perRoundP99s);
  const tailNoise = twice(perRoundP99s);
  const pMedian = slowdownP(perRoundMedians);
  const pP99 = slowdownP(perRoundP99s);
  const slowestMedian = slowestOfThree(perRoundMedians);
  const slowestP99 = slowestOfThree(perRoundP99s);
  // A forwarder that sent nothing while appends were timed was not measured at all.
  const measured = sham || sentWhileTimed >= expected / 4;
  return {
    rounds, perRound, sham, load: arrivalsPerSecond ? `open loop, ${arrivalsPerSecond} appends/s arriving at random, each timed from its arrival` : 'closed loop, each append awaited before the next',
    withoutForwarding: { medianUs: us(median(off)), p99Us: us(percentile(off, 99)) },
    withForwarding: { medianUs: us(median(all.on)), p99Us: us(percentile(all.on, 99)), forwarded, expected, sentWhileTimed },
    effectPercent: { mean: pct(e.mean), interval95: e.interval.map(pct) },
    gcMsPer1000Appends: { without: perThousand((gcMs.A + gcMs.B) / 2), with: perThousand(gcMs.on) },
    cpuUsPerAppend: { without: us((cpuUs.A + cpuUs.B) / (2 * rounds * perRound)), with: us(cpuUs.on / (rounds * perRound)) },
    // Median and highest per phase; null where the kernel does not say (not Linux).
    hostStealPercent: hostSteal(perRoundSteal),
    sameCodeTwicePercent: { mean: pct(n.mean), interval95: n.interval.map(pct) },
    // The tail, per round likewise (a round's p99 rests on its 60 slowest appends: noisier).
    p99EffectPercent: { mean: pct(tail.mean), interval95: tail.interval.map(pct) },
    p99SameCodeTwicePercent: { mean: pct(tailNoise.mean), interval95: tailNoise.interval.map(pct) },
    // How often relabelling each round's three phases at random shows a slowdown at least this large.
    slowdownP: { median: twoDigits(pMedian), p99: twoDigits(pP99) },
    // How often the phase with forwarding was the slowest of its round (by chance: a third).
    slowestOfThree: { median: slowestMedian, p99: slowestP99 },
    // Each round's phases, for analyses beyond the test's (µs; steal in percent).
    phases: perRoundMedians.map((m, i) => ({ medianUs: roundAll(m), p99Us: roundAll(perRoundP99s[i]!), stealPercent: perRoundSteal[i] })),
    target: {
      rule: 'no slowdown of the median or the p99 append beyond what relabelling the phases gives (one-sided permutation test, p >= 0.05), nor the phase with forwarding the slowest of its round more often than by chance (binomial, p >= 0.05), with at least a quarter of the records sent while appends were timed',
      measured, pass: measured && [pMedian, pP99, slowestMedian.p, slowestP99.p].every((x) => x >= 0.05),
    },
  };
}

const twoDigits = (x: number) => Number(x.toPrecision(2));
const roundAll = (r: Round): Round => ({ A: Math.round(r.A), on: Math.round(r.on), B: Math.round(r.B) });

/** Median and highest share of CPU time stolen per phase, without and with forwarding; null where the kernel does not say. */
function hostSteal(rounds: Round[]): { without: number; with: number; highest: number } | null {
  if (!rounds.length || rounds.some((r) => Number.isNaN(r.on))) return null;
  const off = rounds.flatMap((r) => [r.A, r.B]);
  const on = rounds.map((r) => r.on);
  return { without: oneDecimal(median(off)), with: oneDecimal(median(on)), highest: Math.max(...off, ...on) };
}

/**
 * One-sided permutation test of "forwarding slows appends": if it does not, the three phases of
 * a round are exchangeable, so which of them ran with the forwarder is an arbitrary label. The
 * statistic is the mean over rounds of (that phase / mean of the other two − 1); p is the share
 * of random relabellings (each round's "with" drawn from its three phases) whose statistic is at
 * least the observed one. Drift and phase-to-phase noise enter it as measured, not as assumed.
 */
export function slowdownP(rounds: Round[], draws = 20_000): number {
  const stat = (pick: () => number) => {
    let sum = 0;
    for (const m of rounds) {
      const v = [m.on, m.A, m.B];
      const i = pick();
      sum += v[i]! / ((v[(i + 1) % 3]! + v[(i + 2) % 3]!) / 2) - 1;
    }
    return sum / rounds.length;
  };
  const observed = stat(() => 0);
  const rand = seededRandom(424242);
  let atLeast = 0;
  for (let d = 0; d < draws; d++) if (stat(() => Math.floor(rand() * 3)) >= observed - 1e-12) atLeast++;
  return (atLeast + 1) / (draws + 1);
}

/**
 * The permutation test's companion for a host whose noise comes in bursts: a few rounds in which
 * the hypervisor took the CPU for milliseconds can carry the mean of ratios either way, but not
 * how often the phase with forwarding was the slowest of the three. Without an effect that is a
 * third of the rounds (the order of the phases rotates); p is the binomial chance of at least
 * this many.
 */
export function slowestOfThree(rounds: Round[]): { rounds: number; slowest: number; p: number } {
  const n = rounds.length;
  const k = rounds.filter((m) => m.on > m.A && m.on > m.B).length;
  let p = 0;
  let term = (2 / 3) ** n; // P(X = 0)
  for (let x = 0; x <= n; x++) {
    if (x >= k) p += term;
    term *= ((n - x) / (x + 1)) * 0.5; // P(X = x + 1) from P(X = x): odds 1/3 : 2/3
  }
  return { rounds: n, slowest: k, p: twoDigits(Math.min(1, p)) };
}

/** A fixed-seed generator in [0, 1): the same figures give the same interval and the same p. */
function seededRandom(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 2 ** 31) / 2 ** 31;
}

/**
 * The effect of forwarding over rounds: per round the phase with it against the mean of the two
 * without (0.05: 5% slower), averaged, with a 95% interval from resampling rounds.
 */
function forwardingEffect(rounds: Round[]): { mean: number; interval: [number, number] } {
  return meanWithInterval(rounds.map((m) => m.on / ((m.A + m.B) / 2) - 1));
}

/**
 * The same as a typical factor, on the log scale: per round the phase with forwarding against the
 * geometric mean of the two without, averaged over rounds, with its interval. A round's p99 rests
 * on its few slowest appends, so one round in a slow spell of the host can make it three times its
 * neighbours; on the log scale that round weighs as much as a threefold speed-up would, not more.
 * And where the three phases differ by noise alone the figure is 0 on average (the arithmetic mean
 * of the two without is larger than their geometric one, which would make forwarding look
 * faster). Used to size an effect over many rounds.
 */
export function typicalForwardingEffect(rounds: Round[]): { mean: number; interval: [number, number] } {
  const logs = meanWithInterval(rounds.map((m) => Math.log(m.on) - (Math.log(m.A) + Math.log(m.B)) / 2));
  return { mean: Math.expm1(logs.mean), interval: [Math.expm1(logs.interval[0]), Math.expm1(logs.interval[1])] };
}

/** Mean and a 95% bootstrap interval of it (fixed seed: the same figures give the same interval). */
function meanWithInterval(xs: number[], draws = 10_000): { mean: number; interval: [number, number] } {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const rand = seededRandom(12345);
  const means: number[] = [];
  for (let d = 0; d < draws; d++) means.push(mean(xs.map(() => xs[Math.floor(rand() * xs.length)]!)));
  return { mean: mean(xs), interval: [percentile(means, 2.5), percentile(means, 97.5)] };
}

/** Where the line that ends at `end` starts (reads only the file's tail). */
export function lastLineStart(file: string, end: number): number {
  const len = Math.min(end, 1 << 16);
  const buf = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, len, end - len);
  } finally {
    closeSync(fd);
  }
  return end - len + buf.lastIndexOf(10, len - 2) + 1;
}
