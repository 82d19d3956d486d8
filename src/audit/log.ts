import { mkdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256 } from '../core/hash';
import { fsyncDir } from '../state/durable-file';
import { redactDeep } from '../core/redact';
import { AuditEntrySchema, GENESIS_HASH, type AuditEntryInput, type AuditRecord } from './record';
import { listSegments, segmentName } from './segments';

export interface AuditLogOptions {
  /** Records per segment file before a new one starts (bounds start-up reading). */
  segmentRecords?: number;
  clock?: () => Date;
}

type AuditEntry = ReturnType<typeof AuditEntrySchema.parse>;

/** What a group commit just made durable: its lines, in order, and their records. */
export interface DurableBatch {
  segment: number;
  /** Byte offset in that segment where the first line starts. */
  offset: number;
  /**
   * The bytes written, exactly as on disk: one line per record, each ending in a newline. The
   * same buffer the file got, so a reader (the forwarder) copies bytes instead of encoding the
   * text again, which it would otherwise do beside the writer (see Forwarder.besideWriter()).
   */
  bytes: Buffer;
  /** Each line's record (as chained), in order. */
  records: readonly AuditRecord[];
}

/** How far the log is on disk (written and fdatasync'd): readers behind the writer stop here. */
export interface DurablePosition {
  segment: number;
  /** Bytes of that segment on disk. */
  bytes: number;
  /** Last durable record. */
  id: number;
  hash: string;
}

interface Pending {
  line: string;
  rec: AuditRecord;
  /** This record opens segment N. */
  opens?: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Append-only, hash-chained audit log in JSON Lines segments.
 *
 * Records are chained in call order synchronously (so concurrent callers can never interleave
 * or fork the chain), then written by one flusher that group-commits whatever is queued with a
 * single write + fdatasync. append() resolves only once its record is on disk: that is what
 * lets the pipeline write an intent before any effect. Cost per append does not depend on how
 * many records exist: the file is opened for append and only the last hash is kept in memory.
 */
export class AuditLog {
  private seq = 0;
  private lastHash = GENESIS_HASH;
  private segment = 1;
  private segmentCount = 0;
  private fh: FileHandle | null = null;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;
  private readonly open = new Map<number, AuditRecord>();
  private durablePos: DurablePosition = { segment: 1, bytes: 0, id: 0, hash: GENESIS_HASH };
  private syncWaiters: (() => void)[] = [];
  private syncingNow = false;
  private readonly listeners = new Set<(d: DurablePosition, batch: DurableBatch) => void>();
  private lastRec: AuditRecord | null = null;
  private readonly segmentRecords: number;
  private readonly clock: () => Date;

  private constructor(readonly dir: string, opts: AuditLogOptions) {
    this.segmentRecords = opts.segmentRecords ?? 50_000;
    this.clock = opts.clock ?? (() => new Date());
  }

  static async open(dir: string, opts: AuditLogOptions = {}): Promise<AuditLog> {
    mkdirSync(dir, { recursive: true });
    const log = new AuditLog(dir, opts);
    const torn = log.recoverTail();
    log.fh = await open(join(dir, segmentName(log.segment)), 'a', 0o600);
    fsyncDir(dir);
    log.durablePos = { segment: log.segment, bytes: (await log.fh.stat()).size, id: log.seq, hash: log.lastHash };
    if (torn)
      await log.append({
        kind: 'event', correlationId: 'startup', operation: 'audit.recover', outcome: 'ok',
        reason: 'an incomplete last line (a write cut off by a crash) was removed from the log',
        details: { file: torn.file, bytes: torn.bytes, sha256: torn.sha256 },
      });
    return log;
  }

  /** Last record's id and hash (for operators to note down and compare later). */
  get head(): { id: number; hash: string } {
    return { id: this.seq, hash: this.lastHash };
  }

  /** The segment that holds the head record. */
  get headSegment(): number {
    return this.segment;
  }

  /** The last record chained (null for an empty log). */
  get last(): AuditRecord | null {
    return this.lastRec;
  }

  /** A group commit is under way. */
  get writing(): boolean {
    return this.flushing !== null;
  }

  /**
   * Resolves the next time a group commit hands its fdatasync to the disk (at once if no commit
   * is under way): until the disk answers, work on this thread delays no append. Between the
   * write and the fdatasync the thread is needed, to issue the fdatasync.
   */
  whileSyncing(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** An fdatasync of a group commit is with the disk right now. */
  get syncing(): boolean {
    return this.syncingNow;
  }

  private releaseSyncWaiters(): void {
    const ws = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of ws) w();
  }

  /** What is on disk now. */
  get durable(): DurablePosition {
    return { ...this.durablePos };
  }

