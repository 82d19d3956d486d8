import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Low } from 'lowdb';
import { z } from 'zod';
import { fsReason, VmbotError } from '../core/errors';
import { formatZodIssues } from '../policy/loader';
import { durableJsonAdapter } from '../state/json-adapter';
import {
  ambiguousNameError, canStart, canStop, hostUnreachableError, invalidStateError, NewVmSpecSchema, VmNameSchema, VmStateSchema,
  type Backend, type NewVmSpec, type StopMode, type VmInfo, type VmRef, type VmState,
} from './backend';

const SimVmSchema = z.object({
  id: z.string().uuid(),
  name: VmNameSchema,
  host: z.string().min(1),
  state: VmStateSchema,
  generation: z.number().int().default(2),
  cpuCount: z.number().int().default(2),
  memoryMB: z.number().int().default(2048),
  /** False models a guest without the shutdown integration service: graceful stop fails. */
  guestShutdown: z.boolean().default(true),
  startedAt: z.string().optional(),
  /** Created through an approved request: kept when the inventory file changes. */
  created: z.boolean().optional(),
});
type SimVm = z.infer<typeof SimVmSchema>;

/** How a simulated host behaves: down (every call to it fails as WinRM would), or slow. */
const HostBehaviourSchema = z.strictObject({
  unreachable: z.boolean().default(false),
  /** Added to every call that reaches this host (lookups, list, actions), in ms. */
  latencyMs: z.number().int().min(0).max(3_600_000).default(0),
});
export type HostBehaviour = z.input<typeof HostBehaviourSchema>;

const InventoryVmSchema = SimVmSchema.omit({ created: true }).partial({ id: true, state: true });
const InventoryObjectSchema = z.strictObject({
  vms: z.array(InventoryVmSchema),
  hosts: z.record(z.string().min(1), HostBehaviourSchema).default({}),
});

/**
 * The simulator's inventory: a list of VMs, or `{vms, hosts}` where `hosts` marks a host
 * unreachable or slow (`{"hv02": {"unreachable": true}, "hv01": {"latencyMs": 5000}}`).
 * One name on one host twice is an error; one name on two hosts is allowed (Hyper-V allows it,
 * and the bot must refuse to act on such a name).
 */
