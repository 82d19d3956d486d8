import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VmbotError } from '../src/core/errors';
import { loadInventory, SimulatedHyperV, type Inventory } from '../src/hyperv/simulator';
import { tempDir } from './support/app';

// Issue 7 item 9: VMBOT_SIM_INVENTORY is what the README says (JSON, inline or a file), its
// mistakes are one clear message, and a changed inventory is not silently ignored after the
// first run: the inventory wins, what happened to the VMs (power state, console grants) stays.

const configError = (f: () => unknown): VmbotError => {
  try {
    f();
  } catch (e) {
    return e as VmbotError;
  }
  throw new Error('accepted');
};

describe('VMBOT_SIM_INVENTORY', () => {
  test('inline JSON (as the README shows) and a file path give the same inventory', () => {
    const inv = [{ name: 'app01', host: 'hv05', state: 'Running' }];
    const file = join(tempDir(), 'inv.json');
    writeFileSync(file, JSON.stringify(inv));
    expect(loadInventory(JSON.stringify(inv))).toEqual(loadInventory(file));
    expect(loadInventory(`  ${JSON.stringify({ vms: inv, hosts: { hv05: { latencyMs: 10 } } })}`).hosts).toEqual({ hv05: { unreachable: false, latencyMs: 10 } });
  });

  test.each([
    ['a missing file', () => join(tempDir(), 'nope.json'), /VMBOT_SIM_INVENTORY \(.*nope\.json\): no such file/],
    ['a directory', () => tempDir(), /VMBOT_SIM_INVENTORY .*is a directory/],
    ['a file that is not JSON', () => { const f = join(tempDir(), 'inv.json'); writeFileSync(f, 'web01 hv01'); return f; }, /VMBOT_SIM_INVENTORY .*not valid JSON/],
    ['inline JSON that is cut off', () => '[{"name":"web01"', /VMBOT_SIM_INVENTORY: not valid JSON/],
    ['a VM without a host', () => '[{"name":"web01"}]', /VMBOT_SIM_INVENTORY: \[0\]\.host/],
    ['one name twice on one host', () => '[{"name":"web01","host":"hv01"},{"name":"WEB01","host":"HV01"}]', /a second VM named WEB01 on host HV01/],
    ['an unknown host option', () => '{"vms":[],"hosts":{"hv01":{"down":true}}}', /VMBOT_SIM_INVENTORY: hosts\.hv01/],
  ])('%s is one clear config error', (_what, value, message) => {
    const e = configError(() => loadInventory(value()));
    expect(e.code).toBe('config');
    expect(e.message).toMatch(message);
    expect(e.message).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('a changed inventory after the first run', () => {
  const first: Inventory = [
    { name: 'web01', host: 'hv01', state: 'Off' },
    { name: 'web02', host: 'hv01', state: 'Off' },
  ];
  const second: Inventory = [
    { name: 'web01', host: 'hv01', state: 'Off', memoryMB: 4096 },
    { name: 'app01', host: 'hv02', state: 'Running' },
  ];

  test('the inventory wins: VMs added and removed, hardware updated, power state and console grants kept, the change reported', async () => {
    const file = join(tempDir(), 'simulator.json');
    const a = await SimulatedHyperV.open({ file, inventory: first, latencyMs: 0 });
    expect(a.inventoryChanges).toBeNull(); // a first run seeds; nothing changed
    const web01 = (await a.get('web01'))!;
    await a.start(web01);
    await a.grantConsole(web01, 'CONTOSO\\alice');

    const b = await SimulatedHyperV.open({ file, inventory: second, latencyMs: 0 });
    expect((await b.list()).map((v) => [v.name, v.host, v.state, v.memoryMB])).toEqual([
      ['web01', 'hv01', 'Running', 4096],
      ['app01', 'hv02', 'Running', 2048],
    ]);
    expect((await b.get('web01'))!.id).toBe(web01.id);
    expect(await b.consoleAccess((await b.get('web01'))!)).toEqual(['CONTOSO\\alice']);
    expect(b.inventoryChanges).toEqual({ added: ['app01@hv02'], removed: ['web02@hv01'], changed: ['web01@hv01'] });

    // The same inventory again: nothing to report.
    expect((await SimulatedHyperV.open({ file, inventory: second, latencyMs: 0 })).inventoryChanges).toBeNull();
  });

  test('a VM the bot created (an approved request) survives an inventory change', async () => {
    const file = join(tempDir(), 'simulator.json');
    const a = await SimulatedHyperV.open({ file, inventory: first, latencyMs: 0 });
    await a.create({ name: 'web05', host: 'hv01', generation: 2, cpuCount: 2, memoryMB: 4096, diskGB: 60, switch: 'Tenant-Web' });
    const b = await SimulatedHyperV.open({ file, inventory: second, latencyMs: 0 });
    expect((await b.list()).map((v) => v.name).sort()).toEqual(['app01', 'web01', 'web05']);
  });

  test('without an explicit inventory the state file wins (the fixture only seeds a new data dir)', async () => {
    const file = join(tempDir(), 'simulator.json');
    await SimulatedHyperV.open({ file, inventory: second, latencyMs: 0 });
    const b = await SimulatedHyperV.open({ file, latencyMs: 0 });
    expect((await b.list()).map((v) => v.name)).toEqual(['web01', 'app01']);
    expect(b.inventoryChanges).toBeNull();
  });
});
