import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadInventory, readInventoryText, SimulatedHyperV, type Inventory } from '../src/hyperv/simulator';
import type { VmInfo } from '../src/hyperv/backend';
import { duplicateJsonKey, parsePolicyText, validatePolicy } from '../src/policy/loader';
import { tempDir } from './support/app';

// Issue 10: start-up at 10k users / 100k VMs. The work it skips must not change what the bot
// does: these tests hold the behaviour (no timing here; bench/startup.ts measures).

const inventory: Inventory = [
  { name: 'web01', host: 'hv01', state: 'Off' },
  { name: 'web02', host: 'hv01', state: 'Running' },
  { name: 'WEB02', host: 'hv02', state: 'Off' },
];
const openSim = (file: string, inv: Inventory | undefined = inventory) => SimulatedHyperV.open({ file, inventory: inv, latencyMs: 0 });
/** The file's identity: a durable rewrite (temp file + rename) gives it a new inode. */
const fileId = (file: string) => {
  const s = statSync(file);
  return `${s.ino}:${s.mtimeMs}`;
};

describe('simulator start-up does only the work a change needs', () => {
  test('an unchanged inventory does not rewrite the state file; what happened to the VMs is kept', async () => {
    const file = join(tempDir(), 'simulator.json');
    const a = await openSim(file);
    const web01 = (await a.get('web01'))!;
    await a.start(web01);
    await a.grantConsole(web01, 'CONTOSO\\alice');
    const written = fileId(file);
    const text = readFileSync(file, 'utf8');

    const b = await openSim(file);
    expect(fileId(file)).toBe(written);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(b.inventoryChanges).toBeNull();
    expect((await b.get('web01'))!).toMatchObject({ id: web01.id, state: 'Running' });
    expect(await b.consoleAccess(web01)).toEqual(['CONTOSO\\alice']);
  });

  test('a VM left Starting is settled and written; a changed inventory is written', async () => {
    const file = join(tempDir(), 'simulator.json');
    await openSim(file);
    const data = JSON.parse(readFileSync(file, 'utf8')) as { vms: { name: string; state: string }[] };
    data.vms.find((v) => v.name === 'web01')!.state = 'Starting';
    writeFileSync(file, JSON.stringify(data));
    await openSim(file);
    expect((JSON.parse(readFileSync(file, 'utf8')) as typeof data).vms.find((v) => v.name === 'web01')!.state).toBe('Running');

    const c = await openSim(file, [...(inventory as object[]), { name: 'app01', host: 'hv03' }] as Inventory);
    expect(c.inventoryChanges).toEqual({ added: ['app01@hv03'], removed: [], changed: [] });
    expect((JSON.parse(readFileSync(file, 'utf8')) as typeof data).vms.map((v) => v.name)).toContain('app01');
  });

  test('an inventory loaded from VMBOT_SIM_INVENTORY opens the same simulator as the literal one', async () => {
    const invFile = join(tempDir(), 'inventory.json');
    writeFileSync(invFile, JSON.stringify(inventory));
    const fromFile = await SimulatedHyperV.open({ inventory: loadInventory(invFile), latencyMs: 0 });
    const literal = await SimulatedHyperV.open({ inventory, latencyMs: 0 });
    const shape = (vms: VmInfo[]) => vms.map(({ name, host, state, memoryMB }) => ({ name, host, state, memoryMB }));
    expect(shape(await fromFile.list())).toEqual(shape(await literal.list()));
  });

  test('lookups by name and by id after a create (the indexes follow new VMs)', async () => {
    const sim = await SimulatedHyperV.open({ inventory, latencyMs: 0 });
    await expect(sim.get('web02')).rejects.toMatchObject({ code: 'ambiguous' });
    const created = await sim.create({ name: 'web05', host: 'hv01', generation: 2, cpuCount: 2, memoryMB: 4096, diskGB: 60, switch: 'Tenant-Web' });
    expect((await sim.get('WEB05'))!.id).toBe(created.id);
    await expect(sim.create({ name: 'Web05', host: 'hv02', generation: 2, cpuCount: 2, memoryMB: 4096, diskGB: 60, switch: 'Tenant-Web' })).rejects.toMatchObject({ code: 'already_exists' });
    expect((await sim.start(created)).state).toBe('Running');
    await sim.grantConsole(created, 'CONTOSO\\bob');
    expect(await sim.consoleAccess(created)).toEqual(['CONTOSO\\bob']);
  });

  test('consoleAccessAll (the reconcile pass) answers what consoleAccess says VM by VM; a host down fails it like list', async () => {
    const sim = await SimulatedHyperV.open({ inventory, latencyMs: 0 });
    const vms = await sim.list();
    await sim.grantConsole(vms[0]!, 'CONTOSO\\alice');
    await sim.grantConsole(vms[2]!, 'CONTOSO\\bob');
    await sim.grantConsole(vms[2]!, 'CONTOSO\\carol');
    await sim.revokeConsole(vms[2]!, 'CONTOSO\\bob');
    const oneByOne = [];
    for (const vm of vms) {
      const accounts = await sim.consoleAccess(vm);
      if (accounts.length) oneByOne.push({ vm: { id: vm.id, name: vm.name, host: vm.host }, accounts });
    }
    expect(await sim.consoleAccessAll()).toEqual(oneByOne);
    sim.setHost('hv02', { unreachable: true });
    await expect(sim.consoleAccessAll()).rejects.toMatchObject({ code: 'host_unreachable' });
    await expect(sim.list()).rejects.toMatchObject({ code: 'host_unreachable' });
  });
});

