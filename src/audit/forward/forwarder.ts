import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkLine } from '../chain';
import { scanLines } from '../lines';
import type { AuditLog, DurableBatch } from '../log';
import { GENESIS_HASH, headOf, type AuditRecord } from '../record';
import { listSegments, segmentName } from '../segments';
import { writeFileDurableAsync } from '../../state/durable-file';
import type { ForwardItem, Sink } from './sink';

/** Where line `i` of a batch, starting at `at`, ends: at its newline (JSON holds none inside; the last line's is the batch's last byte). */
const newlineOf = (b: DurableBatch, i: number, at: number): number => (i === b.records.length - 1 ? b.bytes.length - 1 : b.bytes.indexOf(10, at));

/** Records read for one encode, and where the last of them ends (null: none). */
interface Slice {
  items: ForwardItem[];
  end: Cursor | null;
}

/** Where forwarding stands, durably: the last record the collector is known to have. */
export interface Cursor {
  /** Segment and byte offset just after that record's line. */
  segment: number;
  offset: number;
  id: number;
  hash: string;
  /** Where that record's line starts (to re-check it after a restart). */
  lineStart: number;
}

export interface CursorFile extends Cursor {
  sink: string;
  target: string;
  updatedAt: string;
  lastError: string | null;
  lastErrorAt: string | null;
}

const START: Cursor = { segment: 1, offset: 0, id: 0, hash: GENESIS_HASH, lineStart: 0 };

export const cursorFileFor = (dataDir: string, sink: string) => join(dataDir, `audit-forward-${sink}.json`);

export interface ForwarderOptions {
  /** The running log: read only what it has made durable, wake when it has more. */
  log?: AuditLog;
  /** Records per delivery to the collector (one write, one POST). */
  batch?: number;
  /**
   * Records read and encoded at a time while the writer is committing (see besideWriter()):
   * small enough to fit in one commit's wait for the disk (64: about 100 µs here).
   */
  slice?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  pollMs?: number;
  /**
   * Write the cursor at most this often (a crash resends at most this much: at-least-once).
   * Each write (temp file, fsync, rename) waits on the disk beside the writer's fdatasync, so
   * few: one every 5 s, where one a second measurably slowed the appends that met it.
   */
  cursorEveryMs?: number;
  /**
   * Deliver at most this often unless catching up: what arrives meanwhile goes in one batch.
   * Measured (bench/audit-assurance.ts): each delivery, however small, delays the few appends
   * that meet it (its socket write is one system call on this thread), so few large ones are
   * best: one every 10 ms moved the writer's median by about 5%; one a second, encoded in slices
   * beside the writer, leaves the median within noise and the p99 about 10% slower.
   */
  coalesceMs?: number;
  /** Lines kept from the writer's commits for a forwarder that is caught up (beyond: read from disk). */
  memoryLines?: number;
}

export interface ForwardStatus {
  sink: string;
  target: string;
  /** Last record the collector is known to have. */
  delivered: number;
  /** Last record sent (may still be unconfirmed). */
  sent: number;
  head: number;
  lagRecords: number;
  /** Age of the oldest record not yet delivered, in seconds (0 when caught up). */
  lagSeconds: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

/**
 * Forwards every record of the log, in order, to one sink, reading the segment files behind
 * the writer (never in a request's path). The cursor file in the data directory says what the
 * collector has; after a collector outage or a bot restart forwarding resumes there, so nothing
 * is lost. Delivery is at-least-once: after a failure the unconfirmed tail is resent, and a
 * collector de-duplicates by record id (each message carries it).
 */
export class Forwarder {
  private cursor: Cursor = { ...START };
  private sendPos: Cursor = { ...START };
  /** Last record handed to the sink (sendPos runs ahead of it while a batch is gathered). */
  private sentId = 0;
  /** Sent, not yet confirmed, in order. */
  private inflight: Cursor[] = [];
  private running: Promise<void> | null = null;
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private cursorDirty = false;
  private cursorWrittenAt = 0;
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  /** Time of the oldest record not yet delivered (when known). */
  private oldestPendingTime: string | null = null;
  /** The writer's latest commits, oldest first, and how many lines they hold (see remember()). */
  private remembered: DurableBatch[] = [];
  private rememberedLines = 0;
  /** Ends a pause early (stop()); once draining, there are no pauses. */
  private endPause: (() => void) | null = null;
  private draining = false;
  private readonly opts: Required<Omit<ForwarderOptions, 'log'>> & { log?: AuditLog };

