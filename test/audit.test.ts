import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/log';
import { queryAudit, toCsv } from '../src/audit/query';
import type { AuditEntryInput, AuditRecord } from '../src/audit/record';
import { listSegments } from '../src/audit/segments';
import { verifyAudit } from '../src/audit/verify';
import { openTestApp, tempDir, type TestApp } from './support/app';
import { readAuditRecords, readAuditText } from './support/audit';

const entry = (i: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  kind: 'decision', correlationId: `c-${i}`, principal: 'local:alice', user: 'alice', command: `status web0${i % 3}`,
  operation: 'status', vm: `web0${i % 3}`, decision: 'allow', outcome: 'ok', ...extra,
});

async function writeLog(n: number, opts: { segmentRecords?: number } = {}): Promise<{ dir: string; records: AuditRecord[] }> {
  const dir = join(tempDir(), 'audit');
  const log = await AuditLog.open(dir, opts);
  const records: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) records.push(await log.append(entry(i)));
  await log.close();
  return { dir, records };
}

const segmentFile = (dir: string) => listSegments(dir)[0]!.file;
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.join('\n') + '\n');

describe('audit chain verification', () => {
  test('a fresh log verifies and reports its head', async () => {
    const { dir, records } = await writeLog(10);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(true);
    expect(v.records).toBe(10);
    expect(v.head).toEqual({ id: 10, hash: records[9]!.hash });
    expect(records.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test('an empty log verifies', async () => {
    const v = await verifyAudit(join(tempDir(), 'audit'));
    expect(v.ok).toBe(true);
    expect(v.records).toBe(0);
  });

  test.each([
    ['the user', (r: Record<string, unknown>) => (r.user = 'bob')],
    ['the outcome', (r: Record<string, unknown>) => (r.outcome = 'denied')],
    ['the time', (r: Record<string, unknown>) => (r.time = '2020-01-01T00:00:00.000Z')],
    ['a detail', (r: Record<string, unknown>) => (r.details = { note: 'added later' })],
  ])('editing %s of a record breaks the chain at that record, named by file, line and id', async (_what, edit) => {
    const { dir } = await writeLog(6);
    const file = segmentFile(dir);
    const ls = lines(file);
    const rec = JSON.parse(ls[3]!) as Record<string, unknown>;
    edit(rec);
    ls[3] = JSON.stringify(rec);
    writeLines(file, ls);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.broken).toEqual({ file, line: 4, id: 4, reason: expect.stringMatching(/edited/) });
    expect(v.records).toBe(3);
  });

  test('an edit that also recomputes the hash is caught at the next record', async () => {
    const { dir } = await writeLog(6);
    const file = segmentFile(dir);
    const ls = lines(file);
    const rec = JSON.parse(ls[2]!) as AuditRecord;
    rec.user = 'mallory';
    const { hashRecord } = await import('../src/audit/record');
    rec.hash = hashRecord(rec);
    ls[2] = JSON.stringify(rec);
    writeLines(file, ls);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.broken).toMatchObject({ file, line: 4, id: 4 });
  });

  test('a deleted record is reported missing where the gap is', async () => {
    const { dir } = await writeLog(6);
    const file = segmentFile(dir);
    const ls = lines(file);
    ls.splice(2, 1); // record 3
    writeLines(file, ls);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.broken).toMatchObject({ file, line: 3, id: 4 });
    expect(v.broken!.reason).toMatch(/record 3 missing/);
  });

  test('a truncated tail still chains, but the reported head changes (operators compare heads)', async () => {
    const { dir, records } = await writeLog(6);
    const file = segmentFile(dir);
    writeLines(file, lines(file).slice(0, 5));
    const v = await verifyAudit(dir);
    // the chain itself is intact; the head an operator noted down no longer matches
    expect(v.ok).toBe(true);
    expect(v.head.id).toBe(5);
    expect(v.head.hash).not.toBe(records[5]!.hash);
  });

  test('a reordered pair is caught at the first of them', async () => {
    const { dir } = await writeLog(6);
    const file = segmentFile(dir);
    const ls = lines(file);
    [ls[2], ls[3]] = [ls[3]!, ls[2]!];
    writeLines(file, ls);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.broken).toMatchObject({ file, line: 3, id: 4 });
    // 4 arrives where 3 belongs: the verifier cannot yet tell a move from a deletion, but it stops here
    expect(v.broken!.reason).toMatch(/record 3 missing|out of order/);
  });

  test('an inserted forged record is caught', async () => {
    const { dir } = await writeLog(4);
    const file = segmentFile(dir);
    const ls = lines(file);
    const forged = { ...(JSON.parse(ls[1]!) as AuditRecord), user: 'mallory' };
    ls.splice(2, 0, JSON.stringify(forged));
    writeLines(file, ls);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.broken).toMatchObject({ file, line: 3 });
  });

  test('a line that is not JSON is named', async () => {
    const { dir } = await writeLog(4);
    const file = segmentFile(dir);
    const ls = lines(file);
    ls[1] = 'garbage';
    writeLines(file, ls);
    const v = await verifyAudit(dir);
    expect(v.broken).toMatchObject({ file, line: 2, id: null, reason: expect.stringMatching(/JSON/) });
  });
});

