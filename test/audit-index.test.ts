import { appendFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditIndex, type IndexedQuery } from '../src/audit/index/index';
import { AuditLog } from '../src/audit/log';
import { queryAudit, queryAuditDetailed, type AuditQuery } from '../src/audit/query';
import type { AuditEntryInput, AuditRecord } from '../src/audit/record';
import { listSegments } from '../src/audit/segments';
import { verifyAudit } from '../src/audit/verify';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { vmbot } from './support/cli';

const USERS = ['alice', 'bob', 'dave', null];
const VMS = ['web01', 'web02', 'db01', null];
const OPS = ['Start Virtual Machine', 'Stop Virtual Machine', 'status', 'Read Audit Log'];
const OUTCOMES = ['ok', 'denied', 'failed', 'unknown', 'invalid', 'pending', null] as const;
const KINDS = ['decision', 'intent', 'result', 'event'] as const;
const T0 = Date.parse('2026-11-01T00:00:00Z');

/** A log of `n` varied records (several segments), its clock moving 7 minutes per record. */
async function generatedLog(n: number, dir = join(tempDir(), 'audit')) {
  let t = T0;
  const log = await AuditLog.open(dir, { segmentRecords: 150, clock: () => new Date((t += 7 * 60_000)) });
  for (let i = 0; i < n; i++) {
    const e: AuditEntryInput = {
      kind: KINDS[i % 4]!, correlationId: `c-${i % 37}`, principal: 'local:x',
      user: USERS[i % 4], vm: VMS[(i >> 2) % 4], operation: OPS[(i * 7) % 4], outcome: OUTCOMES[(i * 3) % 7] ?? null,
    };
    await log.append(e);
  }
  return { dir, log };
}

/** Every combination of the nine filters, each with a value that exists (in odd case) in the log. */
function everyCombination(): AuditQuery[] {
  const values: Partial<AuditQuery> = {
    user: 'ALICE', vm: 'Web01', operation: 'stop virtual machine', outcome: 'denied', kind: 'result', correlationId: 'C-5',
    since: new Date(T0 + 100 * 7 * 60_000), until: new Date(T0 + 420 * 7 * 60_000), limit: 9,
  };
  const keys = Object.keys(values) as (keyof AuditQuery)[];
  const out: AuditQuery[] = [];
  for (let mask = 0; mask < 1 << keys.length; mask++)
    out.push(Object.fromEntries(keys.filter((_, i) => mask & (1 << i)).map((k) => [k, values[k]])) as AuditQuery);
  return out;
}

const ids = (rs: AuditRecord[]) => rs.map((r) => r.id);
const recs = async (idx: AuditIndex, q: IndexedQuery) => (await idx.query(q)).records;
const indexFile = (dir: string) => join(dir, '..', 'audit-index.sqlite');

describe('audit index: results identical to a full scan', () => {
  test('every filter combination (512) over a generated log of several segments', async () => {
    const { dir, log } = await generatedLog(600);
    await log.close();
    const idx = await AuditIndex.open(dir, indexFile(dir));
    let nonEmpty = 0;
    for (const q of everyCombination()) {
      const detailed = await queryAuditDetailed(dir, q);
      const scan = detailed.records;
      const got = await idx.query(q);
      expect({ q, ids: ids(got.records) }).toEqual({ q, ids: ids(scan) });
      expect(got).toEqual(detailed); // the records themselves, read from the log
      if (!q.limit) expect(await idx.count(q)).toBe(scan.length);
      if (scan.length) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(100); // the combinations really select something
    await idx.close();
  });

  test('paging with beforeId walks the same records as the scan, newest first', async () => {
    const { dir, log } = await generatedLog(400);
    await log.close();
    const idx = await AuditIndex.open(dir, indexFile(dir));
    const all = await queryAudit(dir, { user: 'bob' });
    const pages: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await recs(idx, { user: 'bob', limit: 25, beforeId: before });
      if (!page.length) break;
      pages.unshift(...ids(page));
      before = page[0]!.id;
    }
    expect(pages).toEqual(ids(all));
    await idx.close();
  });

  test('follows appends made while it is open (caught up before each query)', async () => {
    const { dir, log } = await generatedLog(100);
    const idx = await AuditIndex.open(dir, indexFile(dir));
    expect(await recs(idx, { user: 'carol' })).toEqual([]);
    const rec = await log.append({ kind: 'decision', correlationId: 'c-new', user: 'carol', vm: 'web02', outcome: 'denied' });
    expect(ids(await recs(idx, { user: 'carol' }))).toEqual([rec.id]);
    await log.close();
    await idx.close();
  });
});

