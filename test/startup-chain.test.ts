import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSegments } from '../src/audit/segments';
import { verifyAudit } from '../src/audit/verify';
import { openApp } from '../src/app';
import { testConfig } from './support/app';
import { readAuditRecords } from './support/audit';
import { vmbot } from './support/cli';
import { EXAMPLE_POLICY } from './support/app';

// Issue 7 item 1 (start-up): vmbot refuses to serve on a chain that does not verify from the
// last segment's start, naming the broken record; an explicit flag naming that break overrides,
// once, and the override is audited.

/** A data dir whose audit log has a few records, then record #2 edited by hand. */
async function tamperedDataDir(): Promise<{ dir: string; token: string }> {
  const config = testConfig();
  const app = await openApp(config);
  await app.pipeline.handle({ principal: 'local:alice', text: 'start web01', channel: { kind: 'local', id: 't' } });
  await app.pipeline.handle({ principal: 'local:alice', text: 'whoami', channel: { kind: 'local', id: 't' } });
  await app.close();
  const seg = listSegments(join(config.VMBOT_DATA_DIR, 'audit')).at(-1)!.file;
  const lines = readFileSync(seg, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('"web01"', '"web02"');
  writeFileSync(seg, lines.join('\n'));
  return { dir: config.VMBOT_DATA_DIR, token: 'audit-00000001.jsonl:2' };
}

const refusal = (p: Promise<unknown>) => p.then(() => { throw new Error('vmbot served on a broken chain'); }, (e: Error) => e);

describe('start-up on an audit chain that does not verify', () => {
  test('is refused, naming the broken record and the exact override', async () => {
    const { dir, token } = await tamperedDataDir();
    const e = await refusal(openApp(testConfig({ VMBOT_DATA_DIR: dir })));
    expect(e.message).toMatch(/The audit log does not verify: .*audit-00000001\.jsonl line 2 \(record #2\)/);
    expect(e.message).toContain(`vmbot serve --accept-broken-audit ${token}`);
    // An override that names another place is no override.
    const wrong = await refusal(openApp(testConfig({ VMBOT_DATA_DIR: dir }), { acceptBrokenAudit: 'audit-00000001.jsonl:3' }));
    expect(wrong.message).toMatch(/does not name this break/);
  });

  test('the override serves once, is audited (who, where, why), and the next start needs none; audit verify still shows the break', async () => {
    const { dir, token } = await tamperedDataDir();
    const app = await openApp(testConfig({ VMBOT_DATA_DIR: dir }), { acceptBrokenAudit: token });
    const r = await app.pipeline.handle({ principal: 'local:alice', text: 'whoami', channel: { kind: 'local', id: 't' } });
    expect(r.status).toBe('done');
    await app.close();

    const accepted = readAuditRecords(dir).filter((x) => x.operation === 'audit.accept-broken');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ kind: 'event', outcome: 'ok', details: expect.objectContaining({ accepted: token, operator: expect.any(String), broken: expect.objectContaining({ line: 2, id: 2 }) }) });
    expect(accepted[0]!.reason).toContain('record #2');

    const again = await openApp(testConfig({ VMBOT_DATA_DIR: dir }));
    await again.close();
    const v = await verifyAudit(join(dir, 'audit'));
    expect(v.ok).toBe(false);
    expect(v.broken).toMatchObject({ line: 2, id: 2 });
  });

  test('from the command line: refused with exit 1 and one message; `vmbot serve --accept-broken-audit` serves', async () => {
    const { dir, token } = await tamperedDataDir();
    const env = { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_HTTP_PORT: '0' };
    const refused = vmbot(['serve'], env, '/quit\n');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`vmbot serve --accept-broken-audit ${token}`);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const served = vmbot(['serve', '--accept-broken-audit', token], env, '/quit\n');
    expect(served.code).toBe(0);
    expect(readAuditRecords(dir).some((x) => x.operation === 'audit.accept-broken')).toBe(true);
  });
});
