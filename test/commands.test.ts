import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAudit } from '../src/audit/verify';
import { notPermittedMessage } from '../src/core/errors';
import { openTestApp, tempDir, type TestApp } from './support/app';
import { readAuditText, recordsOf } from './support/audit';

let app: TestApp;
beforeEach(async () => {
  app = await openTestApp();
});
afterEach(async () => {
  await app.cleanup();
});

const dataDir = () => app.config.VMBOT_DATA_DIR;
const state = async (vm: string) => (await app.backend.get(vm))!.state;
const ALICE_MATCH = { index: 0, role: 'guest-admin', scope: 'web', via: 'group:web-admins' };
const BOB_MATCH = { index: 1, role: 'guest-admin-turnoff', scope: 'db', via: 'user' };

/** One allowed effect: intent then result, linked, both naming who, what, where and why. */
function expectIntentAndResult(auditId: number | undefined, want: { user: string; vm: string; operation: string; outcome: string; matched: object }) {
  const recs = recordsOf(dataDir(), auditId);
  expect(recs.map((r) => r.kind)).toEqual(['intent', 'result']);
  const [intent, result] = recs as [(typeof recs)[0], (typeof recs)[0]];
  expect(result.id).toBe(auditId);
  expect(result.intentId).toBe(intent.id);
  for (const r of [intent, result]) {
    expect(r).toMatchObject({ user: want.user, principal: `local:${want.user}`, vm: want.vm, operation: want.operation, decision: 'allow' });
    expect(r.reason).toEqual(expect.stringContaining(want.operation));
    expect(r.details?.matched).toEqual(want.matched);
  }
  expect(intent.outcome).toBeNull();
  expect(result.outcome).toBe(want.outcome);
  return { intent, result };
}

/** One denial: exactly one record, deny, with the reason the auditor needs. */
function expectOneDenial(auditId: number | undefined, want: { user: string | null; vm: string | null; operation: string }) {
  const recs = recordsOf(dataDir(), auditId);
  expect(recs).toHaveLength(1);
  expect(recs[0]).toMatchObject({ kind: 'decision', user: want.user, vm: want.vm, operation: want.operation, decision: 'deny', outcome: 'denied' });
  expect(recs[0]!.reason).toBeTruthy();
  return recs[0]!;
}

