/**
 * Issue 9, signed checkpoints: with only the public key(s), verification proves every
 * checkpointed record is present and unchanged, and names a cut tail, a deleted or renamed last
 * segment and a rewritten-and-re-hashed chain; a checkpoint by an unknown key is refused.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { verifyWithCheckpoints } from '../src/audit/assure';
import { readCheckpoints, signCheckpoint } from '../src/audit/checkpoint';
import { generateAuditKeys, keyIdOf, loadPublicKeys } from '../src/audit/keys';
import { listSegments } from '../src/audit/segments';
import { canonicalJson, sha256 } from '../src/core/hash';
import { openTestApp, tempDir, type TestApp } from './support/app';
import { CLI, envWithoutVmbot, vmbot } from './support/cli';

interface Keys { keyFile: string; pubFile: string; keyId: string }
const newKeys = (): Keys => generateAuditKeys(tempDir('vmbot-keys-'));

/** A bot with a signing key, run for `records` extra records, then shut down (final checkpoint). */
async function runBot(dataDir: string, keys: Keys, records: number, extra: Record<string, string> = {}): Promise<void> {
  const app = await openTestApp({
    VMBOT_DATA_DIR: dataDir, VMBOT_AUDIT_KEY_FILE: keys.keyFile, VMBOT_AUDIT_CHECKPOINT_RECORDS: '10', VMBOT_AUDIT_SEGMENT_RECORDS: '100', ...extra,
  });
  await writeRecords(app, records);
  await app.close();
}

async function writeRecords(app: TestApp, n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    await app.audit.append({ kind: 'decision', correlationId: `c-${i}`, principal: 'local:alice', user: 'alice', command: 'status web01', operation: 'status', vm: 'web01', decision: 'allow', outcome: 'ok' });
}

const auditDir = (dataDir: string) => join(dataDir, 'audit');
const cpFile = (dataDir: string) => join(dataDir, 'audit-checkpoints.jsonl');
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const lastSegment = (dataDir: string) => listSegments(auditDir(dataDir)).at(-1)!.file;
const verify = (dataDir: string, pubs: string[], opts: { resume?: boolean; sources?: string[] } = {}) =>
  verifyWithCheckpoints(auditDir(dataDir), { keys: loadPublicKeys(pubs), sources: opts.sources ?? [cpFile(dataDir)], resume: opts.resume });

/** What an attacker with write access does: change record `id`, then re-chain and re-hash everything after it. */
function rewriteAndRehash(dataDir: string, id: number, edit: (r: Record<string, unknown>) => void): void {
  let prev: string | null = null;
  for (const seg of listSegments(auditDir(dataDir))) {
    const out = lines(seg.file).map((line) => {
      const r = JSON.parse(line) as Record<string, unknown>;
      if ((r.id as number) < id) {
        prev = r.hash as string;
        return line;
      }
      if (r.id === id) edit(r);
      r.prev = prev;
      const { hash: _h, ...body } = r;
      const canonical = canonicalJson(body);
      prev = sha256(canonical);
      return `${canonical.slice(0, -1)},"hash":"${prev}"}`;
    });
    writeFileSync(seg.file, out.join('\n') + '\n');
  }
}

