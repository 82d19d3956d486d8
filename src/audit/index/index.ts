import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkLine } from '../chain';
import { scanLines } from '../lines';
import { GENESIS_HASH, type AuditRecord } from '../record';
import { matches, type AuditQuery, type QueryResult, type QuerySkip } from '../query';
import { listSegments, segmentName } from '../segments';

/**
 * A query index derived from the audit log: SQLite (better-sqlite3) holding, per record, the
 * columns the filters use and where the record's line lies in its segment (byte offset and
 * length). It never holds a record's content: a query finds the positions here and reads the
 * lines from the log, so what a query shows is what the log says. Verification never reads it.
 *
 * - Rebuildable at any time: delete the file (or `vmbot audit reindex`) and it is rebuilt.
 * - Caught up at start-up and before every query: the log is the authority, so the index reads
 *   whatever complete lines were appended since it last looked (after a crash too). The read
 *   position is stored in the same SQLite transaction as the rows, so a crash mid-update leaves
 *   either both or neither.
 * - A log that no longer looks like what was indexed (a segment shorter than indexed, the last
 *   indexed record not where it was, a line that is not the record the index points to) makes
 *   the index rebuild itself rather than answer from stale positions.
 */
export interface IndexedQuery extends AuditQuery {
  /** Paging: only records with a smaller id (the page after one ending at beforeId). */
  beforeId?: number;
  /** Paging: only records with a larger id. */
  afterId?: number;
  /**
   * Scope restriction: only records about these VMs (lower-case names), plus records without a
   * VM when `withoutVm`. Undefined: no restriction.
   */
  vms?: readonly string[];
  withoutVm?: boolean;
  /** With a limit: the oldest `limit` instead of the newest (exports walk forward with afterId). */
  oldestFirst?: boolean;
}

export interface HistogramBucket {
  /** Bucket start (ms since epoch). */
  t: number;
  total: number;
  denied: number;
}

