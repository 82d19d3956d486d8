/**
 * Audit log bench: append latency at 1k, 100k and 1M existing records against a raw fsync'd
 * append of the same size on the same filesystem.
 *
 * Pre-fill goes through AuditLog.append itself (so the chain, ids and segments are real), but in
 * concurrent batches of 10,000: the log group-commits everything queued into one write +
 * fdatasync. Measurement then awaits each append before the next (one fdatasync per record), in
 * rounds that alternate with the raw baselines so disk drift hits both alike:
 *   raw async : FileHandle.write(line) + FileHandle.datasync()  (the primitive the log uses)
 *   raw sync  : fs.writeSync(fd, line) + fs.fdatasyncSync(fd)
 * Records alternate intent / result (linked), as the pipeline writes them.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/log';
import type { AuditEntryInput } from '../src/audit/record';
import { appendLatencyWithForwarding, BenchSigner, forwardingThroughput, verifyFigures } from './audit-assurance';
import { benchNumber, median, oneDecimal, percentile, refuse, writeResult } from './report';

/** BENCH_AUDIT_SIZES=1000,20000 for a quick trial; the figures that count are at 1M. */
const SIZES = process.env.BENCH_AUDIT_SIZES ? process.env.BENCH_AUDIT_SIZES.split(',').map((raw) => {
  const n = benchNumber('BENCH_AUDIT_SIZES', raw, undefined, { min: 1, integer: true });
  return typeof n === 'number' ? n : refuse(n?.error ?? `BENCH_AUDIT_SIZES has an empty size: sizes separated by commas (1000,20000), not "${process.env.BENCH_AUDIT_SIZES}"`);
}) : [1_000, 100_000, 1_000_000];
const BATCH = 10_000;
const ROUNDS = 4;
const PER_ROUND = 500;
const SYNC_PER_ROUND = 250;

const ns = () => process.hrtime.bigint();
const ms = (a: bigint) => Number(ns() - a) / 1e6;
const pad = (n: number, w: number) => String(n).padStart(w, '0');

const OPS = ['Start Virtual Machine', 'Stop Virtual Machine', 'Allow Input to Virtual Machine'];

/** An intent as the pipeline writes it (user n, VM of their team). */
function intent(n: number): AuditEntryInput {
  const u = n % 10_000;
  const vm = `t${pad(u % 2000, 4)}-${pad(1 + (n % 50), 3)}`;
  const op = OPS[n % OPS.length]!;
  return {
    kind: 'intent',
    correlationId: `c${n.toString(36)}-${(n * 2654435761 >>> 0).toString(16)}`,
    principal: `slack:U${pad(u, 9)}`,
    user: `u${pad(u, 5)}`,
    channel: 'slack:C0GUESTOPS',
    command: `/vm ${op.split(' ')[0]!.toLowerCase()} ${vm}`,
    operation: op,
    vm,
    host: `hv${pad(u % 50, 2)}`,
    decision: 'allow',
    reason: `"${op}" granted by role "guest-admin" in scope "team-t${pad(u % 2000, 4)}" (group:g-t${pad(u % 2000, 4)})`,
  };
}

function result(n: number, intentId: number): AuditEntryInput {
  const i = intent(n);
  return { kind: 'result', correlationId: i.correlationId, principal: i.principal, user: i.user, operation: i.operation, vm: i.vm, host: i.host, outcome: 'ok', intentId, details: { durationMs: 1200 + (n % 800) } };
}

/** Appends records n, n+1, ... as intent/result pairs; returns the promise of record n. */
export class Writer {
  private n = 0;
  private lastIntent = 0;
  /** The log to append to (swapped when the bench re-opens it). */
  constructor(public log: AuditLog) {}
  next(): Promise<unknown> {
    const k = this.n++;
    if (k % 2 === 0) {
      const p = this.log.append(intent(k));
      this.lastIntent = this.log.head.id; // chained synchronously: head is this intent
      return p;
    }
    return this.log.append(result(k - 1, this.lastIntent));
  }
}

/** Fill the log up to `target` records with concurrent batches (group commit). */
async function prefill(log: AuditLog, w: Writer, target: number, signer: BenchSigner): Promise<{ records: number; ms: number }> {
  const start = log.head.id;
  const t = ns();
  while (log.head.id < target) {
    const n = Math.min(BATCH, target - log.head.id);
    const ps: Promise<unknown>[] = new Array(n);
    for (let i = 0; i < n; i++) ps[i] = w.next();
    await Promise.all(ps);
    signer.sign(log); // a signed checkpoint every BATCH records, as the bot's checkpointer would
  }
  return { records: log.head.id - start, ms: Math.round(ms(t)) };
}

async function rawAsync(file: string, line: string, n: number, into: number[]): Promise<void> {
  const fh = await open(file, 'a', 0o600);
  try {
    for (let i = 0; i < n; i++) {
      const a = ns();
      await fh.write(line);
      await fh.datasync();
      into.push(Number(ns() - a) / 1000);
    }
  } finally {
    await fh.close();
  }
}

