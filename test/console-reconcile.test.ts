import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApp } from '../src/app';
import type { Backend } from '../src/hyperv/backend';
import { testConfig } from './support/app';
import { readAuditRecords } from './support/audit';
import { manualClock } from './support/policy';

// Issue 7 item 8: state and Hyper-V agree. A console grant Hyper-V holds for a policy account
// that state does not hold is revoked and audited (at start-up and on each revoker pass); a
// hand-edited expiresAt in state.json does not extend access (the audit log's grant record wins).

const say = (app: Awaited<ReturnType<typeof openApp>>, user: string, text: string) =>
  app.pipeline.handle({ principal: `local:${user}`, text, channel: { kind: 'local', id: 't' } });

async function access(backend: Backend, name: string): Promise<string[]> {
  return backend.consoleAccess((await backend.get(name))!);
}

describe('console grants: state and Hyper-V agree', () => {
  test('state.json moved aside: start-up revokes the grant left on Hyper-V, and audits it', async () => {
    const config = testConfig();
    const a = await openApp(config);
    expect((await say(a, 'alice', 'console web01')).status).toBe('done');
    expect(await access(a.backend, 'web01')).toEqual(['CONTOSO\\alice']);
    await a.close();
    renameSync(join(config.VMBOT_DATA_DIR, 'state.json'), join(config.VMBOT_DATA_DIR, 'state.json.moved'));

    const b = await openApp(config);
    try {
      expect(await access(b.backend, 'web01')).toEqual([]);
      expect(b.startup.orphans).toBe(1);
      const recs = readAuditRecords(config.VMBOT_DATA_DIR).filter((r) => r.operation === 'console.reconcile');
      expect(recs.map((r) => [r.kind, r.vm, r.user, r.outcome, (r.details as { account: string }).account])).toEqual([
        ['intent', 'web01', 'alice', null, 'CONTOSO\\alice'],
        ['result', 'web01', 'alice', 'ok', 'CONTOSO\\alice'],
      ]);
    } finally {
      await b.close();
    }
  });

  test('a revoker pass revokes a grant for a policy account that state does not hold; other accounts are left alone', async () => {
    const config = testConfig();
    const app = await openApp(config);
    try {
      expect((await say(app, 'alice', 'console web01')).status).toBe('done');
      const db01 = (await app.backend.get('db01'))!;
      await app.backend.grantConsole(db01, 'contoso\\BOB'); // behind vmbot's back, any casing
      await app.backend.grantConsole(db01, 'CONTOSO\\hv-operator'); // not a policy account
      await app.tick();
      expect(await access(app.backend, 'db01')).toEqual(['CONTOSO\\hv-operator']);
      expect(await access(app.backend, 'web01')).toEqual(['CONTOSO\\alice']); // state holds this one
      const rec = readAuditRecords(config.VMBOT_DATA_DIR).filter((r) => r.operation === 'console.reconcile' && r.kind === 'result');
      expect(rec).toEqual([expect.objectContaining({ vm: 'db01', user: 'bob', outcome: 'ok' })]);
    } finally {
      await app.close();
    }
  });

  test('an expiresAt pushed out by hand in state.json does not extend access: the audited expiry wins', async () => {
    const clock = manualClock();
    const config = testConfig();
    const a = await openApp(config, { clock });
    const r = await say(a, 'alice', 'console web01 --minutes 30');
    const id = (r.data as { grantId: string }).grantId;
    await a.close();
    const file = join(config.VMBOT_DATA_DIR, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { consoleGrants: Record<string, { expiresAt: string }> };
    state.consoleGrants[id]!.expiresAt = '2027-12-31T00:00:00.000Z';
    writeFileSync(file, JSON.stringify(state));

    clock.minutes(31); // past the audited expiry, long before the edited one
    const b = await openApp(config, { clock });
    try {
      expect(await access(b.backend, 'web01')).toEqual([]);
      expect(b.store.data.consoleGrants[id]).toMatchObject({ status: 'expired', expiresAt: '2026-11-23T09:30:00.000Z' });
      const fix = readAuditRecords(config.VMBOT_DATA_DIR).find((x) => x.operation === 'console.expiry-corrected');
      expect(fix).toMatchObject({ correlationId: id, user: 'alice', details: expect.objectContaining({ stateExpiresAt: '2027-12-31T00:00:00.000Z', auditedExpiresAt: '2026-11-23T09:30:00.000Z' }) });
    } finally {
      await b.close();
    }
  });

  test('an active grant in state.json with no grant record in the audit log is ended at start-up', async () => {
    const config = testConfig();
    const a = await openApp(config);
    const web01 = (await a.backend.get('web01'))!;
    await a.close();
    const file = join(config.VMBOT_DATA_DIR, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { consoleGrants: Record<string, unknown> };
    state.consoleGrants['g-forged1'] = {
      id: 'g-forged1', user: 'alice', account: 'CONTOSO\\alice', vm: { id: web01.id, name: 'web01', host: 'hv01' },
      grantedAt: new Date().toISOString(), expiresAt: '2099-01-01T00:00:00.000Z', status: 'active',
    };
    writeFileSync(file, JSON.stringify(state));
    const b = await openApp(config);
    try {
      expect(b.store.data.consoleGrants['g-forged1']!.status).not.toBe('active');
      expect(readAuditRecords(config.VMBOT_DATA_DIR).some((x) => x.operation === 'console.expiry-corrected' && x.correlationId === 'g-forged1')).toBe(true);
    } finally {
      await b.close();
    }
  });
});