export const InventorySchema = z
  .union([z.array(InventoryVmSchema).transform((vms) => ({ vms, hosts: {} })), InventoryObjectSchema])
  .superRefine((inv, ctx) => {
    const seen = new Set<string>();
    inv.vms.forEach((v, i) => {
      const key = `${v.host.toLowerCase()}/${v.name.toLowerCase()}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['vms', i, 'name'], message: `a second VM named ${v.name} on host ${v.host}` });
      seen.add(key);
    });
  });
export type Inventory = z.input<typeof InventorySchema>;
export type ParsedInventory = z.output<typeof InventorySchema>;
type InventoryVm = ParsedInventory['vms'][number];

const SimStateSchema = z.object({
  vms: z.array(SimVmSchema),
  /** VM id -> accounts granted console access. */
  console: z.record(z.string(), z.array(z.string())),
  /** VM id -> account -> until when the bot meant the grant to last (ISO time). */
  consoleUntil: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  /** The VMBOT_SIM_INVENTORY text these VMs were last made to match (its digest) and its hosts. */
  inventory: z.strictObject({ digest: z.string(), hosts: z.record(z.string(), HostBehaviourSchema) }).optional(),
});
type SimState = z.infer<typeof SimStateSchema>;

/** The fixture inventory the example policy is written for (README "Simulator"). */
export const DEFAULT_INVENTORY: Inventory = [
  { name: 'web01', host: 'hv01', state: 'Off' },
  { name: 'web02', host: 'hv01', state: 'Running' },
  { name: 'db01', host: 'hv02', state: 'Running', memoryMB: 8192 },
  { name: 'db02', host: 'hv02', state: 'Off', memoryMB: 8192 },
  { name: 'dc01', host: 'hv01', state: 'Running' },
];

/**
 * VMBOT_SIM_INVENTORY as read (inline JSON, or the file it names), parsed and validated only when
 * needed: a restart whose state file already holds this very inventory (same digest) does not
 * parse and validate its 100k VMs again.
 */
export class InventoryText {
  readonly digest: string;
  constructor(
    private readonly where: string,
    /** The file's bytes (hashed as read: a restart that finds the digest never decodes them), or the inline JSON. */
    private readonly text: string | Buffer,
  ) {
    this.digest = createHash('sha256').update(text).digest('hex');
  }

  /** The inventory, validated; every problem is a config error naming the setting. */
  parse(): ParsedInventory {
    let json: unknown;
    try {
      json = JSON.parse(typeof this.text === 'string' ? this.text : this.text.toString('utf8'));
    } catch (e) {
      throw new VmbotError('config', `${this.where}: not valid JSON (${(e as Error).message}).`);
    }
    const r = InventorySchema.safeParse(json);
    if (!r.success) throw new VmbotError('config', formatZodIssues(this.where, r.error).join('\n'));
    return r.data;
  }
}

/**
 * VMBOT_SIM_INVENTORY: inline JSON (starts with `[` or `{`) or the path of a JSON file, read. A
 * file that cannot be read is a config error naming the setting; the JSON is checked by parse().
 */
export function readInventoryText(value: string, setting = 'VMBOT_SIM_INVENTORY'): InventoryText {
  const inline = /^\s*[[{]/.test(value);
  const where = inline ? setting : `${setting} (${value})`;
  if (inline) return new InventoryText(where, value);
  try {
    return new InventoryText(where, readFileSync(value));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new VmbotError('config', `${where}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a JSON file' : `cannot be read (${fsReason(e) ?? code ?? String(e)})`}. Give the path of a JSON inventory file, or the JSON itself.`);
  }
}

/** VMBOT_SIM_INVENTORY read and validated: a missing file, bad JSON, a wrong shape are config errors. */
export function loadInventory(value: string, setting = 'VMBOT_SIM_INVENTORY'): ParsedInventory {
  return readInventoryText(value, setting).parse();
}

/** What a changed inventory did to a simulator that already had state. */
export interface InventoryChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface SimulatorOptions {
  /** Where VM state survives restarts; in memory when omitted. */
  file?: string;
  /**
   * The VMs and hosts. Given explicitly (VMBOT_SIM_INVENTORY), it wins at every start: VMs it
   * lists exist with its hardware, others are removed (except VMs the bot created); only power
   * state and console grants carry over from the state file. Omitted, the fixture seeds a new
   * state file and the state file wins after that. As read from VMBOT_SIM_INVENTORY
   * (InventoryText), it is parsed only when the state file does not already hold it.
   */
  inventory?: Inventory | InventoryText;
  /** Time a start or graceful stop takes, in ms. */
  latencyMs?: number;
}

/** Transitional states the host finishes on its own while the bot is down. */
const SETTLED: Partial<Record<VmState, VmState>> = { Starting: 'Running', Stopping: 'Off', Saving: 'Saved', Pausing: 'Paused', Resuming: 'Running' };

const vmKey = (v: { name: string; host: string }) => `${v.host.toLowerCase()}/${v.name.toLowerCase()}`;
const HARDWARE = ['generation', 'cpuCount', 'memoryMB', 'guestShutdown'] as const;

/**
 * A Hyper-V host in software: real state names and transitions, latency, and the errors a
 * real host gives (unknown VM, invalid state, failed guest shutdown, a host that does not
 * answer, a name on two hosts).
 */
export class SimulatedHyperV implements Backend {
  readonly kind = 'simulator' as const;
  /** VM id -> VM: every action finds its VM by id (a scan per call made a pass over 100k VMs quadratic). */
  private readonly byId = new Map<string, SimVm>();
  /** Lower-cased host of every VM (list and get reach all of them). */
  private readonly vmHosts = new Set<string>();
  /** Lower-cased name -> VMs of that name; built on the first lookup by name, not at start-up. */
  private byName: Map<string, SimVm[]> | null = null;

  private constructor(
    private readonly db: Low<SimState>,
    private readonly latencyMs: number,
    private readonly hosts: Map<string, z.infer<typeof HostBehaviourSchema>>,
    /** What a changed VMBOT_SIM_INVENTORY did at this start (null: no explicit inventory, or nothing changed). */
    readonly inventoryChanges: InventoryChanges | null,
  ) {
    for (const vm of db.data.vms) this.index(vm);
  }

  private index(vm: SimVm): void {
    this.byId.set(vm.id, vm);
    this.vmHosts.add(vm.host.toLowerCase());
    if (this.byName) {
      const key = vm.name.toLowerCase();
      const same = this.byName.get(key);
      if (same) same.push(vm);
      else this.byName.set(key, [vm]);
    }
  }

  private named(name: string): SimVm[] {
    if (!this.byName) {
      this.byName = new Map();
      for (const vm of this.db.data.vms) {
        const key = vm.name.toLowerCase();
        const same = this.byName.get(key);
        if (same) same.push(vm);
        else this.byName.set(key, [vm]);
      }
    }
    return this.byName.get(name.toLowerCase()) ?? [];
  }

  static async open(opts: SimulatorOptions = {}): Promise<SimulatedHyperV> {
    const text = opts.inventory instanceof InventoryText ? opts.inventory : null;
    const now = new Date().toISOString();
    // The inventory was parsed for this open (zod hands out new objects): its VMs become the
    // simulator's in place. A copy of 100k VMs was mostly garbage-collector time.
    const fresh = (v: InventoryVm): SimVm => {
      const vm: SimVm = Object.assign(v, { id: v.id ?? randomUUID(), state: v.state ?? 'Off' });
      // A VM seeded as running booted now, as far as anyone can tell (uptime is then known).
      if (vm.state === 'Running' && !vm.startedAt) vm.startedAt = now;
      return vm;
    };
    const adapter = opts.file
      ? durableJsonAdapter(opts.file, (v) => {
          const r = SimStateSchema.safeParse(v);
          if (!r.success) throw new VmbotError('config', formatZodIssues(opts.file!, r.error).join('\n'));
          return r.data;
        })
      : { read: async () => null, write: async () => undefined };
    const stored = await adapter.read();
    // The state file already holds this very inventory (the same text, validated and applied when
    // its digest was recorded; the simulator itself only adds VMs it creates, which an inventory
    // keeps anyway): nothing to parse or apply. A state file edited by hand is not re-checked
    // against an unchanged inventory; changing the inventory is.
    const current = text && stored?.inventory?.digest === text.digest ? stored.inventory : null;
    const inventory = current ? { vms: [], hosts: current.hosts } : text ? text.parse() : InventorySchema.parse(opts.inventory ?? DEFAULT_INVENTORY);
    const db = new Low<SimState>(adapter, stored ?? { vms: inventory.vms.map(fresh), console: {}, consoleUntil: {} });
    const changes = stored && opts.inventory && !current ? applyInventory(db.data, inventory.vms, fresh) : null;
    const changed = changes && changes.added.length + changes.removed.length + changes.changed.length ? changes : null;
    const recorded = text && !current;
    if (text) db.data.inventory = { digest: text.digest, hosts: inventory.hosts };
    else if (opts.inventory) delete db.data.inventory; // applied from a value: no text to compare with next time
    let settledAny = false;
    for (const vm of db.data.vms) {
      const settled = SETTLED[vm.state];
      if (!settled) continue;
      // A start cut off by a restart finished while we were down: its uptime counts from now,
      // never from an earlier boot's startedAt.
      if (settled === 'Running' && vm.state === 'Starting') vm.startedAt = now;
      vm.state = settled;
      settledAny = true;
    }
    // Written only when it differs from the file: a new data dir records its seed (the file
    // wins after that); an unchanged inventory of 100k VMs is not rewritten at every start.
    if (!stored || changed || settledAny || recorded) await db.write();
    const hosts = new Map(Object.entries(inventory.hosts).map(([h, b]) => [h.toLowerCase(), HostBehaviourSchema.parse(b)]));
    return new SimulatedHyperV(db, opts.latencyMs ?? 400, hosts, changed);
  }

  /** Mark a host down or slow while running (tests, demos); the inventory's `hosts` does it at start. */
  setHost(host: string, behaviour: HostBehaviour): void {
    this.hosts.set(host.toLowerCase(), HostBehaviourSchema.parse(behaviour));
  }

  /** Every host the simulator knows: those with VMs and those named in the inventory. */
  private allHosts(): string[] {
    return [...new Set([...this.vmHosts, ...this.hosts.keys()])];
  }

  /**
   * A call reaching `hosts`, as the PowerShell backend makes one per host in parallel: it takes
   * as long as the slowest, and fails if any of them does not answer.
   */
  private reach(hosts: string[]): Promise<void> | void {
    if (!this.hosts.size) return; // no host marked down or slow: every call answers at once
    const behaviour = hosts.map((h) => ({ host: h, ...(this.hosts.get(h.toLowerCase()) ?? { unreachable: false, latencyMs: 0 }) }));
    const down = behaviour.find((b) => b.unreachable);
    const fail = () => {
      if (down) throw hostUnreachableError(down.host, `simulated: host ${down.host} is marked unreachable in the inventory`);
    };
    const slowest = Math.max(0, ...behaviour.map((b) => b.latencyMs));
    // Synchronous when the hosts are healthy, so state changes keep their order (Starting is seen at once).
    if (!slowest) return fail();
    return new Promise<void>((r) => setTimeout(r, slowest)).then(fail);
  }

  private info(vm: SimVm): VmInfo {
    const { guestShutdown: _g, startedAt, created: _c, ...rest } = vm;
    // Uptime only for a running VM whose boot time is known (Get-VM reports 0 for any other).
    const uptimeSec = vm.state === 'Running' && startedAt ? Math.max(0, Math.floor((Date.now() - Date.parse(startedAt)) / 1000)) : undefined;
    return { ...rest, ...(uptimeSec !== undefined ? { uptimeSec } : {}) };
  }

  /**
   * The VM acted on. Synchronous unless its host is slow, so a healthy simulator changes state
   * in call order (a start is seen as Starting at once); await the result only when it is a promise.
   */
  private find(ref: VmRef): SimVm | Promise<SimVm> {
    const lookup = () => {
      const vm = this.byId.get(ref.id);
      if (!vm) throw new VmbotError('not_found', `Hyper-V was unable to find a virtual machine with name "${ref.name}".`);
      return vm;
    };
    const reached = this.reach([ref.host]);
    return reached ? reached.then(lookup) : lookup();
  }

  private async set(vm: SimVm, state: VmState): Promise<void> {
    vm.state = state;
    if (state === 'Running') vm.startedAt = new Date().toISOString();
    await this.db.write();
  }

  private wait(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.latencyMs));
  }

  async list(): Promise<VmInfo[]> {
    const reached = this.reach(this.allHosts());
    if (reached) await reached;
    return this.db.data.vms.map((v) => this.info(v));
  }

  async get(name: string): Promise<VmInfo | null> {
    const reached = this.reach(this.allHosts());
    if (reached) await reached;
    const found = this.named(name);
    if (found.length > 1) throw ambiguousNameError(name, found);
    return found[0] ? this.info(found[0]) : null;
  }

  async start(ref: VmRef): Promise<VmInfo> {
    const found = this.find(ref);
    const vm = found instanceof Promise ? await found : found;
    if (!canStart(vm.state)) throw invalidState(vm, 'start');
    await this.set(vm, 'Starting');
    await this.wait();
    await this.set(vm, 'Running');
    return this.info(vm);
  }

  async stop(ref: VmRef, mode: StopMode): Promise<VmInfo> {
    const found = this.find(ref);
    const vm = found instanceof Promise ? await found : found;
    if (!canStop(vm.state, mode)) throw invalidState(vm, mode === 'turnoff' ? 'turn off' : 'shut down');
    if (mode === 'turnoff') {
      await this.set(vm, 'Off');
      return this.info(vm);
    }
    if (!vm.guestShutdown)
      throw new VmbotError('failed', `${vm.name} did not shut down: the guest does not answer shutdown requests (no Hyper-V shutdown integration service).`);
    await this.set(vm, 'Stopping');
    await this.wait();
    await this.set(vm, 'Off');
    return this.info(vm);
  }

  async grantConsole(ref: VmRef, account: string, until?: Date): Promise<void> {
    const found = this.find(ref);
    const vm = found instanceof Promise ? await found : found;
    if (until) (this.db.data.consoleUntil[vm.id] ??= {})[account.toLowerCase()] = until.toISOString();
    const list = (this.db.data.console[vm.id] ??= []);
    if (!list.some((a) => a.toLowerCase() === account.toLowerCase())) list.push(account);
    await this.db.write();
  }

  async revokeConsole(ref: VmRef, account: string): Promise<void> {
    const found = this.find(ref);
    const vm = found instanceof Promise ? await found : found;
    const list = this.db.data.console[vm.id] ?? [];
    this.db.data.console[vm.id] = list.filter((a) => a.toLowerCase() !== account.toLowerCase());
    delete this.db.data.consoleUntil[vm.id]?.[account.toLowerCase()];
    await this.db.write();
  }

  /** Who may connect to the VM, and until when the bot meant it (tests check grants here). */
  async consoleGrants(ref: VmRef): Promise<Array<{ account: string; until: string | null }>> {
    const found = this.find(ref);
    const vm = found instanceof Promise ? await found : found;
    return (this.db.data.console[vm.id] ?? []).map((account) => ({ account, until: this.db.data.consoleUntil[vm.id]?.[account.toLowerCase()] ?? null }));
  }

  async consoleAccessAll(): Promise<{ vm: VmRef; accounts: string[] }[]> {
    const reached = this.reach(this.allHosts());
    if (reached) await reached;
    const out: { vm: VmRef; accounts: string[] }[] = [];
    for (const [id, accounts] of Object.entries(this.db.data.console)) {
      const vm = this.byId.get(id);
      if (vm && accounts.length) out.push({ vm: { id, name: vm.name, host: vm.host }, accounts: [...accounts] });
    }
    return out;
  }

  async consoleAccess(ref: VmRef): Promise<string[]> {
    return [...(this.db.data.console[(await this.find(ref)).id] ?? [])];
  }

  async create(input: NewVmSpec): Promise<VmInfo> {
    const spec = NewVmSpecSchema.parse(input);
    const reached = this.reach([spec.host]);
    if (reached) await reached;
    if (this.named(spec.name).length)
      throw new VmbotError('already_exists', `A VM named ${spec.name} already exists.`);
    const vm: SimVm = {
      id: randomUUID(), name: spec.name, host: spec.host, state: 'Off', generation: spec.generation,
      cpuCount: spec.cpuCount, memoryMB: spec.memoryMB, guestShutdown: true, created: true,
    };
    this.db.data.vms.push(vm);
    this.index(vm);
    await this.db.write();
    return this.info(vm);
  }

  async close(): Promise<void> {}
}

const invalidState = (vm: SimVm, action: string) => invalidStateError(vm.name, vm.state, action);

/**
 * Make the simulator's VMs what the inventory lists (it wins), keeping what happened to them:
 * power state, uptime and console grants of a VM still listed on the same host, and VMs the
 * bot created. Returns the changes, so start-up can say them instead of ignoring the file.
 */
function applyInventory(data: SimState, listed: readonly InventoryVm[], fresh: (v: InventoryVm) => SimVm): InventoryChanges {
  const before = new Map<string, SimVm>();
  for (const v of data.vms) before.set(vmKey(v), v);
  const changes: InventoryChanges = { added: [], removed: [], changed: [] };
  const vms: SimVm[] = [];
  for (const want of listed) {
    const key = vmKey(want);
    const had = before.get(key);
    if (!had || had.created) {
      vms.push(fresh(want));
      changes.added.push(`${want.name}@${want.host}`);
      continue;
    }
    before.delete(key);
    if (HARDWARE.some((k) => had[k] !== want[k])) changes.changed.push(`${want.name}@${want.host}`);
    // The inventory's names and hardware; what happened to the VM (id, power state, uptime) stays.
    // In place: a copy of each of 100k VMs at every start was most of the simulator's start-up.
    had.name = want.name;
    had.host = want.host;
    had.generation = want.generation;
    had.cpuCount = want.cpuCount;
    had.memoryMB = want.memoryMB;
    had.guestShutdown = want.guestShutdown;
    vms.push(had);
  }
  for (const old of before.values()) {
    if (old.created) vms.push(old);
    else {
      changes.removed.push(`${old.name}@${old.host}`);
      delete data.console[old.id];
      delete data.consoleUntil[old.id];
    }
  }
  data.vms = vms;
  return changes;
}