function rawSync(file: string, line: string, n: number, into: number[]): void {
  const fd = openSync(file, 'a', 0o600);
  try {
    for (let i = 0; i < n; i++) {
      const a = ns();
      writeSync(fd, line);
      fdatasyncSync(fd);
      into.push(Number(ns() - a) / 1000);
    }
  } finally {
    closeSync(fd);
  }
}

/** Awaited appends one by one; `sync` gets the time until append() returned (its CPU part). */
async function logAppends(w: Writer, n: number, into: number[], sync: number[] = []): Promise<void> {
  for (let i = 0; i < n; i++) {
    const a = ns();
    const p = w.next();
    sync.push(Number(ns() - a) / 1000);
    await p;
    into.push(Number(ns() - a) / 1000);
  }
}

/** Mean bytes per line of the last segment's last `n` lines (what one append writes). */
function meanLineBytes(dir: string, n = 1000): number {
  const segs = readdirSync(dir).filter((f) => /^audit-\d{8}\.jsonl$/.test(f)).sort();
  const lines = readFileSync(join(dir, segs[segs.length - 1]!), 'utf8').split('\n').filter(Boolean).slice(-n);
  return Math.round(lines.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0) / lines.length);
}

function diskUsage(dir: string): { files: number; bytes: number; allocatedBytes: number } {
  let bytes = 0;
  let allocatedBytes = 0;
  const files = readdirSync(dir).filter((f) => f.startsWith('audit-'));
  for (const f of files) {
    const s = statSync(join(dir, f));
    bytes += s.size;
    allocatedBytes += s.blocks * 512;
  }
  return { files: files.length, bytes, allocatedBytes };
}

const stats = (xs: number[]) => ({ n: xs.length, medianUs: oneDecimal(median(xs)), p99Us: oneDecimal(percentile(xs, 99)), meanUs: oneDecimal(xs.reduce((a, b) => a + b, 0) / xs.length) });