describe('start', () => {
  test('alice starts web01: progress, then running; intent and result audited', async () => {
    const r = await app.say('alice', 'start web01');
    expect(r.progress).toEqual(['web01 is starting…']);
    expect(r.status).toBe('done');
    expect(r.text).toBe('web01 is running.');
    expect(await state('web01')).toBe('Running');
    expectIntentAndResult(r.auditId, { user: 'alice', vm: 'web01', operation: 'Start Virtual Machine', outcome: 'ok', matched: ALICE_MATCH });
  });

  test('a VM name in other case starts the real VM and audits its canonical name', async () => {
    const r = await app.say('alice', 'start WEB01');
    expect(r.text).toBe('web01 is running.');
    expect(recordsOf(dataDir(), r.auditId)[0]!.vm).toBe('web01');
  });

  test('bob starts db02', async () => {
    const r = await app.say('bob', 'start db02');
    expect(r.status).toBe('done');
    expect(r.text).toBe('db02 is running.');
    expectIntentAndResult(r.auditId, { user: 'bob', vm: 'db02', operation: 'Start Virtual Machine', outcome: 'ok', matched: BOB_MATCH });
  });

  test('starting a running VM is a no-op success: no progress, "already running", one decision record marked noop', async () => {
    const r = await app.say('alice', 'start web02');
    expect(r.status).toBe('done');
    expect(r.text).toBe('web02 is already running.');
    expect(r.progress).toEqual([]);
    const recs = recordsOf(dataDir(), r.auditId);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ kind: 'decision', user: 'alice', vm: 'web02', operation: 'Start Virtual Machine', decision: 'allow', outcome: 'ok', error: null });
    expect(recs[0]!.details).toMatchObject({ matched: ALICE_MATCH, noop: true, state: 'Running' });
  });

  const outOfScope: [string, string][] = [
    ['alice', 'db01'], ['alice', 'db02'], ['alice', 'dc01'],
    ['bob', 'web01'], ['bob', 'dc01'],
    ['carol', 'web01'], ['dave', 'web01'], ['dave', 'dc01'],
    ['mallory', 'web01'], ['mallory', 'db02'],
  ];

  test.each(outOfScope)('%s may not start %s: denied, nothing runs, one audit record', async (user, vm) => {
    const before = await state(vm);
    const r = await app.say(user, `start ${vm}`);
    expect(r.status).toBe('denied');
    expect(r.code).toBe('denied');
    expect(r.text).toBe(notPermittedMessage(vm));
    expect(r.progress).toEqual([]);
    expect(await state(vm)).toBe(before);
    expectOneDenial(r.auditId, { user, vm, operation: 'Start Virtual Machine' });
  });

  test.each(['alice', 'bob', 'carol', 'dave', 'mallory'])('%s: the denial for an out-of-scope VM reads exactly like the one for a missing VM', async (user) => {
    const outside = user === 'bob' ? 'web01' : 'db01';
    const existing = await app.say(user, `start ${outside}`);
    for (const missing of ['nosuch01', 'web99', 'db99']) {
      const absent = await app.say(user, `start ${missing}`);
      expect(absent.status).toBe('denied');
      expect(absent.code).toBe(existing.code);
      expect(absent.text.replaceAll(missing, '<vm>')).toBe(existing.text.replaceAll(outside, '<vm>'));
      expectOneDenial(absent.auditId, { user, vm: missing, operation: 'Start Virtual Machine' });
    }
  });

  test('a VM matching alice\'s name pattern but on another host is denied like a missing one', async () => {
    await app.cleanup();
    const inv = join(tempDir(), 'inventory.json');
    writeFileSync(inv, JSON.stringify([
      { name: 'web01', host: 'hv01', state: 'Off' },
      { name: 'web03', host: 'hv02', state: 'Off' },
    ]));
    app = await openTestApp({ VMBOT_SIM_INVENTORY: inv });
    const r = await app.say('alice', 'start web03');
    expect(r.status).toBe('denied');
    expect(r.text).toBe(notPermittedMessage('web03'));
    expect(await state('web03')).toBe('Off');
    expect((await app.say('alice', 'status web03')).text).toBe(notPermittedMessage('web03'));
    expect((await app.say('alice', 'list')).data).toEqual({ vms: [{ name: 'web01', state: 'Off', host: 'hv01' }] });
  });

  test('an unknown principal (local:eve) is denied and told they are not known', async () => {
    const r = await app.say('local:eve', 'start web01');
    expect(r.status).toBe('denied');
    expect(r.text).toMatch(/local:eve.*not known to vmbot/);
    expect(await state('web01')).toBe('Off');
    const rec = expectOneDenial(r.auditId, { user: null, vm: null, operation: 'Start Virtual Machine' });
    expect(rec.principal).toBe('local:eve');
    expect(rec.reason).toMatch(/unknown principal/);
  });

  test('an unknown slack identity is denied too', async () => {
    const r = await app.say('slack:U0STRANGER', 'start web01');
    expect(r.status).toBe('denied');
    expect(await state('web01')).toBe('Off');
  });

  test('alice reaches her VM through her slack identity as well', async () => {
    const r = await app.say('slack:U0ALICE001', 'start web01');
    expect(r.status).toBe('done');
    expect(recordsOf(dataDir(), r.auditId)[0]).toMatchObject({ user: 'alice', principal: 'slack:U0ALICE001' });
  });
});

describe('stop', () => {
  test('alice stops web02 gracefully: progress, then off', async () => {
    const r = await app.say('alice', 'stop web02');
    expect(r.progress).toEqual(['web02 is shutting down…']);
    expect(r.status).toBe('done');
    expect(r.text).toBe('web02 is off.');
    expect(await state('web02')).toBe('Off');
    expectIntentAndResult(r.auditId, { user: 'alice', vm: 'web02', operation: 'Stop Virtual Machine', outcome: 'ok', matched: ALICE_MATCH });
  });

  test('alice may not --turnoff: told turn-off is not allowed for her, VM keeps running', async () => {
    const r = await app.say('alice', 'stop web02 --turnoff');
    expect(r.status).toBe('denied');
    expect(r.code).toBe('denied');
    expect(r.text).toMatch(/does not allow --turnoff/);
    expect(r.text).toContain('stop web02');
    expect(await state('web02')).toBe('Running');
    const rec = expectOneDenial(r.auditId, { user: 'alice', vm: 'web02', operation: 'Stop Virtual Machine' });
    expect(rec.reason).toMatch(/turn-off/);
  });

  test('a turn-off request on a VM outside the scope reveals nothing: the plain denial', async () => {
    for (const [user, vm] of [['alice', 'db01'], ['alice', 'nosuch01'], ['mallory', 'web02'], ['carol', 'db01']] as const) {
      const r = await app.say(user, `stop ${vm} --turnoff`);
      expect(r.status).toBe('denied');
      expect(r.text).toBe(notPermittedMessage(vm));
    }
    expect(await state('db01')).toBe('Running');
    expect(await state('web02')).toBe('Running');
  });

  test('bob may --turnoff db01', async () => {
    const r = await app.say('bob', 'stop db01 --turnoff');
    expect(r.progress).toEqual(['Turning off db01…']);
    expect(r.status).toBe('done');
    expect(r.text).toBe('db01 is off.');
    expect(await state('db01')).toBe('Off');
    const { result } = expectIntentAndResult(r.auditId, { user: 'bob', vm: 'db01', operation: 'Stop Virtual Machine', outcome: 'ok', matched: BOB_MATCH });
    expect(result.details?.data).toMatchObject({ mode: 'turnoff' });
  });

  test('bob stops db01 gracefully', async () => {
    const r = await app.say('bob', 'stop db01');
    expect(r.text).toBe('db01 is off.');
    const { result } = expectIntentAndResult(r.auditId, { user: 'bob', vm: 'db01', operation: 'Stop Virtual Machine', outcome: 'ok', matched: BOB_MATCH });
    expect(result.details?.data).toMatchObject({ mode: 'shutdown' });
  });

  test('stopping a VM that is off is a no-op success: "already off", no progress', async () => {
    const r = await app.say('alice', 'stop web01');
    expect(r.status).toBe('done');
    expect(r.text).toBe('web01 is already off.');
    expect(r.progress).toEqual([]);
    expect(recordsOf(dataDir(), r.auditId)[0]).toMatchObject({ kind: 'decision', outcome: 'ok', details: expect.objectContaining({ noop: true }) });
  });

  test.each([['alice', 'db01'], ['bob', 'web02'], ['bob', 'dc01'], ['carol', 'web02'], ['dave', 'db01'], ['mallory', 'web02'], ['local:eve', 'web02']])('%s may not stop %s', async (user, vm) => {
    const r = await app.say(user, `stop ${vm}`);
    expect(r.status).toBe('denied');
    expect(await state(vm)).toBe('Running');
  });
});