describe('audit keygen', () => {
  test('writes the pair, private key mode 600, and never overwrites', () => {
    const out = tempDir('vmbot-keygen-');
    const r = vmbot(['audit', 'keygen', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vmbot-audit\.key/);
    expect(r.stdout).toMatch(/Key id: [0-9a-f]{16}/);
    expect(statSync(join(out, 'vmbot-audit.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'vmbot-audit.pub'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    const again = vmbot(['audit', 'keygen', '--out', out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
  });

  test('a key inside the data directory is refused at start-up', async () => {
    const dataDir = tempDir();
    const keys = generateAuditKeys(dataDir);
    await expect(openTestApp({ VMBOT_DATA_DIR: dataDir, VMBOT_AUDIT_KEY_FILE: keys.keyFile })).rejects.toThrow(/inside the data directory/);
  });
});

describe('signed checkpoints', () => {
  test('every N records and at shutdown, to the file and into the chain; verify --pubkey passes', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 25);
    const cps = readCheckpoints(cpFile(dataDir)).found.map((f) => f.cp);
    // every 10 records (the checkpoint record itself counts), plus one at shutdown
    expect(cps.length).toBeGreaterThanOrEqual(3);
    expect(cps.every((c) => c.keyId === keys.keyId)).toBe(true);
    const last = cps.at(-1)!;
    const head = JSON.parse(lines(lastSegment(dataDir)).at(-2)!) as { id: number; hash: string };
    expect(last).toMatchObject({ records: head.id, head: head.hash });

    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(true);
    expect(v.checkpoints.verified).toBe(cps.length);
    expect(v.checkpoints.after).toBe(0);

    const cli = vmbot(['audit', 'verify', '--pubkey', keys.pubFile], { VMBOT_DATA_DIR: dataDir });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`Every record up to #${last.records} is present and unchanged`));
    expect(cli.stdout).toMatch(/0 record\(s\) after it/);
    // the private key never lands in the data directory (state, audit, checkpoints)
    const secret = readFileSync(keys.keyFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const files = (readdirSync(dataDir, { recursive: true }) as string[]).map((f) => join(dataDir, f)).filter((f) => statSync(f).isFile());
    for (const f of files) expect(readFileSync(f, 'utf8').replace(/\s/g, '')).not.toContain(secret);
  });

  test('every M seconds while records arrive (VMBOT_AUDIT_CHECKPOINT_SECONDS), none while idle', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    const app = await openTestApp({ VMBOT_DATA_DIR: dataDir, VMBOT_AUDIT_KEY_FILE: keys.keyFile, VMBOT_AUDIT_CHECKPOINT_RECORDS: '1000', VMBOT_AUDIT_CHECKPOINT_SECONDS: '1' });
    try {
      await writeRecords(app, 3);
      const head = app.audit.head.id;
      const signed = () => (existsSync(cpFile(dataDir)) ? readCheckpoints(cpFile(dataDir)).found.map((f) => f.cp) : []);
      const end = Date.now() + 10_000;
      while (!signed().length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      // far fewer than 1000 records, still open: the timer signed the head
      expect(signed()).toEqual([expect.objectContaining({ records: head, keyId: keys.keyId })]);
      await new Promise((r) => setTimeout(r, 2_200));
      expect(signed()).toHaveLength(1); // nothing new, nothing signed
    } finally {
      await app.close();
    }
    expect((await verify(dataDir, [keys.pubFile])).ok).toBe(true);
  });

  test('records written after the last checkpoint are counted', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 5);
    const app = await openTestApp({ VMBOT_DATA_DIR: dataDir }); // no key: nothing signs these
    await writeRecords(app, 4);
    await app.close();
    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(true);
    expect(v.checkpoints.after).toBe(4);
  });

  test('a cut tail is named: which records are missing, against which checkpoint', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 25);
    const seg = lastSegment(dataDir);
    const ls = lines(seg);
    const lastId = (JSON.parse(ls.at(-1)!) as { id: number }).id;
    writeFileSync(seg, ls.slice(0, -4).join('\n') + '\n');
    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(false);
    expect(v.missing!.reason).toMatch(new RegExp(`records #${lastId - 3}–#${lastId - 1} are missing`));
    expect(v.missing!.reason).toMatch(/tail of audit-00000001\.jsonl was cut/);
    // without a key the shortened chain looks whole: that is what checkpoints are for
    expect((await verifyWithCheckpoints(auditDir(dataDir), { keys: loadPublicKeys([keys.pubFile]), sources: [] })).ok).toBe(true);

    const cli = vmbot(['audit', 'verify', '--pubkey', keys.pubFile], { VMBOT_DATA_DIR: dataDir });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/BROKEN: records #\d+–#\d+ are missing/);
  });

  test.each([
    ['deleted', (file: string) => unlinkSync(file), /segment audit-00000002\.jsonl, which held record #\d+ when it was signed, is missing: deleted or renamed/],
    ['renamed aside', (file: string) => renameSync(file, `${file}.old`), /is missing: deleted or renamed \(the directory holds audit-00000002\.jsonl\.old: renamed\?\)/],
  ])('a %s last segment is named', async (_what, doIt, expected) => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 130);
    expect(listSegments(auditDir(dataDir))).toHaveLength(2);
    doIt(lastSegment(dataDir));
    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(false);
    expect(v.missing!.reason).toMatch(expected);
  });

  test('a last segment renamed to a later segment number is named', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 130);
    const seg = lastSegment(dataDir);
    renameSync(seg, join(auditDir(dataDir), 'audit-00000007.jsonl'));
    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(false);
    expect(v.broken!.reason).toMatch(/audit-00000007\.jsonl follows audit-00000001\.jsonl: segment audit-00000002\.jsonl to audit-00000006\.jsonl missing/);
  });

  test('a middle record rewritten and the whole chain re-hashed is named, between the checkpoints around it', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 40);
    // without checkpoints the forgery verifies: the attacker re-hashed everything
    rewriteAndRehash(dataDir, 15, (r) => (r.user = 'mallory'));
    expect((await verifyWithCheckpoints(auditDir(dataDir), { keys: loadPublicKeys([keys.pubFile]), sources: [] })).broken).toBeDefined(); // in-log checkpoints catch it too
    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(false);
    const m = /record #(\d+) is not the one the checkpoint of .* signed: the chain was rewritten and re-hashed at or before #(\d+), after #(\d+)/.exec(v.broken!.reason);
    expect(m).not.toBeNull();
    const [, at, , after] = m!.map(Number);
    expect(after!).toBeLessThan(15);
    expect(at!).toBeGreaterThanOrEqual(15);
    expect(at! - after!).toBeLessThanOrEqual(11);
  });

  test('a checkpoint signed by an unknown key is refused, and fails verification', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 12);
    const head = JSON.parse(lines(lastSegment(dataDir)).at(-1)!) as { id: number; hash: string };
    const { privateKey } = generateKeyPairSync('ed25519');
    const foreign = signCheckpoint({ records: head.id, head: head.hash, segment: 1, time: new Date().toISOString() }, privateKey, keyIdOf(privateKey));
    appendFileSync(cpFile(dataDir), JSON.stringify(foreign) + '\n');
    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(false);
    expect(v.checkpoints.refused).toEqual([expect.objectContaining({ reason: expect.stringMatching(new RegExp(`signed by key ${keyIdOf(privateKey)}, which is not among the public keys given: refused`)) })]);
    const cli = vmbot(['audit', 'verify', '--pubkey', keys.pubFile], { VMBOT_DATA_DIR: dataDir });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/REFUSED: .*not among the public keys given/);
  });

  test('a checkpoint whose signed head was altered is refused', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 12);
    const ls = lines(cpFile(dataDir));
    const cp = JSON.parse(ls.at(-1)!) as { records: number };
    ls.push(JSON.stringify({ ...cp, records: cp.records + 5 }));
    writeFileSync(cpFile(dataDir), ls.join('\n') + '\n');
    const v = await verify(dataDir, [keys.pubFile]);
    expect(v.ok).toBe(false);
    expect(v.checkpoints.refused[0]!.reason).toMatch(/signature does not verify/);
  });

  test('key rotation: checkpoints by the old and the new key verify with both public keys', async () => {
    const dataDir = tempDir();
    const a = newKeys();
    const b = newKeys();
    await runBot(dataDir, a, 15);
    await runBot(dataDir, b, 15);
    const ids = new Set(readCheckpoints(cpFile(dataDir)).found.map((f) => f.cp.keyId));
    expect(ids).toEqual(new Set([a.keyId, b.keyId]));
    const both = await verify(dataDir, [a.pubFile, b.pubFile]);
    expect(both.ok).toBe(true);
    expect(both.checkpoints.keyIds.sort()).toEqual([a.keyId, b.keyId].sort());
    // only the new key: the old key's checkpoints cannot be checked, so they are refused
    const onlyB = await verify(dataDir, [b.pubFile]);
    expect(onlyB.ok).toBe(false);
    expect(onlyB.checkpoints.refused.length).toBeGreaterThan(0);
    // a directory of public keys works too
    const keyDir = join(a.pubFile, '..');
    writeFileSync(join(keyDir, 'next.pub'), readFileSync(b.pubFile));
    expect((await verify(dataDir, [keyDir])).ok).toBe(true);
  });

  test('--resume verifies from the newest checkpoint instead of record 1', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 130);
    const app = await openTestApp({ VMBOT_DATA_DIR: dataDir, VMBOT_AUDIT_SEGMENT_RECORDS: '100' });
    await writeRecords(app, 3);
    await app.close();
    const last = readCheckpoints(cpFile(dataDir)).found.at(-1)!.cp;
    const v = await verify(dataDir, [keys.pubFile], { resume: true });
    expect(v.ok).toBe(true);
    expect(v.from).toBe(last.records);
    expect(v.records).toBe(v.head.id - last.records);
    expect(v.segments.map((f) => basename(f))).toEqual([`audit-0000000${last.segment}.jsonl`]);
    const cli = vmbot(['audit', 'verify', '--pubkey', keys.pubFile, '--resume'], { VMBOT_DATA_DIR: dataDir });
    expect(cli.stdout).toMatch(new RegExp(`resumed from the checkpoint at #${last.records}`));
    // the checkpointed record itself rewritten (and everything after re-hashed): found when resuming
    rewriteAndRehash(dataDir, last.records, (r) => (r.reason = 'forged'));
    const forged = await verify(dataDir, [keys.pubFile], { resume: true });
    expect(forged.ok).toBe(false);
    expect(forged.broken!.reason).toMatch(new RegExp(`record #${last.records} has changed since it was checkpointed`));
  });

  test('verify shows its progress on a terminal, and only there', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 30);
    // script(1) gives the command a pseudo-terminal; its output is what the operator sees
    const tty = spawnSync('script', ['-qefc', `"${process.execPath}" "${CLI}" audit verify --pubkey "${keys.pubFile}"`, '/dev/null'], { env: { ...envWithoutVmbot(), VMBOT_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 30_000 });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/\rverifying… \d+% \(\d+ of \d+ MB, \d+ MB\/s\)/);
    expect(tty.stdout).toMatch(/OK: \d+ records/);
    const piped = vmbot(['audit', 'verify', '--pubkey', keys.pubFile], { VMBOT_DATA_DIR: dataDir });
    expect(piped.code).toBe(0);
    expect(piped.stdout + piped.stderr).not.toMatch(/verifying…/);
  });

  test('--checkpoints takes copies kept elsewhere (a directory, a SIEM export with other lines)', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 12);
    const elsewhere = tempDir('vmbot-siem-');
    const cps = lines(cpFile(dataDir));
    writeFileSync(join(elsewhere, 'export.log'), ['<110>1 2026-12-01T00:00:00Z host vmbot 1 audit - something else', ...cps.map((c) => `<110>1 2026-12-01T00:00:00Z host vmbot 1 checkpoint - ${c}`)].join('\n') + '\n');
    unlinkSync(cpFile(dataDir));
    const v = await verify(dataDir, [keys.pubFile], { sources: [elsewhere] });
    expect(v.ok).toBe(true);
    expect(v.checkpoints.verified).toBe(cps.length);
    expect(v.checkpoints.ignoredLines).toBe(1);
    expect(existsSync(cpFile(dataDir))).toBe(false);
  });
});