describe('audit records on disk', () => {
  test('each line is the canonical form that was hashed, plus the hash; it parses to the returned record', async () => {
    const { dir, records } = await writeLog(4);
    const { canonicalJson, sha256 } = await import('../src/core/hash');
    const { hashRecord } = await import('../src/audit/record');
    const ls = lines(segmentFile(dir));
    expect(ls).toHaveLength(4);
    for (const [i, line] of ls.entries()) {
      const { hash, ...body } = records[i]!;
      expect(line).toBe(`${canonicalJson(body).slice(0, -1)},"hash":"${hash}"}`);
      expect(sha256(canonicalJson(body))).toBe(hash);
      expect(JSON.parse(line)).toEqual(records[i]);
      expect(hashRecord(JSON.parse(line) as AuditRecord)).toBe(hash);
    }
  });

  test('a secret in any field, details included, is redacted before hashing and writing', async () => {
    const dir = join(tempDir(), 'audit');
    const log = await AuditLog.open(dir);
    const token = 'xoxb-123456789012-abcdefghijklmnop';
    const rec = await log.append(entry(1, { vm: token, details: { note: `pasted ${token}`, nested: [{ deep: token }] } }));
    await log.close();
    const text = readFileSync(segmentFile(dir), 'utf8');
    expect(text).not.toContain(token.slice(0, 20));
    expect(JSON.stringify(rec)).not.toContain(token.slice(0, 20));
    expect(rec.details).toEqual({ note: 'pasted [redacted]', nested: [{ deep: '[redacted]' }] });
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, records: 1 });
  });
});