describe('status', () => {
  test('alice sees web01\'s state; one decision record', async () => {
    const r = await app.say('alice', 'status web01');
    expect(r.status).toBe('done');
    expect(r.text).toBe('web01 is off on hv01.');
    const recs = recordsOf(dataDir(), r.auditId);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ kind: 'decision', user: 'alice', vm: 'web01', operation: 'status', decision: 'allow', outcome: 'ok' });
    expect(recs[0]!.details?.matched).toEqual(ALICE_MATCH);
  });

  test('bob sees db01 running', async () => {
    const r = await app.say('bob', 'status db01');
    expect(r.status).toBe('done');
    expect(r.text).toMatch(/^db01 is running on hv02 \(up /);
  });

  test.each([['alice', 'db01'], ['alice', 'dc01'], ['bob', 'web01'], ['carol', 'web01'], ['dave', 'web01'], ['dave', 'dc01'], ['mallory', 'db01']])('%s may not see %s, and cannot tell it from a missing VM', async (user, vm) => {
    const r = await app.say(user, `status ${vm}`);
    const missing = await app.say(user, 'status nosuch01');
    expect(r.status).toBe('denied');
    expect(r.text).toBe(notPermittedMessage(vm));
    expect(missing.text).toBe(notPermittedMessage('nosuch01'));
    expect(r.text).not.toMatch(/running|off|hv0/i);
    expectOneDenial(r.auditId, { user, vm, operation: 'status' });
  });

  test('an unknown principal gets no status', async () => {
    const r = await app.say('local:eve', 'status web01');
    expect(r.status).toBe('denied');
    expect(r.text).not.toMatch(/off on hv01/);
  });
});

describe('list', () => {
  test.each([
    ['alice', ['web01', 'web02']],
    ['bob', ['db01', 'db02']],
    ['carol', []],
    ['dave', []],
    ['mallory', []],
  ])('%s sees exactly their VMs', async (user, vms) => {
    const r = await app.say(user, 'list');
    expect(r.status).toBe('done');
    expect(((r.data as { vms: { name: string }[] }).vms).map((v) => v.name)).toEqual(vms);
    expect(r.text).not.toContain('dc01');
    for (const other of ['web01', 'web02', 'db01', 'db02'].filter((v) => !(vms as string[]).includes(v))) expect(r.text).not.toContain(other);
    for (const v of vms) expect(r.text).toContain(v);
    if (!vms.length) expect(r.text).toBe('You have no VMs in your scope.');
    const recs = recordsOf(dataDir(), r.auditId);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ kind: 'decision', user, operation: 'list', outcome: 'ok' });
  });

  test('list shows current states', async () => {
    await app.say('alice', 'start web01');
    const r = await app.say('alice', 'list');
    expect(r.data).toEqual({ vms: [expect.objectContaining({ name: 'web01', state: 'Running', host: 'hv01' }), expect.objectContaining({ name: 'web02', state: 'Running', host: 'hv01' })] });
  });

  test('an unknown principal is denied list', async () => {
    const r = await app.say('local:eve', 'list');
    expect(r.status).toBe('denied');
    expect(r.text).not.toMatch(/web0|db0|dc0/);
    expectOneDenial(r.auditId, { user: null, vm: null, operation: 'list' });
  });
});