  constructor(private readonly dir: string, private readonly sink: Sink, private readonly cursorFile: string, opts: ForwarderOptions = {}) {
    this.opts = { batch: 2000, slice: 64, retryMinMs: 250, retryMaxMs: 5000, pollMs: 1000, cursorEveryMs: 5000, coalesceMs: 1000, memoryLines: 5000, ...opts };
    this.opts.batch = Math.min(this.opts.batch, sink.maxBatch ?? Infinity);
  }

  async start(): Promise<this> {
    this.cursor = await this.loadCursor();
    // The first write falls at a random point of the first interval, as later ones fall one an
    // interval: forwarders started together do not write in step, and a short run writes as
    // often on average as a long one (not at once, then never).
    this.cursorWrittenAt = Date.now() - Math.random() * this.opts.cursorEveryMs;
    this.sendPos = { ...this.cursor };
    this.sentId = this.cursor.id;
    this.unsubscribe =
      this.opts.log?.onDurable((_d, batch) => {
        this.remember(batch);
        this.wake();
      }) ?? null;
    this.running = this.loop();
    return this;
  }

  private woken = false;

  /**
   * Wait for a moment when reading and encoding records keeps no request waiting, and say how
   * many to take then. A busy writer's thread is idle while each group commit's fdatasync is with
   * the disk (hundreds of µs); a slice taken then is done before the commit completes. A whole
   * batch read and framed at once (about 1 ms for 500 records) instead held back every append it
   * met, which showed in the writer's p99 (bench/audit-assurance.ts). With the writer idle, a
   * request may arrive at any moment: live lines (from memory) go a slice at a time, the event
   * loop turning between slices, so it waits for one slice at most; a catch-up from disk (where
   * each read opens the segment) goes a batch at a time.
   */
  private async besideWriter(): Promise<number> {
    const log = this.opts.log;
    if (!log || this.draining) return this.opts.batch;
    if (!log.writing) {
      if (!this.servesFromMemory()) return this.opts.batch;
      await new Promise((r) => setImmediate(r));
      return this.opts.slice;
    }
    let stalled: NodeJS.Timeout | undefined;
    // A commit that takes this long has stalled on the disk: forwarding does not wait on it.
    await Promise.race([log.whileSyncing(), new Promise((r) => (stalled = setTimeout(r, 50)))]);
    clearTimeout(stalled);
    return this.opts.slice;
  }

  /** The next lines to send are the writer's, kept in memory (see fromMemory()). */
  private servesFromMemory(): boolean {
    const b = this.remembered[0];
    const at = this.sendPos;
    return !!b && (b.segment < at.segment || (b.segment === at.segment && b.offset <= at.offset));
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    if (w) w();
    else this.woken = true; // not asleep yet: the next sleep returns at once
  }