describe('start-up verification', () => {
  test('a cut tail since the last checkpoint stops start-up, naming the missing records', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 25);
    const seg = lastSegment(dataDir);
    writeFileSync(seg, lines(seg).slice(0, -3).join('\n') + '\n');
    await expect(openTestApp({ VMBOT_DATA_DIR: dataDir, VMBOT_AUDIT_KEY_FILE: keys.keyFile })).rejects.toThrow(/audit log does not verify: records #\d+–#\d+ are missing/);
  });

  test('a rewrite in the last segment stops start-up, naming the record', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 25);
    const seg = lastSegment(dataDir);
    const ls = lines(seg);
    ls[5] = ls[5]!.replace('"user":"alice"', '"user":"mallory"');
    writeFileSync(seg, ls.join('\n') + '\n');
    await expect(openTestApp({ VMBOT_DATA_DIR: dataDir })).rejects.toThrow(/line 6 \(record #6\): its bytes do not match its hash/);
  });

  test('a deleted last segment stops start-up when a checkpoint covered it', async () => {
    const dataDir = tempDir();
    const keys = newKeys();
    await runBot(dataDir, keys, 130);
    unlinkSync(lastSegment(dataDir));
    await expect(openTestApp({ VMBOT_DATA_DIR: dataDir, VMBOT_AUDIT_KEY_FILE: keys.keyFile, VMBOT_AUDIT_SEGMENT_RECORDS: '100' })).rejects.toThrow(/segment audit-00000002\.jsonl, which held record #\d+ when it was signed, is missing: deleted or renamed/);
  });
});
