import { join } from 'node:path';
import { queryAudit } from '../src/audit/query';
import type { AuditRecord } from '../src/audit/record';
import { verifyAudit } from '../src/audit/verify';
import { VmbotError } from '../src/core/errors';
import { appsClosedAfterEach, collectNotices, type TestApp } from './support/app';
import { readAuditRecords } from './support/audit';
import { manualClock, policyVariant } from './support/policy';

const open = appsClosedAfterEach();
import { SimulatedHyperV } from '../src/hyperv/simulator';

const ALICE = 'CONTOSO\\alice';
const grantId = (r: { data?: Record<string, unknown> }) => r.data?.grantId as string;

/** Who Hyper-V (the simulator) lets connect to a VM right now. */
async function access(app: TestApp, name: string): Promise<string[]> {
  const vm = await app.backend.get(name);
  if (!vm) throw new Error(`no VM ${name}`);
  return app.backend.consoleAccess(vm);
}

/** The audit trail of one grant, as `kind:operation:user:outcome`. */
async function trail(app: TestApp, id: string): Promise<string[]> {
  return (await records(app, id)).map((x) => `${x.kind}:${x.operation}:${x.user ?? x.principal}:${x.outcome ?? '-'}`);
}
const records = (app: TestApp, id: string): Promise<AuditRecord[]> => queryAudit(join(app.config.VMBOT_DATA_DIR, 'audit'), { correlationId: id });

const GRANT_OP = 'Allow Input to Virtual Machine + Allow Output from Virtual Machine';