  /** Wait coalesceMs, cut short by stop() (a shutdown drains at once). */
  private pause(): Promise<void> {
    if (this.draining) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.endPause = null;
        resolve();
      }, this.opts.coalesceMs);
      this.endPause = () => {
        clearTimeout(t);
        this.endPause = null;
        resolve();
      };
    });
  }

  /** Sleep up to `ms`; true if woken early (new records, or stop). */
  private sleep(ms: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve(false);
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
  }

  /** The saved cursor, if the record it names is still there unchanged; else from the start (resend, never lose). */
  private async loadCursor(): Promise<Cursor> {
    let c: CursorFile;
    try {
      c = JSON.parse(await readFile(this.cursorFile, 'utf8')) as CursorFile;
    } catch {
      return { ...START };
    }
    this.lastError = c.lastError ?? null;
    this.lastErrorAt = c.lastErrorAt ?? null;
    if (!c.id) return { ...START };
    const file = join(this.dir, segmentName(c.segment));
    let ok = false;
    if (existsSync(file)) {
      await scanLines(file, (l) => {
        const r = checkLine(l.buf, l.start, l.end);
        ok = r.ok && r.rec.id === c.id && r.rec.hash === c.hash && l.offset + (l.end - l.start) + 1 === c.offset;
        return false;
      }, { fromOffset: c.lineStart, toOffset: c.offset });
    }
    if (ok) return { segment: c.segment, offset: c.offset, id: c.id, hash: c.hash, lineStart: c.lineStart };
    this.noteError(`record #${c.id}, where forwarding stood, is no longer in the log as it was: resending from the start of the log (the collector de-duplicates by record id)`);
    return { ...START };
  }

  private noteError(msg: string): void {
    this.lastError = msg;
    this.lastErrorAt = new Date().toISOString();
    this.cursorDirty = true;
  }

  /**
   * Keep the lines the writer just made durable: a forwarder that is caught up sends them from
   * here instead of reading back what was just written (a read, a re-hash per record and a
   * directory listing per batch, which measurably slowed the writer's appends). They are the
   * bytes on disk, hashed by the writer. Kept as the writer's own batches, untouched until
   * sent; bounded: a forwarder far behind reads from disk.
   */
  private remember(batch: DurableBatch): void {
    this.remembered.push(batch);
    this.rememberedLines += batch.records.length;
    while (this.rememberedLines > this.opts.memoryLines && this.remembered.length > 1) this.forgetOldest();
  }

  private forgetOldest(): void {
    this.rememberedLines -= this.remembered.shift()!.records.length;
  }

  /**
   * The next lines from memory if they start exactly at sendPos; null if not (read the disk).
   * Per line only what a sink needs (a view of its bytes and its record), and one cursor for the
   * last: this runs beside the writer (besideWriter()), where whatever it costs can delay an append.
   */
  private fromMemory(limit: number): Slice | null {
    const items: ForwardItem[] = [];
    let end: Cursor | null = null;
    const pos = this.sendPos;
    while (this.remembered.length && items.length < limit) {
      const b = this.remembered[0]!;
      if (b.segment < pos.segment) {
        this.forgetOldest();
        continue;
      }
      if (b.segment > pos.segment) break; // the writer rotated: the disk path moves on to the next segment
      const n = b.records.length;
      const from: number = (end?.offset ?? pos.offset) - b.offset;
      let at = 0;
      let i = 0;
      for (; i < n && at < from; i++) at = newlineOf(b, i, at) + 1;
      if (i === n) {
        this.forgetOldest(); // all sent already
        continue;
      }
      if (at !== from) break; // lines before this commit are not in memory
      let start = at;
      for (; i < n && items.length < limit; i++) {
        const nl = newlineOf(b, i, at);
        const rec = b.records[i]!;
        items.push({ id: rec.id, line: b.bytes.subarray(at, nl), head: rec, verified: true });
        start = at;
        at = nl + 1;
      }
      const rec = b.records[i - 1]!;
      end = { segment: b.segment, offset: b.offset + at, id: rec.id, hash: rec.hash, lineStart: b.offset + start };
      if (i === n) this.forgetOldest();
    }
    if (!end) return null;
    this.sendPos = end;
    return { items, end };
  }

  /** Up to `limit` complete, durable lines after sendPos (moving on to the next segment at the end of one). */
  private async readNext(limit: number): Promise<Slice> {
    const remembered = this.fromMemory(limit);
    if (remembered) return remembered;
    const items: ForwardItem[] = [];
    let end: Cursor | null = null;
    const durable = this.opts.log?.durable;
    for (;;) {
      const pos = this.sendPos;
      if (durable && (pos.segment > durable.segment || (pos.segment === durable.segment && pos.offset >= durable.bytes))) return { items, end };
      const file = join(this.dir, segmentName(pos.segment));
      if (!existsSync(file)) return { items, end };
      const toOffset = durable && durable.segment === pos.segment ? durable.bytes : undefined;
      await scanLines(file, (l) => {
        const c = checkLine(l.buf, l.start, l.end);
        const rec = c.ok ? c.rec : (JSON.parse(l.buf.toString('utf8', l.start, l.end)) as AuditRecord); // a line that is not JSON at all throws: forwarding stops there, loudly
        end = { segment: pos.segment, offset: l.offset + (l.end - l.start) + 1, id: rec.id, hash: rec.hash, lineStart: l.offset };
        // A copy: scanLines reuses its buffer for the next lines.
        items.push({ id: rec.id, line: Buffer.from(l.buf.subarray(l.start, l.end)), head: headOf(rec), verified: c.ok });
        return items.length < limit;
      }, { fromOffset: pos.offset, toOffset });
      if (end) this.sendPos = end;
      if (items.length >= limit) return { items, end };
      // End of this segment: move on only if a later one exists (the writer rotated).
      if (durable && durable.segment === pos.segment) return { items, end };
      const next = listSegments(this.dir).find((s) => s.n > pos.segment);
      if (!next || (durable && next.n > durable.segment)) return { items, end };
      this.sendPos = { ...this.sendPos, segment: next.n, offset: 0, lineStart: 0 };
    }
  }

  /**
   * Up to `batch` records after sendPos, read and encoded a slice at a time beside the writer
   * (besideWriter()); `end`: where the last of them ends (null: none); `full`: the batch filled
   * up, so more may be waiting.
   */
  private async gather(): Promise<{ parts: unknown[]; end: Cursor | null; full: boolean }> {
    const parts: unknown[] = [];
    let records = 0;
    let end: Cursor | null = null;
    const from = this.sendPos;
    let full = true;
    try {
      while (records < this.opts.batch) {
        const limit = Math.min(await this.besideWriter(), this.opts.batch - records);
        if (this.stopping) break;
        const slice = await this.readNext(limit);
        if (slice.items.length) {
          this.oldestPendingTime ??= slice.items[0]!.head.time;
          parts.push(this.sink.encode(slice.items));
          records += slice.items.length;
          end = slice.end;
        }
        if (slice.items.length < limit) {
          full = false;
          break;
        }
      }
    } catch (e) {
      this.sendPos = from; // nothing of this batch went out
      throw e;
    }
    return { parts, end, full };
  }

  private async loop(): Promise<void> {
    let backoff = this.opts.retryMinMs;
    while (!this.stopping) {
      let batch: Awaited<ReturnType<Forwarder['gather']>>;
      try {
        batch = await this.gather();
      } catch (e) {
        this.noteError(`reading the log: ${(e as Error).message}`);
        await this.sleep(this.opts.retryMaxMs);
        continue;
      }
      if (!batch.end) {
        if (this.stopping) break;
        this.oldestPendingTime = null;
        await this.commit();
        // Idle: wake on the next durable write, or soon, to confirm what is in flight. After a
        // wake, let more commits land first (see coalesceMs).
        if (!this.stopping && (await this.sleep(this.inflight.length ? Math.min(this.opts.pollMs, 200) : this.opts.pollMs)) && !this.stopping) await this.pause();
        continue;
      }
      try {
        const lastId = batch.end.id;
        await this.sink.deliver(batch.parts, lastId);
        this.sentId = lastId;
        // A sink confirms a delivery as a whole (its last record), so one cursor a delivery.
        this.inflight.push(batch.end);
        backoff = this.opts.retryMinMs;
        if (this.lastError) {
          this.lastError = null;
          this.cursorDirty = true;
        }
        await this.commit();
        // A full batch: more is waiting (catching up), go on; else gather for a while.
        if (!batch.full && !this.stopping) await this.pause();
      } catch (e) {
        // Resend from what the collector is known to have.
        this.noteError((e as Error).message);
        this.inflight = [];
        this.sendPos = { ...this.cursor };
        this.sentId = this.cursor.id;
        await this.commit(true);
        if (!this.stopping) await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.opts.retryMaxMs);
      }
    }
  }

  /** Move the cursor up to what the sink confirms; write it (atomically) when due or forced. */
  private async commit(force = false): Promise<void> {
    const confirmed = this.sink.confirmed();
    let moved = false;
    while (this.inflight.length && this.inflight[0]!.id <= confirmed) {
      this.cursor = this.inflight.shift()!;
      moved = true;
    }
    if (moved) this.cursorDirty = true;
    if (!this.cursorDirty || (!force && Date.now() - this.cursorWrittenAt < this.opts.cursorEveryMs)) return;
    this.cursorDirty = false;
    this.cursorWrittenAt = Date.now();
    const data: CursorFile = { ...this.cursor, sink: this.sink.name, target: this.sink.target, updatedAt: new Date().toISOString(), lastError: this.lastError, lastErrorAt: this.lastErrorAt };
    // Never a torn cursor, never a blocked event loop. No directory fsync: a cursor that power loss
    // turns back only means records sent again (at-least-once, de-duplicated by id), and a journal
    // commit every cursorEveryMs would sit beside the writer's fdatasync.
    await writeFileDurableAsync(this.cursorFile, JSON.stringify(data) + '\n', { syncDir: false });
  }

  status(): ForwardStatus {
    const head = this.opts.log?.durable.id ?? this.sendPos.id;
    const lagRecords = Math.max(0, head - this.cursor.id);
    const t = lagRecords && this.oldestPendingTime ? Date.parse(this.oldestPendingTime) : NaN;
    return {
      sink: this.sink.name, target: this.sink.target, delivered: this.cursor.id, sent: this.sentId, head, lagRecords,
      lagSeconds: Number.isNaN(t) ? 0 : Math.max(0, (Date.now() - t) / 1000), lastError: this.lastError, lastErrorAt: this.lastErrorAt,
    };
  }

  /**
   * Shutdown: keep forwarding until caught up with the log (at most `drainMs`), close the sink
   * cleanly (which confirms what it received) and write the cursor.
   */
  async stop(drainMs = 5000): Promise<void> {
    const deadline = Date.now() + drainMs;
    this.draining = true;
    this.endPause?.();
    this.wake();
    while (Date.now() < deadline && !this.lastError && this.sentId < (this.opts.log?.durable.id ?? this.sendPos.id)) await new Promise((r) => setTimeout(r, 20));
    this.stopping = true;
    this.unsubscribe?.();
    this.wake();
    await this.running;
    await this.sink.close().catch(() => undefined);
    await this.commit(true);
  }
}