describe('audit log recovery', () => {
  test('a torn last line (crash mid-write) is removed on reopen, logged, and the chain verifies', async () => {
    const { dir } = await writeLog(5);
    const file = segmentFile(dir);
    const half = JSON.stringify({ ...entry(6), id: 6, time: new Date().toISOString() }).slice(0, 60);
    appendFileSync(file, half);
    expect((await verifyAudit(dir)).ok).toBe(false);

    const log = await AuditLog.open(dir);
    expect(log.head.id).toBe(6);
    const next = await log.append(entry(7));
    await log.close();

    expect(readFileSync(file, 'utf8')).not.toContain(half);
    const recs = readAuditRecords(join(dir, '..'));
    const recover = recs.find((r) => r.operation === 'audit.recover');
    expect(recover).toMatchObject({ id: 6, kind: 'event', outcome: 'ok' });
    expect(recover!.details).toMatchObject({ file, bytes: Buffer.byteLength(half) });
    expect(next.id).toBe(7);
    const v = await verifyAudit(dir);
    expect(v).toMatchObject({ ok: true, records: 7 });
  });

  test('a complete last record that lost only its newline is kept', async () => {
    const { dir } = await writeLog(3);
    const file = segmentFile(dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n$/, ''));
    const log = await AuditLog.open(dir);
    await log.append(entry(4));
    await log.close();
    const v = await verifyAudit(dir);
    expect(v).toMatchObject({ ok: true, records: 4 });
    expect(readAuditRecords(join(dir, '..')).some((r) => r.operation === 'audit.recover')).toBe(false);
  });

  test('reopening continues the chain where it ended', async () => {
    const { dir, records } = await writeLog(3);
    const log = await AuditLog.open(dir);
    expect(log.head).toEqual({ id: 3, hash: records[2]!.hash });
    const r = await log.append(entry(4));
    await log.close();
    expect(r.prev).toBe(records[2]!.hash);
    expect((await verifyAudit(dir)).ok).toBe(true);
  });
});

describe('audit segments', () => {
  test('23 records in segments of 5, reopen, continue: verifies across every segment', async () => {
    const { dir } = await writeLog(23, { segmentRecords: 5 });
    const before = listSegments(dir).length;
    expect(before).toBeGreaterThanOrEqual(5);
    const log = await AuditLog.open(dir, { segmentRecords: 5 });
    for (let i = 24; i <= 30; i++) await log.append(entry(i));
    await log.close();
    expect(listSegments(dir).length).toBeGreaterThan(before);
    for (const s of listSegments(dir)) expect(lines(s.file).length).toBeLessThanOrEqual(5 + 1);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(true);
    const recs = readAuditRecords(join(dir, '..'));
    expect(recs.map((r) => r.id)).toEqual(recs.map((_, i) => i + 1));
    const payload = recs.filter((r) => r.kind !== 'segment');
    expect(payload.map((r) => r.correlationId)).toEqual(Array.from({ length: 30 }, (_, i) => `c-${i + 1}`));
    expect(v.records).toBe(recs.length);
  });

  test('queries read across segments and skip segment headers', async () => {
    const { dir } = await writeLog(12, { segmentRecords: 5 });
    const all = await queryAudit(dir, {});
    expect(all).toHaveLength(12);
    expect(await queryAudit(dir, { vm: 'web01' })).toHaveLength(4);
    expect((await queryAudit(dir, { limit: 3 })).map((r) => r.correlationId)).toEqual(['c-10', 'c-11', 'c-12']);
  });

  test('an open intent survives across a segment boundary and a reopen', async () => {
    const dir = join(tempDir(), 'audit');
    let log = await AuditLog.open(dir, { segmentRecords: 5 });
    await log.append(entry(1));
    const intent = await log.append(entry(2, { kind: 'intent', operation: 'Start Virtual Machine', outcome: null }));
    const closedIntent = await log.append(entry(3, { kind: 'intent', operation: 'Stop Virtual Machine', outcome: null }));
    await log.append(entry(4, { kind: 'result', intentId: closedIntent.id }));
    for (let i = 5; i <= 17; i++) await log.append(entry(i));
    expect(listSegments(dir).length).toBeGreaterThanOrEqual(3);
    await log.close();

    log = await AuditLog.open(dir, { segmentRecords: 5 });
    expect(log.openIntents().map((r) => r.id)).toEqual([intent.id]);
    await log.append(entry(18, { kind: 'result', intentId: intent.id }));
    for (let i = 19; i <= 25; i++) await log.append(entry(i));
    await log.close();

    log = await AuditLog.open(dir, { segmentRecords: 5 });
    expect(log.openIntents()).toEqual([]);
    await log.close();
    expect((await verifyAudit(dir)).ok).toBe(true);
  });
});

