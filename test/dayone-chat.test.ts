/**
 * Day one for guest admins (issue 10): what a new user notices in replies. Each test asserts the
 * words a user reads, the exit-code status, and what the audit log keeps.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedHyperV } from '../src/hyperv/simulator';
import { appsClosedAfterEach, tempDir, type TestApp } from './support/app';
import { recordsOf } from './support/audit';

const open = appsClosedAfterEach();
const recs = (app: TestApp, id?: number) => recordsOf(app.config.VMBOT_DATA_DIR, id);

/** An app whose simulated estate adds a paused (web03) and a saved (web04) web VM, and a saved db VM. */
async function estate(): Promise<TestApp> {
  const inv = join(tempDir(), 'inventory.json');
  writeFileSync(inv, JSON.stringify([
    { name: 'web01', host: 'hv01', state: 'Off' },
    { name: 'web02', host: 'hv01', state: 'Running' },
    { name: 'web03', host: 'hv01', state: 'Paused' },
    { name: 'web04', host: 'hv01', state: 'Saved' },
    { name: 'db01', host: 'hv02', state: 'Running' },
    { name: 'db03', host: 'hv02', state: 'Paused' },
    { name: 'db04', host: 'hv02', state: 'Saved' },
  ]));
  return open({ VMBOT_SIM_INVENTORY: inv });
}

describe('desired state is success', () => {
  test.each([
    ['alice', 'start web02', 'web02 is already running.', 'Running'],
    ['alice', 'start WEB02', 'web02 is already running.', 'Running'],
    ['alice', 'stop web01', 'web01 is already off.', 'Off'],
    ['bob', 'stop db02 --turnoff', 'db02 is already off.', 'Off'],
  ])('%s: "%s" → "%s", exit 0, no progress, audited as a no-op', async (user, text, reply, state) => {
    const app = await open();
    const r = await app.say(user, text);
    expect(r).toMatchObject({ status: 'done', text: reply });
    expect(r.progress).toEqual([]);
    const [rec, ...more] = recs(app, r.auditId);
    expect(more).toEqual([]);
    expect(rec).toMatchObject({ kind: 'decision', decision: 'allow', outcome: 'ok', error: null, details: expect.objectContaining({ noop: true, state }) });
  });

  test('a saved VM starts (Start-VM restores it), with a progress line saying so', async () => {
    const app = await estate();
    const r = await app.say('alice', 'start web04');
    expect(r.progress).toEqual(['web04 is starting from its saved state…']);
    expect(r).toMatchObject({ status: 'done', text: 'web04 is running.' });
  });

  test('a paused VM gets guidance, not a backend failure: exit 2, nothing runs, "ask a platform admin"', async () => {
    const app = await estate();
    const r = await app.say('alice', 'start web03');
    expect(r.status).toBe('invalid');
    expect(r.code).toBe('invalid_state');
    expect(r.text).toMatch(/^web03 is paused/);
    expect(r.text).toMatch(/Ask a platform admin to resume it/);
    expect(r.progress).toEqual([]);
    expect((await app.backend.get('web03'))!.state).toBe('Paused');
    expect(recs(app, r.auditId)).toEqual([expect.objectContaining({ kind: 'decision', outcome: 'invalid', error: 'invalid_state' })]);
  });

  test('a graceful stop of a saved VM says how to get there: start it first (no turn-off offered to alice)', async () => {
    const app = await estate();
    const r = await app.say('alice', 'stop web04');
    expect(r.status).toBe('invalid');
    expect(r.text).toContain('Type "start web04" to start it from its saved state, then stop it');
    expect(r.text).not.toContain('--turnoff');
  });

  test('bob, who may turn off, is offered --turnoff for his saved and paused VMs', async () => {
    const app = await estate();
    expect((await app.say('bob', 'stop db04')).text).toContain('"stop db04 --turnoff"');
    expect((await app.say('bob', 'stop db03')).text).toContain('"stop db03 --turnoff"');
    const off = await app.say('bob', 'stop db03 --turnoff');
    expect(off).toMatchObject({ status: 'done', text: 'db03 is off.' });
  });

  test('a start that races another start answers from the fresh state, not "backend failure"', async () => {
    const app = await open();
    const [a, b] = await Promise.all([app.say('alice', 'start web01'), app.say('alice', 'start web01')]);
    expect([a.status, b.status]).toEqual(['done', 'done']);
    expect([a.text, b.text].sort()).toEqual([expect.stringMatching(/^web01 is already (running\.|starting; it will be running shortly\.)$/), 'web01 is running.']);
  });
});

describe('help shows what you may do', () => {
  const listed = async (app: TestApp, user: string) => (await app.say(user, 'help')).text.split('\n').slice(1).map((l) => l.trim());

  test('stop --turnoff appears only for a user whose role allows it', async () => {
    const app = await open();
    const alice = await listed(app, 'alice');
    const bob = await listed(app, 'bob');
    expect(alice.find((l) => l.startsWith('stop'))).toMatch(/^stop <vm>\s+Shut down one of your VMs through its guest OS$/);
    expect(alice.join('\n')).not.toContain('--turnoff');
    expect(bob.find((l) => l.startsWith('stop'))).toMatch(/^stop <vm> \[--turnoff\]\s+.*--turnoff pulls the power/);
    expect((await app.say('alice', 'help stop')).text).not.toContain('turnoff');
  });

  test.each(['carol', 'dave', 'mallory'])('%s holds no VM operation: no status or list in help', async (user) => {
    const app = await open();
    const names = (await listed(app, user)).map((l) => l.split(/\s+/)[0]);
    expect(names).not.toContain('status');
    expect(names).not.toContain('list');
    expect(names).toContain('whoami');
  });

  test('approve and deny only for approvers', async () => {
    const app = await open();
    const names = async (u: string) => (await listed(app, u)).map((l) => l.split(/\s+/)[0]);
    for (const u of ['alice', 'bob', 'dave', 'mallory']) expect(await names(u)).not.toEqual(expect.arrayContaining(['approve']));
    for (const u of ['alice', 'bob', 'dave', 'mallory']) expect(await names(u)).not.toContain('deny');
    expect(await names('carol')).toEqual(expect.arrayContaining(['approve', 'deny']));
  });
});