  /**
   * Called after each group commit with the new durable position and the lines it wrote
   * (checkpoints, the SIEM forwarder). Listeners run after the writers' promises resolve and must
   * not throw or block.
   */
  onDurable(fn: (d: DurablePosition, batch: DurableBatch) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  /** Intents with no result yet: after a crash, the actions whose outcome is unknown. */
  openIntents(): AuditRecord[] {
    return [...this.open.values()];
  }

  /** The next record opens a new segment (an accepted broken chain starts afresh there). */
  startNewSegment(): void {
    if (this.seq > 0) this.segmentCount = this.segmentRecords;
  }

  append(input: AuditEntryInput): Promise<AuditRecord> {
    if (this.closed) return Promise.reject(new Error('audit log is closed'));
    const entry = redactDeep(AuditEntrySchema.parse(input));
    let opens: number | undefined;
    if (this.segmentCount >= this.segmentRecords) {
      this.segment++;
      this.segmentCount = 0;
      opens = this.segment;
      const header = this.chain(AuditEntrySchema.parse({
        kind: 'segment', correlationId: `segment-${this.segment}`, operation: 'audit.segment',
        details: { segment: this.segment, openIntents: this.openIntents() },
      }));
      this.enqueue(header, opens).catch(() => undefined); // its failure surfaces through the record that follows
    }
    const chained = this.chain(entry);
    return this.enqueue(chained).then(() => chained.rec);
  }

  /**
   * Chain a parsed entry (it becomes the record: no second parse, no copies). The line written
   * is the canonical JSON that was hashed with the hash appended, so the record is serialised
   * once; it parses to the same record, and hashRecord() of it (what `audit verify` computes)
   * is the same canonical form, hence the same hash.
   */
  private chain(entry: AuditEntry): { rec: AuditRecord; line: string } {
    const rec = entry as AuditRecord;
    rec.id = ++this.seq;
    rec.time = this.clock().toISOString();
    rec.prev = this.lastHash;
    const canonical = canonicalJson(rec); // no `hash` key yet: exactly what hashRecord() hashes
    rec.hash = sha256(canonical);
    this.lastHash = rec.hash;
    this.segmentCount++;
    this.track(rec);
    this.lastRec = rec;
    return { rec, line: `${canonical.slice(0, -1)},"hash":"${rec.hash}"}\n` };
  }

  private track(rec: AuditRecord): void {
    if (rec.kind === 'intent') this.open.set(rec.id, rec);
    else if (rec.intentId !== null) this.open.delete(rec.intentId);
    else if (rec.kind === 'segment')
      for (const i of (rec.details?.openIntents as AuditRecord[] | undefined) ?? []) this.open.set(i.id, i);
  }

  private enqueue({ rec, line }: { rec: AuditRecord; line: string }, opens?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, rec, opens, resolve, reject });
      this.flushing ??= this.flush().finally(() => (this.flushing = null));
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      // One batch per segment: a record that opens a new segment starts a new batch.
      let end = 1;
      while (end < this.queue.length && this.queue[end]!.opens === undefined) end++;
      const batch = this.queue.splice(0, end);
      try {
        if (batch[0]!.opens !== undefined) {
          await this.fh?.close();
          this.fh = await open(join(this.dir, segmentName(batch[0]!.opens)), 'a', 0o600);
          fsyncDir(this.dir);
          this.durablePos = { ...this.durablePos, segment: batch[0]!.opens, bytes: 0 };
        }
        // Encoded here once (writing the text would encode it just the same) and handed to the listeners as it is.
        const bytes = Buffer.from(batch.length === 1 ? batch[0]!.line : batch.map((p) => p.line).join(''));
        await this.fh!.write(bytes);
        const synced = this.fh!.datasync();
        this.syncingNow = true;
        this.releaseSyncWaiters();
        try {
          await synced;
        } finally {
          this.syncingNow = false;
        }
        const last = batch[batch.length - 1]!.rec;
        const offset = this.durablePos.bytes;
        this.durablePos = { segment: this.durablePos.segment, bytes: offset + bytes.length, id: last.id, hash: last.hash };
        for (const p of batch) p.resolve();
        if (this.listeners.size) {
          const d = this.durablePos;
          const written: DurableBatch = { segment: d.segment, offset, bytes, records: batch.map((p) => p.rec) };
          for (const fn of this.listeners) fn(d, written);
        }
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    this.releaseSyncWaiters();
    await this.fh?.close();
    this.fh = null;
  }

  /**
   * Rebuild the in-memory head from the last non-empty segment (and its header's open
   * intents). A last line cut off by a crash is removed; the removal itself is then logged.
   */
  private recoverTail(): { file: string; bytes: number; sha256: string } | null {
    const segments = listSegments(this.dir);
    let torn: { file: string; bytes: number; sha256: string } | null = null;
    while (segments.length) {
      const seg = segments[segments.length - 1]!;
      let text = readFileSync(seg.file, 'utf8');
      if (text.length && !text.endsWith('\n')) {
        const cut = text.lastIndexOf('\n') + 1;
        const tail = text.slice(cut);
        if (isJson(tail)) {
          writeFileSync(seg.file, '\n', { flag: 'a' }); // complete record, only its newline was lost
          text += '\n';
        } else {
          truncateSync(seg.file, Buffer.byteLength(text.slice(0, cut)));
          torn = { file: seg.file, bytes: Buffer.byteLength(tail), sha256: sha256(tail) };
          text = text.slice(0, cut);
        }
      }
      const lines = text.split('\n').filter((l) => l.length);
      if (!lines.length && segments.length > 1) {
        unlinkSync(seg.file); // created by a rotation that crashed before its first write
        segments.pop();
        continue;
      }
      this.segment = seg.n;
      this.segmentCount = lines.length;
      for (const line of lines) {
        let rec: AuditRecord;
        try {
          rec = JSON.parse(line) as AuditRecord;
        } catch {
          continue; // `audit verify` names it; the chain continues from the last good record
        }
        this.seq = rec.id;
        this.lastHash = rec.hash;
        this.track(rec);
        this.lastRec = rec;
      }
      break;
    }
    return torn;
  }
}

const isJson = (s: string) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};