describe('audit through the pipeline', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await openTestApp();
  });
  afterEach(() => app.cleanup());

  test('200 concurrent requests leave an intact chain with every record present', async () => {
    const users = ['alice', 'bob', 'carol', 'dave', 'mallory', 'local:eve'];
    const texts = ['start web01', 'stop web02', 'start db02', 'stop db01', 'status web01', 'list', 'whoami', 'start dc01', 'start nosuch', 'start web*'];
    const jobs = Array.from({ length: 200 }, (_, i) => ({ user: users[i % users.length]!, text: texts[(i * 7 + Math.floor(i / 6)) % texts.length]! }));
    const mayAct = (u: string, t: string) =>
      /^(start|stop) /.test(t) && ((u === 'alice' && /web0[12]$/.test(t)) || (u === 'bob' && /db0[12]$/.test(t)));
    const expectedIntents = jobs.filter((j) => mayAct(j.user, j.text)).length;
    expect(expectedIntents).toBeGreaterThan(10);

    const replies = await Promise.all(jobs.map((j) => app.say(j.user, j.text)));

    const recs = readAuditRecords(app.config.VMBOT_DATA_DIR);
    const v = await verifyAudit(join(app.config.VMBOT_DATA_DIR, 'audit'));
    expect(v.ok).toBe(true);
    expect(v.records).toBe(recs.length);
    expect(recs.length).toBe(200 + expectedIntents);
    const byId = new Map(recs.map((r) => [r.id, r]));
    for (const [i, r] of replies.entries()) {
      expect(r.auditId).toBeDefined();
      const rec = byId.get(r.auditId!);
      expect(rec).toBeDefined();
      expect(rec!.command).toBe(jobs[i]!.text);
    }
    const intents = recs.filter((r) => r.kind === 'intent');
    expect(intents).toHaveLength(expectedIntents);
    for (const intent of intents) {
      const results = recs.filter((r) => r.intentId === intent.id);
      expect(results).toHaveLength(1);
      expect(results[0]!.correlationId).toBe(intent.correlationId);
      expect(results[0]!.id).toBeGreaterThan(intent.id);
    }
    expect(app.audit.openIntents()).toEqual([]);
  });

  test.each([
    ['a Slack bot token as a VM name', 'start xoxb-123456789012-abcdefghijklmnop'],
    ['a token after a command', 'status web01 xoxb-123456789012-abcdefghijklmnop'],
    ['a token in an option', 'request web07 --template web-small --reason "xoxb-123456789012-abcdefghijklmnop"'],
    ['a bearer token', 'start web01 "Bearer abcdefghijklmnopqrstuvwxyz012345"'],
  ])('a secret typed into a command (%s) never reaches the audit log', async (_what, text) => {
    const secret = /xoxb-\d+-\w+|Bearer abcdefghijklmnopqrstuvwxyz012345/.exec(text)![0];
    await app.say('alice', text);
    const log = readAuditText(app.config.VMBOT_DATA_DIR);
    expect(log).not.toContain(secret);
    expect(log).not.toContain(secret.slice(0, 20));
    expect(log).toContain('[redacted]');
    expect((await verifyAudit(join(app.config.VMBOT_DATA_DIR, 'audit'))).ok).toBe(true);
  });

  test('CSV export neutralises spreadsheet formulas typed into chat', async () => {
    await app.say('mallory', '=HYPERLINK("http://x")');
    const csv = toCsv(await queryAudit(join(app.config.VMBOT_DATA_DIR, 'audit'), { user: 'mallory' }));
    expect(csv).not.toMatch(/(^|,)"=HYPERLINK/m);
    expect(csv).toContain(`"'=HYPERLINK`);
  });

  test('audit segment files are not readable by other users', async () => {
    await app.say('alice', 'whoami');
    const dir = join(app.config.VMBOT_DATA_DIR, 'audit');
    const { statSync } = await import('node:fs');
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o077).toBe(0);
  });
});