describe('audit index: derived, rebuildable, never the authority', () => {
  test('deleted, it is rebuilt from the log on open with the same answers', async () => {
    const { dir, log } = await generatedLog(300);
    await log.close();
    await (await AuditIndex.open(dir, indexFile(dir))).close();
    rmSync(indexFile(dir));
    for (const ext of ['-wal', '-shm']) rmSync(indexFile(dir) + ext, { force: true });
    const idx = await AuditIndex.open(dir, indexFile(dir));
    expect(idx.stats().records).toBe((await queryAudit(dir, {})).length);
    expect(ids(await recs(idx, { vm: 'db01', outcome: 'ok' }))).toEqual(ids(await queryAudit(dir, { vm: 'db01', outcome: 'ok' })));
    await idx.close();
  });

  test('a garbage index file is replaced; verification never reads the index', async () => {
    const { dir, log } = await generatedLog(120);
    await log.close();
    const before = await verifyAudit(dir);
    writeFileSync(indexFile(dir), 'this is not a database'.repeat(100));
    const idx = await AuditIndex.open(dir, indexFile(dir));
    expect(ids(await recs(idx, { user: 'dave' }))).toEqual(ids(await queryAudit(dir, { user: 'dave' })));
    await idx.close();
    expect(await verifyAudit(dir)).toEqual(before);
  });

  test('caught up after a crash: records appended while the index was not looking, and a torn last line', async () => {
    const { dir, log } = await generatedLog(200);
    await AuditIndex.open(dir, indexFile(dir)); // indexed up to record 200
    for (let i = 0; i < 80; i++) await log.append({ kind: 'event', correlationId: 'after-crash', user: 'erin', vm: 'web01', outcome: 'ok' });
    await log.close();
    const seg = listSegments(dir).at(-1)!.file;
    appendFileSync(seg, '{"id":999,"kind":"dec'); // the write a crash cut off
    const idx = await AuditIndex.open(dir, indexFile(dir));
    expect(ids(await recs(idx, { user: 'erin' }))).toEqual(ids(await queryAudit(dir, { user: 'erin' })));
    expect(await recs(idx, { user: 'erin' })).toHaveLength(80);
    // the bot's start-up removes the torn line and logs that; the index follows
    const reopened = await AuditLog.open(dir);
    await reopened.close();
    expect(ids(await recs(idx, {}))).toEqual(ids(await queryAudit(dir, {})));
    await idx.close();
  });

  test('a log rewritten under it (shortened segment) makes it rebuild rather than answer from stale positions', async () => {
    const { dir, log } = await generatedLog(300);
    await log.close();
    const idx = await AuditIndex.open(dir, indexFile(dir));
    const seg = listSegments(dir).at(-1)!.file;
    const text = readFileSync(seg, 'utf8').split('\n').filter(Boolean);
    writeFileSync(seg, text.slice(0, 10).join('\n') + '\n'); // someone cut the tail
    expect(await idx.query({})).toEqual(await queryAuditDetailed(dir, {}));
    truncateSync(seg, 0);
    expect(ids(await recs(idx, { kind: 'intent' }))).toEqual(ids(await queryAudit(dir, { kind: 'intent' })));
    await idx.close();
    expect(existsSync(indexFile(dir))).toBe(true);
  });

  test('records edited in place (same length) are left out and named, as the scan does', async () => {
    const { dir, log } = await generatedLog(50);
    await log.close();
    const idx = await AuditIndex.open(dir, indexFile(dir));
    const seg = listSegments(dir)[0]!.file;
    writeFileSync(seg, readFileSync(seg, 'utf8').replace('"user":"alice"', '"user":"ALICE"').replace('"user":"bob"', '"user":"eve"'));
    for (const q of [{ user: 'alice' }, { user: 'bob' }, { user: 'eve' }, {}]) expect(await idx.query(q)).toEqual(await queryAuditDetailed(dir, q));
    // the edited records are not shown, and named, exactly as the scan names them
    expect((await idx.query({})).skipped.map((x) => x.id)).toEqual([1, 2]);
    await idx.close();
  });
});

describe('audit index: histogram and scope restriction', () => {
  test('buckets count records and denials; a VM list restricts what is seen', async () => {
    const { dir, log } = await generatedLog(300);
    await log.close();
    const idx = await AuditIndex.open(dir, indexFile(dir));
    const all = await queryAudit(dir, {});
    const h = await idx.histogram({}, 3_600_000);
    expect(h.reduce((a, b) => a + b.total, 0)).toBe(all.length);
    expect(h.reduce((a, b) => a + b.denied, 0)).toBe(all.filter((r) => r.outcome === 'denied').length);
    // one bucket per hour: 7 minutes per record, so 8 or 9 records in each full hour
    expect(h.every((b) => b.t % 3_600_000 === 0)).toBe(true);
    expect(h.length).toBe(new Set(all.map((r) => Math.floor(Date.parse(r.time) / 3_600_000))).size);
    const q: IndexedQuery = { vms: ['web01'], withoutVm: false };
    expect(ids(await recs(idx, q))).toEqual(ids(all.filter((r) => r.vm === 'web01')));
    expect(ids(await recs(idx, { vms: ['db01'], withoutVm: true }))).toEqual(ids(all.filter((r) => r.vm === 'db01' || r.vm === null)));
    await idx.close();
  });
});

describe('vmbot audit query / reindex use the index', () => {
  test('query answers from the index (created on first use); reindex rebuilds it from the log', () => {
    const data = tempDir();
    const env = { VMBOT_DATA_DIR: data, VMBOT_POLICY: EXAMPLE_POLICY };
    expect(vmbot(['exec', '--as', 'local:mallory', '--', 'start web01'], env).code).toBe(3);
    expect(vmbot(['exec', '--as', 'local:alice', '--', 'status web01'], env).code).toBe(0);
    const q = vmbot(['audit', 'query', '--user', 'mallory', '--format', 'jsonl'], env);
    expect(q.stdout.trim().split('\n').map((l) => JSON.parse(l).outcome)).toEqual(['denied']);
    expect(existsSync(join(data, 'audit-index.sqlite'))).toBe(true);
    rmSync(join(data, 'audit-index.sqlite'));
    const r = vmbot(['audit', 'reindex'], env);
    expect(r.stdout).toMatch(/^Rebuilt the audit index from the log: 2 records in \d+\.\d s/);
    expect(vmbot(['audit', 'query', '--vm', 'web01'], env).stdout).toMatch(/mallory.*denied[\s\S]*alice.*ok/);
  });
});