export async function main(): Promise<Record<string, unknown>> {
  const repoRoot = join(__dirname, '..', '..');
  const base = join(repoRoot, 'data', 'bench-tmp');
  mkdirSync(base, { recursive: true });
  const dir = join(base, `audit-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const sameFsAsTmpdir = statSync(base).dev === statSync(tmpdir()).dev;
  const rawFile = join(dir, 'raw-async.bin');
  const rawSyncFile = join(dir, 'raw-sync.bin');

  const tTotal = ns();
  const steps: Record<string, unknown>[] = [];
  type Row = { logMedianUs: number; logP99Us: number; rawAsyncMedianUs: number; rawSyncMedianUs: number; openMs: number };
  const summary: Record<string, Row> = {};
  let verify: Record<string, unknown> = {};
  let forwarding: Record<string, unknown> = {};
  let appendWithForwarding: Record<string, unknown> = {};
  try {
    const logDir = join(dir, 'log');
    const signer = new BenchSigner(dir);
    const w = new Writer(await AuditLog.open(logDir));
    for (const size of SIZES) {
      const fill = await prefill(w.log, w, size, signer);
      const before = w.log.head.id;
      await w.log.close();
      // Re-open: what a restart costs at this size (reads only the last segment).
      const tOpen = ns();
      w.log = await AuditLog.open(logDir); // same writer: keeps the intent/result rhythm
      const openMs = oneDecimal(ms(tOpen));

      const bytes = meanLineBytes(logDir);
      const line = 'x'.repeat(bytes - 1) + '\n';
      const logT: number[] = [];
      const logSync: number[] = [];
      const rawT: number[] = [];
      const syncT: number[] = [];
      rmSync(rawFile, { force: true });
      rmSync(rawSyncFile, { force: true });
      // Warm-up: a few of each.
      await logAppends(w, 20, []);
      await rawAsync(rawFile, line, 20, []);
      rawSync(rawSyncFile, line, 20, []);
      for (let r = 0; r < ROUNDS; r++) {
        await rawAsync(rawFile, line, PER_ROUND, rawT);
        await logAppends(w, PER_ROUND, logT, logSync);
        rawSync(rawSyncFile, line, SYNC_PER_ROUND, syncT);
      }
      const s = {
        existingRecords: before,
        prefill: { ...fill, recordsPerSecond: Math.round(fill.records / (fill.ms / 1000)) },
        openMs,
        appendBytes: bytes,
        logAppend: stats(logT),
        logAppendCpuPart: stats(logSync),
        rawAsync: stats(rawT),
        rawSync: stats(syncT),
        ratioLogToRawAsync: Math.round((median(logT) / median(rawT)) * 100) / 100,
        disk: diskUsage(logDir),
      };
      steps.push(s);
      summary[String(size)] = { logMedianUs: s.logAppend.medianUs, logP99Us: s.logAppend.p99Us, rawAsyncMedianUs: s.rawAsync.medianUs, rawSyncMedianUs: s.rawSync.medianUs, openMs };
      console.log(
        `audit bench: ${before} records: log median ${s.logAppend.medianUs} µs (CPU part ${s.logAppendCpuPart.medianUs} µs), raw async ${s.rawAsync.medianUs} µs, raw sync ${s.rawSync.medianUs} µs, open ${openMs} ms (prefill ${fill.ms} ms)`,
      );
    }
    // Live forwarding behind the writer: does it slow an append? (at 1M records)
    appendWithForwarding = await appendLatencyWithForwarding(w.log, () => w.next(), dir);
    const fx = appendWithForwarding as { withForwarding: { medianUs: number; p99Us: number }; withoutForwarding: { medianUs: number; p99Us: number }; effectPercent: { mean: number; interval95: number[] }; sameCodeTwicePercent: { mean: number; interval95: number[] }; p99EffectPercent: { mean: number; interval95: number[] }; p99SameCodeTwicePercent: { mean: number; interval95: number[] }; slowdownP: { median: number; p99: number } };
    console.log(`audit bench: append with live syslog forwarding: median ${fx.withForwarding.medianUs} µs (p99 ${fx.withForwarding.p99Us}) vs ${fx.withoutForwarding.medianUs} µs (p99 ${fx.withoutForwarding.p99Us}) without; effect ${fx.effectPercent.mean}% [${fx.effectPercent.interval95.join(', ')}], same code twice ${fx.sameCodeTwicePercent.mean}% [${fx.sameCodeTwicePercent.interval95.join(', ')}]; p99 effect ${fx.p99EffectPercent.mean}% [${fx.p99EffectPercent.interval95.join(', ')}], same code twice ${fx.p99SameCodeTwicePercent.mean}% [${fx.p99SameCodeTwicePercent.interval95.join(', ')}]; permutation p (slowdown) median ${fx.slowdownP.median}, p99 ${fx.slowdownP.p99}`);
    signer.sign(w.log);
    await w.log.close();

    // audit verify at 1M+ records against the read+parse+hash floor, same run, alternating.
    verify = await verifyFigures(logDir, signer);
    console.log(`audit bench: verify ${verify.records} records: floor ${verify.floorMs} ms, verify ${verify.verifyMs} ms (${verify.ratioVerifyToFloor}x), with ${signer.count} checkpoints ${verify.verifyWithCheckpointsMs} ms (${verify.ratioSignedToFloor}x); CPU time ${JSON.stringify(verify.cpuMs)} (${verify.cpuRatioVerifyToFloor}x, ${verify.cpuRatioSignedToFloor}x); resume ${(verify.resumeFromLastCheckpoint as { ms: number }).ms} ms`);
    forwarding = await forwardingThroughput(logDir, dir, Math.min(200_000, verify.records as number));
    console.log(`audit bench: forwarding from a cold cursor: ${JSON.stringify(forwarding)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const at1k = summary[String(SIZES[0])]!;
  const at1m = summary[String(SIZES[SIZES.length - 1])]!;
  const rawAt1m = at1m.rawAsyncMedianUs;
  const result = {
    dir: `${dir} (deleted after the run; ${sameFsAsTmpdir ? 'same filesystem as' : 'different filesystem from'} os.tmpdir() ${tmpdir()})`,
    summary,
    method: `pre-fill through AuditLog.append in concurrent batches of ${BATCH} (group commit); then per size ${ROUNDS} rounds of [${PER_ROUND} raw async, ${PER_ROUND} awaited log appends, ${SYNC_PER_ROUND} raw sync], each timed alone; raw writes have the mean byte size of the log's records; default segmentRecords (50,000)`,
    steps,
    verify,
    forwarding,
    appendWithForwarding,
    totalMs: Math.round(ms(tTotal)),
    targets: {
      logAt1mVsRawAsync: { ratio: Math.round((at1m.logMedianUs / rawAt1m) * 100) / 100, limit: 1.5, pass: at1m.logMedianUs <= 1.5 * rawAt1m },
      logAt1mVsLogAt1k: { ratio: Math.round((at1m.logMedianUs / at1k.logMedianUs) * 100) / 100, limit: 1.2, pass: at1m.logMedianUs <= 1.2 * at1k.logMedianUs },
      forwardingEffectOnAppend: appendWithForwarding.target,
      verifyAt1mVsFloor: { ratio: verify.ratioVerifyToFloor, signedRatio: verify.ratioSignedToFloor, cpuRatio: verify.cpuRatioVerifyToFloor, cpuSignedRatio: verify.cpuRatioSignedToFloor, limit: 1.5, pass: (verify.target as { pass: boolean }).pass },
    },
  };
  writeResult('audit', result);
  return result;
}

if (require.main === module) void main();
