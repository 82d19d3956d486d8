import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runLocalChat } from '../src/adapters/local/chat';
import { VmbotError } from '../src/core/errors';
import type { Backend } from '../src/hyperv/backend';
import { SimulatedHyperV, type Inventory } from '../src/hyperv/simulator';
import { appsClosedAfterEach, tempDir } from './support/app';
import { readAuditRecords } from './support/audit';

// Issue 7 item 4: any error anywhere in a request is a `failed` reply and an audit record; no
// request takes the process down. Item 10: a name on two hosts is refused without revealing either.

const open = appsClosedAfterEach();

function inventoryFile(inv: unknown): string {
  const file = join(tempDir(), 'inventory.json');
  writeFileSync(file, JSON.stringify(inv));
  return file;
}

const FIXTURE = [
  { name: 'web01', host: 'hv01', state: 'Off' },
  { name: 'web02', host: 'hv01', state: 'Running' },
  { name: 'db01', host: 'hv02', state: 'Running' },
];

/** The simulator, with get() replaced by one that fails the way a backend can. */
async function failingLookup(error: Error): Promise<Backend> {
  const sim = await SimulatedHyperV.open({ latencyMs: 0 });
  return Object.assign(sim, { get: async () => Promise.reject(error) });
}

describe('a backend error while looking up the VM', () => {
  test.each([
    ['host unreachable', new VmbotError('host_unreachable', 'The Hyper-V host hv09 cannot be reached.'), 'host_unreachable'],
    ['an unexpected exception', new TypeError("Cannot read properties of undefined (reading 'State')"), 'failed'],
  ])('%s: the caller gets a failed reply, the audit log a failed record with the cause', async (_what, error, code) => {
    const app = await open({}, { backend: await failingLookup(error) });
    const r = await app.say('alice', 'start web01');
    expect(r.status).toBe('failed');
    expect(r.code).toBe(code);
    expect(r.text).toContain('web01');
    expect(r.text).not.toContain('hv09'); // a host the caller may know nothing about
    expect(r.text).not.toContain('properties of undefined'); // no internals in chat
    const rec = readAuditRecords(app.config.VMBOT_DATA_DIR).find((x) => x.id === r.auditId)!;
    expect(rec).toMatchObject({ user: 'alice', vm: 'web01', operation: 'Start Virtual Machine', outcome: 'failed' });
    expect(rec.error).toContain(error.message);
    // The app keeps serving.
    expect((await app.say('alice', 'whoami')).status).toBe('done');
  });

  test('an unreachable host from the inventory: status, start and list fail cleanly and are audited', async () => {
    const inv = inventoryFile({ hosts: { hv02: { unreachable: true } }, vms: FIXTURE });
    const app = await open({ VMBOT_SIM_INVENTORY: inv });
    for (const text of ['status web01', 'start web01', 'list']) {
      const r = await app.say('alice', text);
      expect(r.status).toBe('failed');
      expect(r.code).toBe('host_unreachable');
      expect(r.text).not.toContain('hv02');
      const rec = readAuditRecords(app.config.VMBOT_DATA_DIR).find((x) => x.id === r.auditId)!;
      expect(rec.outcome).toBe('failed');
      expect(rec.error).toMatch(/hv02 cannot be reached/);
    }
    expect((await app.backend.list().catch(() => null))).toBeNull();
  });

  test('a slow host: the lookup is bounded by VMBOT_ACTION_TIMEOUT_MS, failed and audited as a timeout', async () => {
    const app = await open({ VMBOT_SIM_INVENTORY: inventoryFile(FIXTURE), VMBOT_ACTION_TIMEOUT_MS: '1000' });
    // Slow from now on (as `hosts: {hv01: {latencyMs: 10000}}` in the inventory makes it from the start).
    (app.backend as SimulatedHyperV).setHost('hv01', { latencyMs: 10_000 });
    const t0 = Date.now();
    const r = await app.say('alice', 'status web01');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.status).toBe('failed');
    expect(r.code).toBe('timeout');
    expect(r.text).toMatch(/did not answer within 1 s/);
    const rec = readAuditRecords(app.config.VMBOT_DATA_DIR).find((x) => x.id === r.auditId)!;
    expect(rec).toMatchObject({ outcome: 'failed', vm: 'web01' });
    expect(rec.error).toMatch(/^timeout/);
  });

  test('a request whose audit write fails is answered as failed instead of throwing', async () => {
    const app = await open();
    const append = app.audit.append.bind(app.audit);
    let fail = true;
    app.audit.append = (e) => (fail ? Promise.reject(new Error('ENOSPC: no space left on device')) : append(e));
    const operatorLog = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const r = await app.say('alice', 'start web01');
    expect(r.status).toBe('failed');
    expect(r.text).toMatch(/could not be recorded in the audit log/);
    expect(operatorLog.mock.calls.join('\n')).toMatch(/could not be audited.*ENOSPC/);
    operatorLog.mockRestore();
    expect((await app.backend.get('web01'))!.state).toBe('Off'); // no effect without a durable intent
    fail = false;
    expect((await app.say('alice', 'start web01')).status).toBe('done');
  });
});

describe('the local chat survives any failing request', () => {
  test('a lookup error is answered and the next line is served', async () => {
    const app = await open({}, { backend: await failingLookup(new Error('socket hang up')) });
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (c: Buffer) => (text += c.toString()));
    const done = runLocalChat(app.pipeline, { user: 'alice', input, output });
    input.end('start web01\nwhoami\n/quit\n');
    await done;
    // The failure is answered, then whoami (which shows the Windows account) still is.
    expect(text).toMatch(/could not look up web01[\s\S]*CONTOSO\\alice/);
  });
});

describe('a VM name found on two hosts (as Hyper-V addresses VMs)', () => {
  const twoHosts: Inventory = [
    { name: 'web01', host: 'hv01', state: 'Off' },
    { name: 'web01', host: 'hv03', state: 'Off' },
    { name: 'web02', host: 'hv01', state: 'Off' },
  ];

  test('the simulator refuses the ambiguous name with a message that names neither host', async () => {
    const sim = await SimulatedHyperV.open({ latencyMs: 0, inventory: twoHosts });
    const e = await sim.get('WEB01').then(() => null, (x: VmbotError) => x);
    expect(e).toBeInstanceOf(VmbotError);
    expect(e!.code).toBe('ambiguous');
    expect(e!.message).toContain('WEB01');
    expect(e!.message).not.toMatch(/hv0[13]/);
    expect(e!.detail).toMatch(/hv01.*hv03/); // for the audit log and the administrator
    expect((await sim.get('web02'))!.host).toBe('hv01'); // other names are unaffected
  });

  test('start through the pipeline: failed, nothing started, the hosts only in the audit log', async () => {
    const app = await open({ VMBOT_SIM_INVENTORY: inventoryFile(twoHosts) });
    const r = await app.say('alice', 'start web01');
    expect(r.status).toBe('failed');
    expect(r.text).not.toMatch(/hv0[13]/);
    expect(r.text).toMatch(/more than one VM/);
    expect((await app.backend.list()).map((v) => v.state)).toEqual(['Off', 'Off', 'Off']);
    const rec = readAuditRecords(app.config.VMBOT_DATA_DIR).find((x) => x.id === r.auditId)!;
    expect(rec).toMatchObject({ outcome: 'failed', vm: 'web01', host: null });
    expect(rec.error).toMatch(/hv01.*hv03/);
  });
});