describe('console access', () => {
  test('a grant uses the policy default, lands on the VM for the Windows account, says how to connect and is audited under the grant id', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    const r = await app.say('alice', 'console web01');
    expect(r.status).toBe('done');
    expect(grantId(r)).toMatch(/^g-/);
    expect(r.text).toContain(ALICE);
    expect(r.text).toContain('30 min'); // settings.console.defaultMinutes
    expect(r.text).toContain('until 2026-11-23 09:30 UTC');
    expect(r.text).toContain('vmconnect.exe hv01 web01');
    expect(r.fields).toEqual(expect.arrayContaining([{ label: 'Connect', value: 'vmconnect.exe hv01 web01' }]));

    expect(await access(app, 'web01')).toEqual([ALICE]);
    expect(await access(app, 'web02')).toEqual([]); // that one VM only
    // The simulator models who may connect until when.
    const sim = app.backend as SimulatedHyperV;
    expect(await sim.consoleGrants((await sim.get('web01'))!)).toEqual([{ account: ALICE, until: '2026-11-23T09:30:00.000Z' }]);
    expect(app.store.data.consoleGrants[grantId(r)]).toMatchObject({
      user: 'alice', account: ALICE, status: 'active', vm: { name: 'web01', host: 'hv01' }, expiresAt: '2026-11-23T09:30:00.000Z',
    });
    expect(await trail(app, grantId(r))).toEqual([`intent:${GRANT_OP}:alice:-`, `result:${GRANT_OP}:alice:ok`]);
  });

  test('--minutes up to the policy maximum is granted; above it is refused clearly and nothing is granted', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    const over = await app.say('alice', 'console web01 --minutes 241');
    expect(over.status).toBe('invalid');
    expect(over.text).toBe('Console access lasts at most 240 minutes; you asked for 241.');
    expect(await access(app, 'web01')).toEqual([]);
    expect(Object.values(app.store.data.consoleGrants)).toEqual([]);

    const max = await app.say('alice', 'console web01 --minutes 240');
    expect(max.status).toBe('done');
    expect(max.text).toContain('until 2026-11-23 13:00 UTC (240 min');
    expect(await access(app, 'web01')).toEqual([ALICE]);
  });

  test('a user who may use the console but has no windowsAccount is told why, and nothing is granted', async () => {
    const file = policyVariant((p) => void delete p.users.alice!.windowsAccount);
    const app = await open({ VMBOT_POLICY: file });
    const r = await app.say('alice', 'console web01');
    expect(r.status).toBe('denied');
    expect(r.text).toMatch(/no Windows account/);
    expect(r.text).toContain('windowsAccount');
    expect(await access(app, 'web01')).toEqual([]);
    expect(Object.values(app.store.data.consoleGrants)).toEqual([]);
  });

  test('mallory (no rights, no windowsAccount) is denied like anyone without rights', async () => {
    const app = await open();
    const r = await app.say('mallory', 'console web01');
    expect(r.status).toBe('denied');
    expect(r.text).toBe('You are not permitted to do that on web01, or there is no such VM.');
    expect(await access(app, 'web01')).toEqual([]);
  });

  test('a VM outside the scope is denied in the same words as a VM that does not exist', async () => {
    const app = await open();
    const words = async (user: string, vm: string) => {
      const r = await app.say(user, `console ${vm}`);
      expect(r.status).toBe('denied');
      return r.text.replace(vm, '<vm>');
    };
    const unknown = await words('alice', 'web99'); // matches web*, but no such VM
    expect(unknown).toBe('You are not permitted to do that on <vm>, or there is no such VM.');
    expect(await words('alice', 'nosuch01')).toBe(unknown);
    expect(await words('alice', 'db01')).toBe(unknown); // bob's
    expect(await words('alice', 'dc01')).toBe(unknown); // on alice's host, but nobody's
    expect(await words('bob', 'web01')).toBe(unknown);
    for (const vm of ['db01', 'dc01', 'web01']) expect(await access(app, vm)).toEqual([]);
    expect(Object.values(app.store.data.consoleGrants)).toEqual([]);
  });

  test('an expired grant is revoked by the background pass, not before, audited under the grant id, and the user is told', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    const notices = collectNotices(app);
    const r = await app.say('alice', 'console web01 --minutes 10');
    clock.minutes(9);
    await app.tick();
    expect(await access(app, 'web01')).toEqual([ALICE]);
    expect(app.store.data.consoleGrants[grantId(r)]!.status).toBe('active');

    clock.minutes(2);
    await app.tick();
    expect(await access(app, 'web01')).toEqual([]);
    expect(app.store.data.consoleGrants[grantId(r)]).toMatchObject({ status: 'expired', endedAt: '2026-11-23T09:11:00.000Z' });
    expect(await trail(app, grantId(r))).toEqual([
      `intent:${GRANT_OP}:alice:-`, `result:${GRANT_OP}:alice:ok`,
      'intent:console.revoke:alice:-', 'result:console.revoke:alice:ok',
    ]);
    const revoke = (await records(app, grantId(r))).filter((x) => x.operation === 'console.revoke');
    expect(revoke[0]).toMatchObject({ principal: 'vmbot', vm: 'web01', host: 'hv01', details: { account: ALICE } });
    expect(revoke[1]!.intentId).toBe(revoke[0]!.id);
    // The "ends soon" warning (settings.console.warnMinutes) came first, at minute 9.
    expect(notices.map((n) => [n.to, n.reply.text])).toEqual([[['alice'], expect.stringContaining('ends at 2026-11-23 09:10 UTC (1 min left)')], [['alice'], 'Your console access to web01 has expired.']]);

    await app.tick(); // nothing left to do: no second revoke
    expect((await records(app, grantId(r))).filter((x) => x.operation === 'console.revoke')).toHaveLength(2);
  });

  test('the revoker runs on its own every VMBOT_REVOKER_INTERVAL_MS', async () => {
    const clock = manualClock();
    const app = await open({ VMBOT_REVOKER_INTERVAL_MS: '100' }, { clock });
    const r = await app.say('alice', 'console web01 --minutes 1');
    clock.minutes(2);
    await waitFor(() => app.store.data.consoleGrants[grantId(r)]!.status === 'expired');
    expect(await access(app, 'web01')).toEqual([]);
  });

  test('console <vm> --revoke ends the grant early; a second --revoke says there is nothing to end', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    const g = await app.say('alice', 'console web01 --minutes 60');
    clock.minutes(5);
    const r = await app.say('alice', 'console web01 --revoke');
    expect(r.status).toBe('done');
    expect(r.text).toBe(`Console access to web01 for ${ALICE} ended.`);
    expect(await access(app, 'web01')).toEqual([]);
    expect(app.store.data.consoleGrants[grantId(g)]).toMatchObject({ status: 'revoked', endedAt: '2026-11-23T09:05:00.000Z' });
    expect(await trail(app, grantId(g))).toEqual([`intent:${GRANT_OP}:alice:-`, `result:${GRANT_OP}:alice:ok`, 'event:console.revoke:alice:ok']);

    const again = await app.say('alice', 'console web01 --revoke');
    expect(again.status).toBe('invalid');
    expect(again.text).toBe('You have no active console grant on web01.');
    // At the old expiry the revoker has nothing more to do.
    clock.minutes(60);
    await app.tick();
    expect(await trail(app, grantId(g))).toHaveLength(3);
    // Someone else's VM: the same denial as always, not "no active grant".
    expect((await app.say('bob', 'console web01 --revoke')).text).toBe('You are not permitted to do that on web01, or there is no such VM.');
  });

  test('a second grant on the same VM supersedes the first: one active grant, both audited, the old expiry does not cut access', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    const first = await app.say('alice', 'console web01 --minutes 10');
    clock.minutes(5);
    const second = await app.say('alice', 'console web01 --minutes 60');
    expect(second.status).toBe('done');
    expect(second.text).toContain('replaces your earlier grant');
    expect(grantId(second)).not.toBe(grantId(first));

    const grants = app.store.data.consoleGrants;
    expect(grants[grantId(first)]).toMatchObject({ status: 'superseded', endedAt: '2026-11-23T09:05:00.000Z' });
    expect(grants[grantId(second)]).toMatchObject({ status: 'active', expiresAt: '2026-11-23T10:05:00.000Z' });
    expect(Object.values(grants).filter((g) => g.status === 'active')).toHaveLength(1);
    expect(await access(app, 'web01')).toEqual([ALICE]);

    // Each grant's own trail says how it began and how it ended.
    expect(await trail(app, grantId(first))).toEqual([`intent:${GRANT_OP}:alice:-`, `result:${GRANT_OP}:alice:ok`, 'event:console.supersede:alice:ok']);
    expect((await records(app, grantId(first)))[2]!.details).toMatchObject({ supersededBy: grantId(second) });
    expect(await trail(app, grantId(second))).toEqual([`intent:${GRANT_OP}:alice:-`, `result:${GRANT_OP}:alice:ok`]);

    // The first grant's expiry passes: access stays, it belongs to the second grant now.
    clock.minutes(10);
    await app.tick();
    expect(await access(app, 'web01')).toEqual([ALICE]);
    clock.minutes(60);
    await app.tick();
    expect(await access(app, 'web01')).toEqual([]);
    expect(grants[grantId(second)]!.status).toBe('expired');
  });

  test('two grants racing on the same VM still leave exactly one active grant', async () => {
    const app = await open();
    const replies = await Promise.all([app.say('alice', 'console web01'), app.say('alice', 'console web01 --minutes 5')]);
    expect(replies.map((r) => r.status)).toEqual(['done', 'done']);
    expect(Object.values(app.store.data.consoleGrants).filter((g) => g.status === 'active')).toHaveLength(1);
    // Grants on different VMs are independent.
    expect((await app.say('alice', 'console web02')).status).toBe('done');
    expect(Object.values(app.store.data.consoleGrants).filter((g) => g.status === 'active')).toHaveLength(2);
  });

  test('a grant that expired while vmbot was down is revoked at start-up, before anything else', async () => {
    const clock = manualClock();
    const first = await open({}, { clock });
    const dataDir = first.config.VMBOT_DATA_DIR;
    const g = await first.say('alice', 'console web01 --minutes 10');
    const req = await first.say('alice', 'request web05 --template web-small'); // also overdue after the restart
    await first.close();
    open.forget(first);
    const before = readAuditRecords(dataDir).length;

    clock.minutes(73 * 60);
    const second = await open({ VMBOT_DATA_DIR: dataDir }, { clock });
    expect(second.startup).toMatchObject({ revoked: 1, expired: 1 });
    expect(await access(second, 'web01')).toEqual([]);
    expect(second.store.data.consoleGrants[grantId(g)]!.status).toBe('expired');

    const after = readAuditRecords(dataDir).slice(before).filter((x) => x.kind !== 'segment');
    expect(after[0]).toMatchObject({ kind: 'intent', operation: 'console.revoke', correlationId: grantId(g), principal: 'vmbot' });
    expect(after[1]).toMatchObject({ kind: 'result', operation: 'console.revoke', correlationId: grantId(g), outcome: 'ok', intentId: after[0]!.id });
    expect(after[1]!.details).toMatchObject({ lateBySec: (73 * 60 - 10) * 60 });
    expect(after.findIndex((x) => x.correlationId === req.data?.requestId)).toBeGreaterThan(1);
    expect((await verifyAudit(join(dataDir, 'audit'))).ok).toBe(true);
  });

  test('a revoke that fails in Hyper-V keeps the grant active, is audited as failed and is retried on a later pass', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    const notices = collectNotices(app);
    // The simulator has no fault option: make its revoke fail the way an unreachable host does.
    const real = app.backend.revokeConsole.bind(app.backend);
    let failures = 2;
    app.backend.revokeConsole = async (vm, account) => {
      if (failures > 0) {
        failures--;
        throw new VmbotError('host_unreachable', 'Host hv01 cannot be reached.');
      }
      return real(vm, account);
    };
    const g = await app.say('alice', 'console web01 --minutes 10');
    clock.minutes(11);
    await app.tick();
    expect(await access(app, 'web01')).toEqual([ALICE]); // still there: the host refused
    expect(app.store.data.consoleGrants[grantId(g)]).toMatchObject({ status: 'active', lastError: 'Host hv01 cannot be reached.' });
    expect(notices).toEqual([]);
    await app.tick();
    expect(await access(app, 'web01')).toEqual([ALICE]);

    await app.tick();
    expect(await access(app, 'web01')).toEqual([]);
    expect(app.store.data.consoleGrants[grantId(g)]!.status).toBe('expired');
    expect(app.store.data.consoleGrants[grantId(g)]!.lastError).toBeUndefined();
    const revokes = (await records(app, grantId(g))).filter((x) => x.operation === 'console.revoke');
    expect(revokes.map((x) => `${x.kind}:${x.outcome ?? '-'}`)).toEqual(['intent:-', 'result:failed', 'intent:-', 'result:failed', 'intent:-', 'result:ok']);
    expect(revokes[1]).toMatchObject({ error: 'Host hv01 cannot be reached.', reason: 'will retry on the next pass', intentId: revokes[0]!.id });
    expect(notices).toHaveLength(1);
  });

  test('a grant that fails in Hyper-V is reported as failed and cleaned up by the next pass', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    const revoked: string[] = [];
    const realRevoke = app.backend.revokeConsole.bind(app.backend);
    app.backend.revokeConsole = async (vm, account) => (revoked.push(`${vm.name}:${account}`), realRevoke(vm, account));
    app.backend.grantConsole = async () => {
      throw new VmbotError('host_unreachable', 'Host hv01 cannot be reached.');
    };
    const r = await app.say('alice', 'console web01');
    expect(r.status).toBe('failed');
    expect(r.text).toContain('hv01 cannot be reached');
    await app.tick();
    expect(revoked).toEqual([`web01:${ALICE}`]);
    expect(Object.values(app.store.data.consoleGrants).map((g) => g.status)).toEqual(['expired']);
  });
});

async function waitFor(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