describe('whoami', () => {
  test('alice: user, identity, Windows account, role via group', async () => {
    const r = await app.say('alice', 'whoami');
    expect(r.status).toBe('done');
    expect(r.text).toContain('User: alice (Alice (web team))');
    expect(r.text).toContain('Signed in as: local:alice');
    expect(r.text).toContain('Windows account: CONTOSO\\alice');
    expect(r.text).toContain('guest-admin in web (web*)');
    expect(r.text).toContain('requester in web');
  });

  test('bob holds the turn-off role in db', async () => {
    const r = await app.say('bob', 'whoami');
    expect(r.text).toContain('guest-admin-turnoff in db (db*)');
    expect(r.text).not.toContain('in web');
  });

  test.each([['carol', 'approver in web'], ['dave', 'auditor in estate']])('%s sees their role', async (user, role) => {
    expect((await app.say(user, 'whoami')).text).toContain(role);
  });

  test('mallory holds no roles and has no Windows account', async () => {
    const r = await app.say('mallory', 'whoami');
    expect(r.text).toContain('Roles: none');
    expect(r.text).toMatch(/Windows account: none/);
  });

  test('an unknown principal is told they are not known', async () => {
    const r = await app.say('local:eve', 'whoami');
    expect(r.status).toBe('done');
    expect(r.text).toBe('You are local:eve, which is not known to vmbot: you hold no rights.');
  });

  test('whoami is audited as one record', async () => {
    const r = await app.say('alice', 'whoami');
    expect(recordsOf(dataDir(), r.auditId)).toHaveLength(1);
  });
});

describe('help', () => {
  const listed = (text: string) => text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]);

  test('alice\'s help lists start, stop, console, status, list, whoami', async () => {
    const r = await app.say('alice', 'help');
    expect(r.status).toBe('done');
    expect(listed(r.text)).toEqual(expect.arrayContaining(['start', 'stop', 'console', 'status', 'list', 'whoami', 'help']));
    expect(listed(r.text)).not.toContain('approve');
  });

  test('mallory\'s help does not list start, stop or console', async () => {
    const r = await app.say('mallory', 'help');
    const cmds = listed(r.text);
    expect(cmds).not.toContain('start');
    expect(cmds).not.toContain('stop');
    expect(cmds).not.toContain('console');
    expect(cmds).toContain('help');
    expect(cmds).toContain('whoami');
  });

  test('dave\'s help does not offer start or stop; carol\'s offers approve but not start', async () => {
    const dave = listed((await app.say('dave', 'help')).text);
    expect(dave).not.toContain('start');
    expect(dave).not.toContain('stop');
    const carol = listed((await app.say('carol', 'help')).text);
    expect(carol).toContain('approve');
    expect(carol).not.toContain('start');
  });

  test('bob\'s help lists start and stop', async () => {
    const cmds = listed((await app.say('bob', 'help')).text);
    expect(cmds).toEqual(expect.arrayContaining(['start', 'stop']));
  });

  test('an unknown principal gets the short help', async () => {
    const r = await app.say('local:eve', 'help');
    expect(r.status).toBe('done');
    expect(r.text).toMatch(/^You are not known to vmbot yet/);
    expect(listed(r.text)).not.toContain('start');
  });

  test('help on one command works for a usable one and refuses an unusable one', async () => {
    expect((await app.say('alice', 'help start')).text).toContain('Usage: start <vm>');
    const m = await app.say('mallory', 'help start');
    expect(m.status).toBe('invalid');
    expect(m.text).not.toContain('Usage: start');
  });
});

describe('invalid requests are audited', () => {
  test('a bad VM name leaves one invalid record naming user and command', async () => {
    const r = await app.say('alice', 'start web*');
    expect(r.status).toBe('invalid');
    const recs = recordsOf(dataDir(), r.auditId);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ kind: 'decision', user: 'alice', principal: 'local:alice', command: 'start web*', outcome: 'invalid', error: 'usage' });
    expect(recs[0]!.reason).toMatch(/VM names/);
  });

  test('a whole session of requests leaves a verifiable chain', async () => {
    for (const [u, t] of [['alice', 'start web01'], ['bob', 'start web01'], ['mallory', 'list'], ['local:eve', 'stop db01'], ['alice', 'bogus'], ['bob', 'stop db01 --turnoff']])
      await app.say(u!, t!);
    const v = await verifyAudit(join(dataDir(), 'audit'));
    expect(v.ok).toBe(true);
    expect(v.records).toBe(2 + 1 + 1 + 1 + 1 + 2);
    expect(readAuditText(dataDir())).toContain('"command":"stop db01 --turnoff"');
  });
});
