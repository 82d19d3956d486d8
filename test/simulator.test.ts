import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VmbotError } from '../src/core/errors';
import { SimulatedHyperV, type Inventory } from '../src/hyperv/simulator';
import { tempDir } from './support/app';

const openSim = (opts: { file?: string; inventory?: Inventory; latencyMs?: number } = {}) => SimulatedHyperV.open({ latencyMs: 0, ...opts });
const ref = async (sim: SimulatedHyperV, name: string) => {
  const vm = await sim.get(name);
  if (!vm) throw new Error(`no VM ${name}`);
  return vm;
};
async function failure(p: Promise<unknown>): Promise<VmbotError> {
  try {
    await p;
  } catch (e) {
    return e as VmbotError;
  }
  throw new Error('expected the call to fail');
}

describe('simulated Hyper-V', () => {
  test('holds the fixture inventory', async () => {
    const sim = await openSim();
    const vms = (await sim.list()).map((v) => [v.name, v.host, v.state]);
    expect(vms).toEqual([
      ['web01', 'hv01', 'Off'],
      ['web02', 'hv01', 'Running'],
      ['db01', 'hv02', 'Running'],
      ['db02', 'hv02', 'Off'],
      ['dc01', 'hv01', 'Running'],
    ]);
  });

  test('get is exact and case-insensitive', async () => {
    const sim = await openSim();
    expect((await sim.get('WEB01'))!.name).toBe('web01');
    expect(await sim.get('web0')).toBeNull();
    expect(await sim.get('web*')).toBeNull();
    expect(await sim.get('nosuch')).toBeNull();
  });

  test('Off → Running → Off', async () => {
    const sim = await openSim();
    const started = await sim.start(await ref(sim, 'web01'));
    expect(started.state).toBe('Running');
    expect((await sim.get('web01'))!.state).toBe('Running');
    const stopped = await sim.stop(await ref(sim, 'web01'), 'shutdown');
    expect(stopped.state).toBe('Off');
  });

  test('a start passes through Starting, a graceful stop through Stopping', async () => {
    const sim = await openSim({ latencyMs: 30 });
    const starting = sim.start(await ref(sim, 'web01'));
    expect((await sim.get('web01'))!.state).toBe('Starting');
    await starting;
    const stopping = sim.stop(await ref(sim, 'web01'), 'shutdown');
    expect((await sim.get('web01'))!.state).toBe('Stopping');
    await stopping;
    expect((await sim.get('web01'))!.state).toBe('Off');
  });

  test('a Saved VM starts', async () => {
    const sim = await openSim({ inventory: [{ name: 'app01', host: 'hv01', state: 'Saved' }] });
    expect((await sim.start(await ref(sim, 'app01'))).state).toBe('Running');
  });

  test.each([
    ['start a running VM', 'web02', (s: SimulatedHyperV, v: Parameters<SimulatedHyperV['start']>[0]) => s.start(v), /Cannot start web02: it is already running/],
    ['shut down a VM that is off', 'web01', (s: SimulatedHyperV, v: Parameters<SimulatedHyperV['start']>[0]) => s.stop(v, 'shutdown'), /Cannot shut down web01: it is already off/],
    ['turn off a VM that is off', 'web01', (s: SimulatedHyperV, v: Parameters<SimulatedHyperV['start']>[0]) => s.stop(v, 'turnoff'), /Cannot turn off web01: it is already off/],
  ])('refuses to %s with invalid_state', async (_what, name, act, message) => {
    const sim = await openSim();
    const before = (await sim.get(name))!.state;
    const e = await failure(act(sim, await ref(sim, name)));
    expect(e.code).toBe('invalid_state');
    expect(e.message).toMatch(message);
    expect((await sim.get(name))!.state).toBe(before);
  });

  test('a Saved VM cannot be shut down gracefully, and a starting one cannot be started again', async () => {
    const sim = await openSim({ inventory: [{ name: 'app01', host: 'hv01', state: 'Saved' }, { name: 'app02', host: 'hv01', state: 'Off' }] });
    expect((await failure(sim.stop(await ref(sim, 'app01'), 'shutdown'))).code).toBe('invalid_state');
    const slow = await openSim({ latencyMs: 30, inventory: [{ name: 'app02', host: 'hv01', state: 'Off' }] });
    const first = slow.start(await ref(slow, 'app02'));
    const e = await failure(slow.start(await ref(slow, 'app02')));
    expect(e.code).toBe('invalid_state');
    expect(e.message).toMatch(/already starting/);
    await first;
  });

  test('turn-off works from Running', async () => {
    const sim = await openSim();
    expect((await sim.stop(await ref(sim, 'db01'), 'turnoff')).state).toBe('Off');
  });

  test('a guest without the shutdown service fails a graceful stop, stays Running, and can be turned off', async () => {
    const sim = await openSim({ inventory: [{ name: 'legacy01', host: 'hv01', state: 'Running', guestShutdown: false }] });
    const e = await failure(sim.stop(await ref(sim, 'legacy01'), 'shutdown'));
    expect(e.code).toBe('failed');
    expect(e.message).toMatch(/did not shut down/);
    expect((await sim.get('legacy01'))!.state).toBe('Running');
    expect((await sim.stop(await ref(sim, 'legacy01'), 'turnoff')).state).toBe('Off');
  });

  test('acting on a VM that has gone (unknown id) is not_found', async () => {
    const sim = await openSim();
    const e = await failure(sim.start({ id: '00000000-0000-4000-8000-000000000000', name: 'ghost', host: 'hv01' }));
    expect(e.code).toBe('not_found');
  });

  test('state survives a reopen', async () => {
    const file = join(tempDir(), 'simulator.json');
    const a = await openSim({ file });
    await a.start(await ref(a, 'web01'));
    await a.stop(await ref(a, 'web02'), 'turnoff');
    const b = await openSim({ file });
    expect((await b.get('web01'))!.state).toBe('Running');
    expect((await b.get('web02'))!.state).toBe('Off');
    expect((await b.get('web01'))!.id).toBe((await a.get('web01'))!.id);
  });

  test('a VM left Starting (or Stopping) when the bot died settles on reopen', async () => {
    const file = join(tempDir(), 'simulator.json');
    await openSim({ file });
    const data = JSON.parse(readFileSync(file, 'utf8')) as { vms: { name: string; state: string }[] };
    data.vms.find((v) => v.name === 'web01')!.state = 'Starting';
    data.vms.find((v) => v.name === 'web02')!.state = 'Stopping';
    writeFileSync(file, JSON.stringify(data));
    const sim = await openSim({ file });
    expect((await sim.get('web01'))!.state).toBe('Running');
    expect((await sim.get('web02'))!.state).toBe('Off');
  });

  test('a damaged simulator file is a clear error naming it', async () => {
    const file = join(tempDir(), 'simulator.json');
    writeFileSync(file, '{"vms": [');
    await expect(openSim({ file })).rejects.toThrow(file);
  });

  test('create rejects an existing name (any case) and adds a new VM Off', async () => {
    const sim = await openSim();
    const spec = { name: 'WEB01', host: 'hv01', generation: 2 as const, cpuCount: 2, memoryMB: 4096, diskGB: 60, switch: 'Tenant-Web' };
    const e = await failure(sim.create(spec));
    expect(e.code).toBe('already_exists');
    expect((await sim.list())).toHaveLength(5);
    const vm = await sim.create({ ...spec, name: 'web03' });
    expect(vm).toMatchObject({ name: 'web03', host: 'hv01', state: 'Off', memoryMB: 4096 });
    expect((await sim.get('web03'))!.id).toBe(vm.id);
  });

  test('console grants: add, no duplicates, revoke, revoke again is harmless', async () => {
    const sim = await openSim();
    const web01 = await ref(sim, 'web01');
    await sim.grantConsole(web01, 'CONTOSO\\alice');
    await sim.grantConsole(web01, 'contoso\\ALICE');
    await sim.grantConsole(web01, 'CONTOSO\\bob');
    expect(await sim.consoleAccess(web01)).toEqual(['CONTOSO\\alice', 'CONTOSO\\bob']);
    expect(await sim.consoleAccess(await ref(sim, 'web02'))).toEqual([]);
    await sim.revokeConsole(web01, 'CONTOSO\\alice');
    expect(await sim.consoleAccess(web01)).toEqual(['CONTOSO\\bob']);
    await sim.revokeConsole(web01, 'CONTOSO\\alice');
    expect(await sim.consoleAccess(web01)).toEqual(['CONTOSO\\bob']);
  });

  test('console grants survive a reopen', async () => {
    const file = join(tempDir(), 'simulator.json');
    const a = await openSim({ file });
    await a.grantConsole(await ref(a, 'db01'), 'CONTOSO\\bob');
    const b = await openSim({ file });
    expect(await b.consoleAccess(await ref(b, 'db01'))).toEqual(['CONTOSO\\bob']);
  });
});