const SCHEMA_VERSION = '3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
  n INTEGER PRIMARY KEY,
  bytes INTEGER NOT NULL,      -- bytes of the segment indexed so far (always at a line end)
  lines INTEGER NOT NULL,      -- lines read so far (line numbers of skipped records)
  last_off INTEGER, last_len INTEGER, last_hash TEXT,  -- the last indexed record, to spot a rewritten log
  mtime REAL                   -- the file's mtime when exactly \`bytes\` long (NULL: unknown)
);
CREATE TABLE IF NOT EXISTS records (
  id INTEGER PRIMARY KEY,
  t INTEGER,                   -- ms since epoch; NULL when the time does not parse
  kind TEXT NOT NULL,
  user TEXT NOT NULL,          -- lower-cased; '' for none (as the scan compares)
  vm TEXT NOT NULL,
  host TEXT NOT NULL,
  operation TEXT NOT NULL,
  outcome TEXT,
  corr TEXT NOT NULL,
  seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL
);
-- Lines that fail the check every reader applies (checkLine): never shown, always reported.
CREATE TABLE IF NOT EXISTS skipped (seg INTEGER NOT NULL, line INTEGER NOT NULL, id INTEGER, reason TEXT NOT NULL, PRIMARY KEY (seg, line));
CREATE INDEX IF NOT EXISTS records_user ON records(user, id);
CREATE INDEX IF NOT EXISTS records_vm ON records(vm, host, id);
CREATE INDEX IF NOT EXISTS records_op ON records(operation, id);
CREATE INDEX IF NOT EXISTS records_corr ON records(corr, id);
CREATE INDEX IF NOT EXISTS records_outcome ON records(outcome, id);
CREATE INDEX IF NOT EXISTS records_t ON records(t);
`;

const low = (s: string | null | undefined) => (s ?? '').toLowerCase();

interface SegmentRow {
  n: number;
  bytes: number;
  lines: number;
  last_off: number | null;
  last_len: number | null;
  last_hash: string | null;
  mtime: number | null;
}

interface PosRow {
  id: number;
  seg: number;
  off: number;
  len: number;
}

export class AuditIndex {
  private readonly db: Database.Database;
  private readonly fds = new Map<number, number>();
  /** Segment number -> file path, refreshed by every catch-up. */
  private files = new Map<number, string>();
  /** Catch-up passes run one after another (two at once would read the same lines twice). */
  private passes: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly auditDir: string,
    readonly file: string,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // The index can always be rebuilt from the log: no need to fsync every commit.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('cache_size = -65536'); // 64 MB: building the secondary indexes is page-cache bound
  }

  /** Open (or create) the index of `auditDir` at `file`, and catch it up with the log. */
  static async open(auditDir: string, file: string): Promise<AuditIndex> {
    let idx: AuditIndex;
    try {
      idx = new AuditIndex(auditDir, file);
      idx.prepareSchema();
    } catch {
      // Not a database, or one from another version: it is derived data, so start again.
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      idx = new AuditIndex(auditDir, file);
      idx.prepareSchema();
    }
    await idx.catchUp();
    return idx;
  }

  private prepareSchema(): void {
    const hasMeta = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
    const version = hasMeta ? (this.db.prepare(`SELECT value FROM meta WHERE key = 'version'`).get() as { value: string } | undefined)?.value : undefined;
    if (version !== undefined && version !== SCHEMA_VERSION) throw new Error('index schema version changed');
    this.db.exec(SCHEMA);
    this.db.prepare(`INSERT OR IGNORE INTO meta(key, value) VALUES ('version', ?)`).run(SCHEMA_VERSION);
  }

  /** Records indexed so far and the highest id. */
  stats(): { records: number; lastId: number } {
    const r = this.db.prepare('SELECT count(*) AS c, coalesce(max(id), 0) AS m FROM records').get() as { c: number; m: number };
    return { records: r.c, lastId: r.m };
  }

  /**
   * Index whatever the log holds beyond what was indexed. Rebuilds from scratch when the log
   * does not match what was indexed. Returns how many records were added.
   */
  catchUp(): Promise<{ added: number; rebuilt: boolean }> {
    const pass = this.passes.then(() => this.pass());
    this.passes = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<{ added: number; rebuilt: boolean }> {
    const segments = listSegments(this.auditDir);
    // Reopen per pass: a segment file replaced since (restored, rewritten) must be read anew.
    this.closeFds();
    this.files = new Map(segments.map((s) => [s.n, s.file]));
    const indexed = this.db.prepare('SELECT * FROM segments ORDER BY n').all() as SegmentRow[];
    let rebuilt = false;
    if (!this.consistent(indexed, segments)) {
      this.reset();
      rebuilt = true;
    }
    const progress = new Map((this.db.prepare('SELECT * FROM segments').all() as SegmentRow[]).map((s) => [s.n, s]));
    let added = 0;
    for (const seg of segments) {
      const done = progress.get(seg.n);
      if (statSync(seg.file).size > (done?.bytes ?? 0)) added += await this.indexSegment(seg.n, seg.file, done?.bytes ?? 0, done?.lines ?? 0);
    }
    if (rebuilt || added > 50_000) this.db.exec('ANALYZE');
    return { added, rebuilt };
  }

  /** Drop everything and index the whole log again. */
  async rebuild(): Promise<{ added: number }> {
    const pass = this.passes.then(async () => {
      this.reset();
      const r = await this.pass();
      this.db.exec('ANALYZE');
      return { added: r.added };
    });
    this.passes = pass.catch(() => undefined);
    return pass;
  }

  private reset(): void {
    this.closeFds();
    this.db.exec(`BEGIN; DELETE FROM records; DELETE FROM segments; DELETE FROM skipped; DELETE FROM meta WHERE key = 'chain'; COMMIT;`);
  }

  /** Does the log still hold what was indexed where it was indexed? */
  private consistent(indexed: SegmentRow[], segments: { n: number; file: string }[]): boolean {
    const present = new Map(segments.map((s) => [s.n, s.file]));
    for (const s of indexed) {
      const file = present.get(s.n);
      if (!file) return false;
      let st: { size: number; mtimeMs: number };
      try {
        st = statSync(file);
      } catch {
        return false;
      }
      if (st.size < s.bytes) return false;
      // Not one byte appended, yet written to: edited in place (appends only ever grow a segment).
      if (st.size === s.bytes && s.mtime !== null && st.mtimeMs !== s.mtime) return false;
      if (s.last_off !== null && s.last_len !== null) {
        const rec = this.readAt(s.n, s.last_off, s.last_len);
        if (!rec.ok || rec.rec.hash !== s.last_hash) return false;
      }
    }
    // A segment that appeared before the last indexed one was not there when it was indexed.
    const last = indexed.length ? indexed[indexed.length - 1]!.n : 0;
    const known = new Set(indexed.map((s) => s.n));
    return segments.every((s) => s.n > last || known.has(s.n));
  }

  /**
   * Index the complete lines of one segment from byte `from`, through the same line reader and
   * the same per-line check as `audit verify` and the scan. Lines that fail the check go to
   * `skipped`; the first place the chain does not link is kept, as the scan reports it.
   */
  private async indexSegment(n: number, file: string, from: number, linesBefore: number): Promise<number> {
    const insert = this.db.prepare(
      'INSERT OR REPLACE INTO records (id, t, kind, user, vm, host, operation, outcome, corr, seg, off, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const skip = this.db.prepare('INSERT OR REPLACE INTO skipped (seg, line, id, reason) VALUES (?, ?, ?, ?)');
    const progress = this.db.prepare(
      `INSERT INTO segments (n, bytes, lines, last_off, last_len, last_hash) VALUES (@n, @bytes, @lines, @off, @len, @hash)
       ON CONFLICT(n) DO UPDATE SET bytes = @bytes, lines = @lines, last_off = coalesce(@off, last_off), last_len = coalesce(@len, last_len), last_hash = coalesce(@hash, last_hash)`,
    );
    const saveChain = this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('chain', ?)`);
    const chain = this.chainState();
    let rows: unknown[][] = [];
    let skips: unknown[][] = [];
    let last: { off: number; len: number; hash: string } | null = null;
    let added = 0;
    let at = { bytes: from, lines: linesBefore };
    const commit = () => {
      this.db.transaction(() => {
        for (const r of rows) insert.run(...r);
        for (const r of skips) skip.run(...r);
        progress.run({ n, bytes: at.bytes, lines: at.lines, off: last?.off ?? null, len: last?.len ?? null, hash: last?.hash ?? null });
        saveChain.run(JSON.stringify(chain));
      })();
      added += rows.length;
      rows = [];
      skips = [];
    };
    const end = await scanLines(
      file,
      ({ buf, start, end: stop, line, offset }) => {
        const c = checkLine(buf, start, stop);
        at = { bytes: offset + (stop - start) + 1, lines: line };
        if (!c.ok) {
          skips.push([n, line, c.id, c.reason]);
          chain.skipped = true;
        } else {
          const r = c.rec;
          if (!chain.brk && !chain.skipped && (r.id !== chain.prevId + 1 || r.prev !== chain.prevHash))
            chain.brk = { seg: n, line, id: r.id, reason: 'does not link to the record before it' };
          chain.prevId = r.id;
          chain.prevHash = r.hash;
          if (!chain.brk && !chain.skipped) chain.intact = { id: r.id, hash: r.hash };
          last = { off: offset, len: stop - start, hash: r.hash };
          if (r.kind !== 'segment') {
            const t = Date.parse(r.time);
            rows.push([r.id, Number.isNaN(t) ? null : t, r.kind, low(r.user), low(r.vm), low(r.host), low(r.operation), r.outcome ?? null, low(r.correlationId), n, offset, stop - start]);
          }
        }
        if (rows.length + skips.length >= 20_000) commit();
      },
      { fromOffset: from, firstLine: linesBefore + 1 },
    );
    // Empty lines at the end are read but yield nothing: the end offset is the authority.
    at = { bytes: end.endOffset, lines: end.lines };
    commit();
    // The mtime is only meaningful for the exact length indexed (a later append changes both).
    const st = statSync(file);
    this.db.prepare('UPDATE segments SET mtime = ? WHERE n = ?').run(st.size === end.endOffset ? st.mtimeMs : null, n);
    return added;
  }

  private chainState(): ChainState {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'chain'`).get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as ChainState) : { prevId: 0, prevHash: GENESIS_HASH, skipped: false, brk: null, intact: null };
  }

  private fd(seg: number): number | null {
    let fd = this.fds.get(seg);
    if (fd === undefined) {
      const file = this.files.get(seg);
      if (!file) return null;
      try {
        fd = openSync(file, 'r');
      } catch {
        return null;
      }
      this.fds.set(seg, fd);
    }
    return fd;
  }

  /** The line at `off` in segment `seg`, through the same check every reader applies. */
  private readAt(seg: number, off: number, len: number): ReturnType<typeof checkLine> {
    const fd = this.fd(seg);
    if (fd === null) return { ok: false, id: null, reason: 'segment missing' };
    const buf = Buffer.allocUnsafe(len);
    if (readSync(fd, buf, 0, len, off) !== len) return { ok: false, id: null, reason: 'line missing' };
    return checkLine(buf, 0, len);
  }

  private closeFds(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private where(q: IndexedQuery): { sql: string; params: unknown[] } {
    const c: string[] = [];
    const p: unknown[] = [];
    const eq = (col: string, v: string | undefined) => v !== undefined && (c.push(`${col} = ?`), p.push(v.toLowerCase()));
    eq('user', q.user);
    eq('vm', q.vm);
    eq('operation', q.operation);
    eq('corr', q.correlationId);
    if (q.outcome) c.push('outcome = ?'), p.push(q.outcome);
    if (q.kind) c.push('kind = ?'), p.push(q.kind);
    // As the scan: a time that does not parse passes every time filter. One BETWEEN OR IS NULL
    // term, so SQLite answers both halves from the time index (two separate "t IS NULL OR"
    // terms made it scan the whole table: 465 ms at 1M records).
    if (q.since || q.until) c.push('(t BETWEEN ? AND ? OR t IS NULL)'), p.push(q.since?.getTime() ?? -8.64e15, q.until?.getTime() ?? 8.64e15);
    if (q.beforeId !== undefined) c.push('id < ?'), p.push(q.beforeId);
    if (q.afterId !== undefined) c.push('id > ?'), p.push(q.afterId);
    if (q.vms) {
      c.push(`(vm IN (SELECT value FROM json_each(?))${q.withoutVm ? ` OR vm = ''` : ''})`);
      p.push(JSON.stringify(q.vms));
    }
    return { sql: c.length ? `WHERE ${c.join(' AND ')}` : '', params: p };
  }

  /**
   * What queryAuditDetailed answers, from the index: matching records, oldest first (with a
   * limit, the newest `limit` of them), the lines never shown because they fail their check,
   * and the first chain break. Records are read from the log; a line that is no longer what
   * the index points to makes the index rebuild and the query run again.
   */
  async query(q: IndexedQuery): Promise<QueryResult> {
    await this.catchUp();
    for (let attempt = 0; ; attempt++) {
      const { sql, params } = this.where(q);
      const rows = q.limit && q.oldestFirst
        ? (this.db.prepare(`SELECT id, seg, off, len FROM records ${sql} ORDER BY id LIMIT ?`).all(...params, q.limit) as PosRow[])
        : q.limit
        ? (this.db.prepare(`SELECT id, seg, off, len FROM records ${sql} ORDER BY id DESC LIMIT ?`).all(...params, q.limit) as PosRow[]).reverse()
        : (this.db.prepare(`SELECT id, seg, off, len FROM records ${sql} ORDER BY id`).all(...params) as PosRow[]);
      const records: AuditRecord[] = [];
      let stale = false;
      for (const row of rows) {
        const c = this.readAt(row.seg, row.off, row.len);
        if (!c.ok || c.rec.id !== row.id) {
          stale = true;
          break;
        }
        if (matches(c.rec, q)) records.push(c.rec);
      }
      if (!stale || attempt > 0) return { records, ...this.damage() };
      await this.rebuild();
    }
  }

  /** Lines never shown (failed their check) and the first chain break, as the scan names them. */
  damage(): { skipped: QuerySkip[]; chainBreak: QuerySkip | null } {
    const file = (seg: number) => join(this.auditDir, segmentName(seg));
    const skipped = (this.db.prepare('SELECT seg, line, id, reason FROM skipped ORDER BY seg, line').all() as { seg: number; line: number; id: number | null; reason: string }[])
      .map((s) => ({ file: file(s.seg), line: s.line, id: s.id, reason: s.reason }));
    const brk = this.chainState().brk;
    return { skipped, chainBreak: brk ? { file: file(brk.seg), line: brk.line, id: brk.id, reason: brk.reason } : null };
  }

  /**
   * The chain as the index has read it: every line hash-checked and linked to the one before
   * (what `audit verify` checks per record), the last record up to which all of it holds, the
   * head, and any damage. Segment rotation and signed checkpoints are `audit verify`'s alone.
   */
  chain(): { checkedUpTo: number; head: { id: number; hash: string } | null; skipped: QuerySkip[]; chainBreak: QuerySkip | null } {
    const s = this.chainState();
    return { checkedUpTo: s.intact?.id ?? 0, head: s.prevId ? { id: s.prevId, hash: s.prevHash } : null, ...this.damage() };
  }

  async count(q: IndexedQuery): Promise<number> {
    await this.catchUp();
    const { sql, params } = this.where({ ...q, limit: undefined });
    return (this.db.prepare(`SELECT count(*) AS c FROM records ${sql}`).get(...params) as { c: number }).c;
  }

  /** Every record and the denials among them, per time bucket (for the chart). */
  async histogram(q: IndexedQuery, bucketMs: number): Promise<HistogramBucket[]> {
    await this.catchUp();
    const { sql, params } = this.where({ ...q, limit: undefined });
    const rows = this.db
      .prepare(`SELECT CAST(t / ? AS INTEGER) * ? AS b, count(*) AS total, sum(outcome = 'denied') AS denied FROM records ${sql ? `${sql} AND` : 'WHERE'} t IS NOT NULL GROUP BY b ORDER BY b`)
      .all(bucketMs, bucketMs, ...params) as { b: number; total: number; denied: number }[];
    return rows.map((r) => ({ t: r.b, total: r.total, denied: r.denied ?? 0 }));
  }

  /** First and last record time (ms), for choosing a chart's range. */
  timeRange(q: IndexedQuery = {}): { min: number; max: number } | null {
    const { sql, params } = this.where({ ...q, limit: undefined });
    const r = this.db.prepare(`SELECT min(t) AS min, max(t) AS max FROM records ${sql}`).get(...params) as { min: number | null; max: number | null };
    return r.min === null || r.max === null ? null : { min: r.min, max: r.max };
  }

  /** Every (VM, host) the log mentions, lower-cased (for scope restriction). */
  vmsInLog(): { vm: string; host: string }[] {
    return this.db.prepare(`SELECT DISTINCT vm, host FROM records WHERE vm != ''`).all() as { vm: string; host: string }[];
  }

  /** After any pass in flight (closing the database under it would fail that pass). */
  async close(): Promise<void> {
    await this.passes;
    this.closeFds();
    if (this.db.open) this.db.close();
  }
}

interface ChainState {
  prevId: number;
  prevHash: string;
  /** A line failed its check: the scan stops looking for chain breaks after one. */
  skipped: boolean;
  brk: { seg: number; line: number; id: number; reason: string } | null;
  /** The last record up to which every line passed its check and linked to the one before. */
  intact: { id: number; hash: string } | null;
}