describe('a restart with the same VMBOT_SIM_INVENTORY text does not parse it again', () => {
  const setup = () => {
    const dir = tempDir();
    const invFile = join(dir, 'inventory.json');
    const write = (inv: unknown) => writeFileSync(invFile, JSON.stringify(inv));
    const open = () => SimulatedHyperV.open({ file: join(dir, 'simulator.json'), inventory: readInventoryText(invFile), latencyMs: 0 });
    return { file: join(dir, 'simulator.json'), write, open };
  };

  test('same text: nothing applied or rewritten, what happened is kept; changed text: applied and reported', async () => {
    const s = setup();
    s.write(inventory);
    const a = await s.open();
    const web01 = (await a.get('web01'))!;
    await a.start(web01);
    await a.grantConsole(web01, 'CONTOSO\\alice');
    const made = await a.create({ name: 'web05', host: 'hv01', generation: 2, cpuCount: 2, memoryMB: 4096, diskGB: 60, switch: 'Tenant-Web' });
    const written = fileId(s.file);

    const b = await s.open();
    expect(fileId(s.file)).toBe(written);
    expect(b.inventoryChanges).toBeNull();
    expect((await b.get('web01'))!).toMatchObject({ id: web01.id, state: 'Running' });
    expect(await b.consoleAccess(web01)).toEqual(['CONTOSO\\alice']);
    expect((await b.get('web05'))!.id).toBe(made.id);

    s.write({ vms: [...(inventory as object[]), { name: 'app01', host: 'hv04' }], hosts: {} });
    const c = await s.open();
    expect(c.inventoryChanges).toEqual({ added: ['app01@hv04'], removed: [], changed: [] });
    expect((await c.list()).map((v) => v.name)).toEqual(['web01', 'web02', 'WEB02', 'app01', 'web05']);
    expect((await c.get('web01'))!.state).toBe('Running');
  });

  test("the inventory's hosts still apply when it is not parsed again", async () => {
    const s = setup();
    s.write({ vms: inventory, hosts: { hv03: { unreachable: true } } });
    await expect((await s.open()).list()).rejects.toMatchObject({ code: 'host_unreachable' });
    const written = fileId(s.file);
    await expect((await s.open()).list()).rejects.toMatchObject({ code: 'host_unreachable' });
    expect(fileId(s.file)).toBe(written);
  });

  test('an inventory given as a value in between is applied, and the text is applied again after it', async () => {
    const s = setup();
    s.write(inventory);
    await s.open();
    const other = await SimulatedHyperV.open({ file: s.file, inventory: [{ name: 'solo01', host: 'hv01' }], latencyMs: 0 });
    expect((await other.list()).map((v) => v.name)).toEqual(['solo01']);
    const back = await s.open();
    expect(back.inventoryChanges).toEqual({ added: ['web01@hv01', 'web02@hv01', 'WEB02@hv02'], removed: ['solo01@hv01'], changed: [] });
  });

  test('a broken inventory is still the same config error when a state file exists', async () => {
    const s = setup();
    s.write(inventory);
    await s.open();
    writeFileSync(join(s.file, '..', 'inventory.json'), '[{"name":"web01"}]');
    await expect(s.open()).rejects.toMatchObject({ code: 'config', message: expect.stringMatching(/VMBOT_SIM_INVENTORY \(.*inventory\.json\): \[0\]\.host/) });
  });
});

describe('a policy is refused as before the faster parse and schema', () => {
  test('a key given twice in one object is found, escaped or not, and only within one object', () => {
    expect(duplicateJsonKey('{"users": {"alice": {}, "bob": {}, "alice": {}}}')).toEqual({ key: 'alice', offset: 35 });
    expect(duplicateJsonKey('{"users": {"alice": {}, "al\\u0069ce": {}}}')).toEqual({ key: 'alice', offset: 24 });
    expect(duplicateJsonKey('{"a": {"x": 1}, "b": {"x": 1}, "c": ["x", "x"], "d": "\\"x\\": 1"}')).toBeNull();
    expect(() => parsePolicyText('p.json', '{\n  "version": 1,\n  "version": 1\n}')).toThrow('p.json: line 3, column 3: the key "version" appears twice in the same object');
  });

  test('schema, reference and S 4.413 errors: the same messages, every one of them', () => {
    const policy = {
      version: 1,
      users: {
        alice: { identities: ['local:alice'], groups: ['nosuch'] },
        'bad name!': { identities: ['local:x'] },
        toString: { identities: ['local:alice'] },
      },
      roles: { wide: { operations: ['Delete Virtual Machine'] } },
      scopes: { web: { vms: ['web*'] } },
      assignments: [{ role: 'wide', scope: 'nowhere', users: ['alice'] }],
    };
    let message = '';
    try {
      validatePolicy('p.json', policy, new Date('2030-01-01'));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'p.json: users.bad name!: Invalid key in record',
      'p.json: users.alice.groups[1]: user "alice" is in group "nosuch", which is not defined under groups',
      'p.json: users.toString.identities[1]: identity "local:alice" is claimed by both "alice" and "toString"',
      'p.json: assignments[1].scope: assignment 1 names scope "nowhere", which is not defined',
      'p.json: roles.wide.operations[1]: role "wide" grants "Delete Virtual Machine", which S 4.413 does not permit for guest administrators (only Start, Stop, Allow Input, Allow Output). Remove it, or add an exception with securityAnalysis and expires.',
    ]);
  });
});

