/**
 * Issue 7, item 2: a record cannot be extended. Verification hashes the bytes on disk, so any
 * added, removed or changed byte in a record is named; `audit query` never shows a forged field.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/log';
import { queryAudit } from '../src/audit/query';
import type { AuditEntryInput } from '../src/audit/record';
import { listSegments } from '../src/audit/segments';
import { verifyAudit } from '../src/audit/verify';
import { tempDir } from './support/app';
import { vmbot } from './support/cli';

const entry = (i: number): AuditEntryInput => ({
  kind: 'decision', correlationId: `c-${i}`, principal: 'local:alice', user: 'alice', command: `status web0${i % 3}`,
  operation: 'status', vm: `web0${i % 3}`, decision: 'allow', outcome: 'ok',
});

async function writeLog(n: number): Promise<{ dataDir: string; dir: string; file: string }> {
  const dataDir = tempDir();
  const dir = join(dataDir, 'audit');
  const log = await AuditLog.open(dir);
  for (let i = 1; i <= n; i++) await log.append(entry(i));
  await log.close();
  return { dataDir, dir, file: listSegments(dir)[0]!.file };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.join('\n') + '\n');
/** Apply a textual edit to line `i` (0-based) of the segment. */
function editLine(file: string, i: number, edit: (line: string) => string): void {
  const ls = lines(file);
  ls[i] = edit(ls[i]!);
  writeLines(file, ls);
}

describe('verification hashes the bytes on disk', () => {
  test.each([
    ['an added field (an approval that never happened)', (l: string) => l.replace(/}$/, ',"approvedBy":"carol"}')],
    ['an added field in front', (l: string) => l.replace(/^{/, '{"approvedBy":"carol",')],
    ['a removed null field', (l: string) => l.replace('"error":null,', '')],
    ['whitespace between fields', (l: string) => l.replace('","', '", "')],
    ['the same fields in another order', (l: string) => { const o = JSON.parse(l) as Record<string, unknown>; const { user, ...rest } = o; return JSON.stringify({ user, ...rest }); }],
    ['an escaped character spelled differently', (l: string) => l.replace('"alice"', '"\\u0061lice"')],
  ])('%s is named with file, line and record id', async (_what, edit) => {
    const { dir, file } = await writeLog(6);
    editLine(file, 3, edit);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.broken).toMatchObject({ file, line: 4, id: 4 });
    expect(v.broken!.reason).toMatch(/bytes|field/);
    expect(v.records).toBe(3);
  });

  test('an added field, with the hash recomputed the old way, is still named (unknown field)', async () => {
    const { dir, file } = await writeLog(6);
    const { canonicalJson, sha256 } = await import('../src/core/hash');
    editLine(file, 3, (l) => {
      const { hash: _h, ...body } = JSON.parse(l) as Record<string, unknown>;
      const forged = { ...body, approvedBy: 'carol' };
      return `${canonicalJson(forged).slice(0, -1)},"hash":"${sha256(canonicalJson(forged))}"}`;
    });
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.broken).toMatchObject({ file, line: 4, id: 4, reason: expect.stringMatching(/approvedBy/) });
  });

  test('an untouched log still verifies', async () => {
    const { dir } = await writeLog(6);
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, records: 6 });
  });
});

describe('audit query never shows a forged field', () => {
  test('queryAudit leaves out the extended record and says which one', async () => {
    const { dir, file } = await writeLog(6);
    editLine(file, 3, (l) => l.replace(/}$/, ',"approvedBy":"carol"}'));
    const r = await queryAudit(dir, {});
    expect(JSON.stringify(r)).not.toContain('approvedBy');
    expect(r.map((x) => x.id)).toEqual([1, 2, 3, 5, 6]);
  });

  test('`vmbot audit query --format json` shows no forged field and warns on stderr', async () => {
    const { dataDir, file } = await writeLog(6);
    editLine(file, 3, (l) => l.replace(/}$/, ',"approvedBy":"carol"}'));
    const r = vmbot(['audit', 'query', '--format', 'json'], { VMBOT_DATA_DIR: dataDir });
    expect(r.stdout).not.toContain('approvedBy');
    expect(r.stderr).toMatch(/#4.*(not shown|left out)/);
    expect(r.stderr).toMatch(/audit verify/);
  });
});
