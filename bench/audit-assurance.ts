/**
 * Audit assurance figures, on the 1M-record log the audit bench has just written:
 *  - `audit verify` (chain only, and with signed checkpoints) against the floor of reading,
 *    parsing and hashing every line, in the same run (target <= 1.5x);
 *  - resuming from the newest checkpoint;
 *  - forwarding throughput to a local syslog collector (TCP, octet counting) and a local HEC
 *    stand-in (records/s from a cold cursor);
 *  - effect of live forwarding on append latency (awaited appends with and without a forwarder,
 *    alternating rounds).
 * The throughput collectors run in the bench's own process (loopback): they share its CPU. For
 * the effect on append latency the collector runs on a thread of its own (a SIEM is another
 * machine): what is measured is the bot's side of forwarding, not the collector's work.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { verifyWithCheckpoints } from '../src/audit/assure';
import { signCheckpoint } from '../src/audit/checkpoint';
import { Forwarder } from '../src/audit/forward/forwarder';
import { HttpSink } from '../src/audit/forward/http';
import { SyslogSink } from '../src/audit/forward/syslog';
import { keyIdOf } from '../src/audit/keys';
import type { AuditLog } from '../src/audit/log';
import { listSegments } from '../src/audit/segments';
import { verifyAudit } from '../src/audit/verify';
import { median } from './report';

const ns = () => process.hrtime.bigint();
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

/** countingCollector on a thread of its own (its own event loop), asked for its count by message. */
async function collectorThread(): Promise<{ port: number; count: () => Promise<number>; close: () => Promise<void> }> {
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
  const server = createServer((s) => {
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
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
    });
    s.on('end', () => s.end());
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, count: () => n };
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

/**
 * Awaited appends, alternating rounds without and with a live forwarder (TCP collector) reading
 * behind the writer. `append` must append one record and resolve when it is durable.
 */
export async function appendLatencyWithForwarding(log: AuditLog, append: () => Promise<unknown>, work: string, rounds = 12, perRound = 400): Promise<Record<string, unknown>> {
  const col = await collectorThread();
  const cursor = join(work, 'cursor-live.json');
  const off: number[] = [];
  const on: number[] = [];
  const time = async (into: number[]) => {
    for (let i = 0; i < perRound; i++) {
      const t = ns();
      await append();
      into.push(Number(ns() - t) / 1000);
    }
  };
  let forwarded = 0;
  for (let r = 0; r < rounds; r++) {
    await time(off);
    // A forwarder that starts caught up (cursor at the head), as in a running bot.
    const d = log.durable;
    const seg = listSegments(log.dir).find((s) => s.n === d.segment)!;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cursor, JSON.stringify({ segment: d.segment, offset: d.bytes, id: d.id, hash: d.hash, lineStart: lastLineStart(seg.file, d.bytes) }));
    const before = await col.count();
    const f = await new Forwarder(log.dir, new SyslogSink({ url: `tcp://127.0.0.1:${col.port}` }), cursor, { log }).start();
    await time(on);
    await f.stop();
    // The last frames may still be on their way to the collector's thread.
    for (const end = Date.now() + 5000; (await col.count()) - before < perRound && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    forwarded += (await col.count()) - before;
  }
  await col.close();
  const us = (xs: number[]) => Math.round(median(xs) * 10) / 10;
  const p99 = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]! * 10) / 10;
  return {
    rounds, perRound,
    withoutForwarding: { medianUs: us(off), p99Us: p99(off) },
    withForwarding: { medianUs: us(on), p99Us: p99(on), forwarded, expected: rounds * perRound },
    ratio: Math.round((median(on) / median(off)) * 100) / 100,
  };
}

function lastLineStart(file: string, end: number): number {
  const buf = readFileSync(file).subarray(0, end);
  const i = buf.lastIndexOf(10, end - 2);
  return i + 1;
}
