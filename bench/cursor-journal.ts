/**
 * Does writing the forwarder's cursor slow the log's fdatasync through the file system (its
 * journal)? A bare appender, no bot code (300-byte lines arriving at random, 500 a second, group
 * commit, write + fdatasync, each timed from its arrival) beside one of
 *   none     no cursor;
 *   rename   a cursor written every 250 ms as the forwarder writes it (writeFileDurableAsync:
 *            temp file, fsync, rename);
 *   inplace  a cursor rewritten in place every 250 ms (two fixed 512-byte slots, pwrite +
 *            fdatasync: no new inode, no rename, so nothing for the journal to commit).
 * Rounds alternate the order; per round, which cursor raised the appender's p99 over none.
 *   npx tsc -p tsconfig.bench.json && node dist/bench/cursor-journal.js
 * BENCH_ROUNDS (default 24), BENCH_PER_PHASE (default 1,500 lines). The files go to the OS temp
 * directory (TMPDIR=/dev/shm: the same on tmpfs, to tell the disk's noise from the CPU's).
 * Figures: bench/results/cursor-journal.json.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileDurableAsync } from '../src/state/durable-file';
import { envNumber, median, percentile, writeResult } from './report';

type Mode = 'none' | 'rename' | 'inplace';
const MODES: Mode[] = ['none', 'rename', 'inplace'];
const PER_SECOND = 500;
const LINE = Buffer.from('x'.repeat(299) + '\n');

async function phase(mode: Mode, n: number): Promise<{ medianMs: number; p99Ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'vmbot-cursor-journal-'));
  const log = await open(join(dir, 'segment'), 'a');
  const cursor = join(dir, 'cursor.json');
  const slots = mode === 'inplace' ? await open(cursor, 'w+') : null;
  if (slots) {
    await slots.write(Buffer.alloc(1024, 32), 0, 1024, 0);
    await slots.sync();
  }
  let stop = false;
  const cursorWriter = (async () => {
    for (let seq = 0; !stop && mode !== 'none'; seq++) {
      await new Promise((r) => setTimeout(r, 250));
      const data = JSON.stringify({ segment: 1, offset: seq * 300, id: seq, hash: 'a'.repeat(64), updatedAt: new Date().toISOString() });
      if (slots) {
        const b = Buffer.alloc(512, 32);
        b.write(data);
        b[511] = 10;
        await slots.write(b, 0, 512, (seq % 2) * 512);
        await slots.datasync();
      } else {
        await writeFileDurableAsync(cursor, data + '\n', { syncDir: false }); // as Forwarder.commit() does
      }
    }
  })();
  const took: number[] = [];
  let queue: number[] = [];
  let flushing: Promise<void> | null = null;
  const flush = async () => {
    while (queue.length) {
      const arrived = queue;
      queue = [];
      await log.write(Buffer.concat(arrived.map(() => LINE)));
      await log.datasync();
      const t = performance.now();
      for (const a of arrived) took.push(t - a);
    }
  };
  let due = performance.now();
  for (let i = 0; i < n; i++) {
    due += (-Math.log(1 - Math.random()) * 1000) / PER_SECOND;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    queue.push(due);
    flushing ??= flush().finally(() => (flushing = null));
  }
  while (flushing) await flushing;
  stop = true;
  await cursorWriter;
  await log.close();
  await slots?.close();
  await rm(dir, { recursive: true, force: true });
  return { medianMs: median(took), p99Ms: percentile(took, 99) };
}

export async function main(): Promise<Record<string, unknown>> {
  const rounds = envNumber('BENCH_ROUNDS', 24, { min: 1, integer: true });
  const perPhase = envNumber('BENCH_PER_PHASE', 1500, { min: 1, integer: true });
  const runs: Record<Mode, { medianMs: number; p99Ms: number }[]> = { none: [], rename: [], inplace: [] };
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 ? [...MODES].reverse() : MODES) runs[m].push(await phase(m, perPhase));
    console.log(`cursor-journal: round ${r + 1}/${rounds}: p99 ${MODES.map((m) => `${m} ${runs[m][r]!.p99Ms.toFixed(2)} ms`).join(', ')}`);
  }
  const p99Above = (m: Mode, than: Mode) => runs[m].filter((x, i) => x.p99Ms > runs[than][i]!.p99Ms).length;
  const result = {
    rounds, perPhase, arrivalsPerSecond: PER_SECOND, tmpdir: tmpdir(),
    medianOfP99Ms: Object.fromEntries(MODES.map((m) => [m, median(runs[m].map((x) => x.p99Ms))])),
    medianOfMediansMs: Object.fromEntries(MODES.map((m) => [m, median(runs[m].map((x) => x.medianMs))])),
    roundsP99Above: { renameOverNone: p99Above('rename', 'none'), inplaceOverNone: p99Above('inplace', 'none'), renameOverInplace: p99Above('rename', 'inplace') },
    runs,
  };
  writeResult('cursor-journal', result);
  return result;
}

if (require.main === module) void main();