describe('messages in the user\'s words', () => {
  test.each([
    ['alice', 'start', /^start needs the VM name\. Usage: start <vm>$/],
    ['carol', 'deny r-aaaaaa', /^deny needs a reason\. Usage: deny <request id> <reason>$/],
    ['carol', 'approve', /^approve needs a request id \(such as r-7k2mqx\)\. Usage: approve <request id>$/],
    ['alice', 'request web09', /^request needs a template \(--template <template>\)\./],
    ['alice', 'console web01 --minutes -3', /^--minutes must be at least 1\. Usage: console/],
    ['alice', 'console web01 --minutes ten', /^--minutes needs a whole number, such as --minutes 30; "ten" is not one\./],
    ['alice', 'request web09 --template web-small --template web-ha', /^--template is given twice; give it once\./],
    ['alice', 'stop web01 --turnoff --turnoff', /^--turnoff is given twice/],
  ])('%s: "%s"', async (user, text, want) => {
    const app = await open();
    const r = await app.say(user, text);
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(want);
    expect(r.text).not.toMatch(/\b(rest|vm) is missing|Invalid input|expected \w+, received/);
  });

  test('a blank deny reason is refused, also in quotes', async () => {
    const app = await open();
    for (const text of ['deny r-aaaaaa "   "', 'deny r-aaaaaa ""', 'deny r-aaaaaa  ..']) {
      const r = await app.say('carol', text);
      expect(r.status).toBe('invalid');
      expect(r.text).toMatch(/^A deny needs a reason the requester can act on/);
    }
  });

  test('a typo gets "did you mean", not the whole help', async () => {
    const app = await open();
    const r = await app.say('alice', 'strat web01');
    expect(r.status).toBe('invalid');
    expect(r.text).toBe('Unknown command "strat". Did you mean "start"? start <vm>\nType "help" for the commands you can use.');
    // Only among the commands this user may use: mallory is not pointed at start.
    expect((await app.say('mallory', 'strat web01')).text).not.toContain('start');
    expect((await app.say('alice', 'help strat')).text).toContain('Did you mean "help start"?');
  });

  test('a look-alike letter in a VM name is explained as not ASCII', async () => {
    const app = await open();
    const r = await app.say('alice', 'start w\u0435b01');
    expect(r.status).toBe('invalid');
    expect(r.text).toContain('only ASCII letters');
    expect(r.text).toContain('"\u0435" (U+0435) is not an ASCII character');
  });

  test('plurals: "1 approval" for a one-approver template, "2 approvals" for two', async () => {
    const app = await open();
    const one = await app.say('alice', 'request web11 --template web-small');
    expect(one.text).toMatch(/waiting for 1 approval from/);
    const two = await app.say('alice', 'request web12 --template web-ha');
    expect(two.text).toMatch(/waiting for 2 approvals from/);
  });
});

describe('uptime and state', () => {
  test('status of a VM started a moment ago shows a real uptime, never "up —"', async () => {
    const app = await open();
    await app.say('alice', 'start web01');
    const r = await app.say('alice', 'status web01');
    expect(r.text).toMatch(/^web01 is running on hv01 \(up \d+s\)\.$/);
    expect(JSON.stringify(r.fields)).not.toContain('—');
  });

  test('a VM that was mid-start when the host (simulator) restarted counts its uptime from then, not from an earlier boot', async () => {
    const file = join(tempDir(), 'sim.json');
    writeFileSync(file, JSON.stringify({
      vms: [{ id: '00000000-0000-4000-8000-000000000001', name: 'web01', host: 'hv01', state: 'Starting', startedAt: '2020-01-01T00:00:00.000Z' }],
      console: {},
    }));
    const sim = await SimulatedHyperV.open({ file, latencyMs: 0 });
    const vm = (await sim.get('web01'))!;
    expect(vm.state).toBe('Running');
    expect(vm.uptimeSec).toBeLessThan(60);
    await sim.close();
  });

  test('one casing for states: list, status and replies all say "running"/"off"', async () => {
    const app = await open();
    const list = await app.say('alice', 'list');
    expect(list.text).toMatch(/web01\s+off\s+hv01/);
    expect(list.text).toMatch(/web02\s+running\s+hv01/);
    expect(list.fields).toEqual([{ label: 'web01', value: 'off on hv01' }, { label: 'web02', value: 'running on hv01' }]);
    const status = await app.say('alice', 'status web01');
    expect(status.fields![0]).toEqual({ label: 'State', value: 'off' });
    expect(list.text + status.text).not.toMatch(/Running|Off\b/);
  });
});
