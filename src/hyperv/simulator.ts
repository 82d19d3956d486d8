import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Low } from 'lowdb';
import { z } from 'zod';
import { VmbotError } from '../core/errors';
import { formatZodIssues } from '../policy/loader';
import { durableJsonAdapter } from '../state/json-adapter';
import {
  canStart, canStop, invalidStateError, NewVmSpecSchema, VmNameSchema, VmStateSchema,
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
});
type SimVm = z.infer<typeof SimVmSchema>;

export const InventorySchema = z.array(SimVmSchema.partial({ id: true, state: true }));
export type Inventory = z.input<typeof InventorySchema>;

const SimStateSchema = z.object({
  vms: z.array(SimVmSchema),
  /** VM id -> accounts granted console access. */
  console: z.record(z.string(), z.array(z.string())),
  /** VM id -> account -> until when the bot meant the grant to last (ISO time). */
  consoleUntil: z.record(z.string(), z.record(z.string(), z.string())).default({}),
});
type SimState = z.infer<typeof SimStateSchema>;

/** The fixture inventory of DESIGN.md. */
export const DEFAULT_INVENTORY: Inventory = [
  { name: 'web01', host: 'hv01', state: 'Off' },
  { name: 'web02', host: 'hv01', state: 'Running' },
  { name: 'db01', host: 'hv02', state: 'Running', memoryMB: 8192 },
  { name: 'db02', host: 'hv02', state: 'Off', memoryMB: 8192 },
  { name: 'dc01', host: 'hv01', state: 'Running' },
];

export function loadInventoryFile(file: string): Inventory {
  const r = InventorySchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success) throw new VmbotError('config', formatZodIssues(file, r.error).join('\n'));
  return r.data;
}

export interface SimulatorOptions {
  /** Where VM state survives restarts; in memory when omitted. */
  file?: string;
  inventory?: Inventory;
  /** Time a start or graceful stop takes, in ms. */
  latencyMs?: number;
}

/** Transitional states the host finishes on its own while the bot is down. */
const SETTLED: Partial<Record<VmState, VmState>> = { Starting: 'Running', Stopping: 'Off', Saving: 'Saved', Pausing: 'Paused', Resuming: 'Running' };

/**
 * A Hyper-V host in software: real state names and transitions, latency, and the errors a
 * real host gives (unknown VM, invalid state, failed guest shutdown).
 */
export class SimulatedHyperV implements Backend {
  readonly kind = 'simulator' as const;
  private constructor(
    private readonly db: Low<SimState>,
    private readonly latencyMs: number,
  ) {}

  static async open(opts: SimulatorOptions = {}): Promise<SimulatedHyperV> {
    const seed = (): SimState => ({
      vms: InventorySchema.parse(opts.inventory ?? DEFAULT_INVENTORY).map((v) => ({
        ...v, id: v.id ?? randomUUID(), state: v.state ?? 'Off',
        // A VM seeded as running booted now, as far as anyone can tell (uptime is then known).
        ...(v.state === 'Running' && !v.startedAt ? { startedAt: new Date().toISOString() } : {}),
      })),
      console: {},
      consoleUntil: {},
    });
    const adapter = opts.file
      ? durableJsonAdapter(opts.file, (v) => {
          const r = SimStateSchema.safeParse(v);
          if (!r.success) throw new VmbotError('config', formatZodIssues(opts.file!, r.error).join('\n'));
          return r.data;
        })
      : { read: async () => null, write: async () => undefined };
    const db = new Low<SimState>(adapter, seed());
    await db.read();
    for (const vm of db.data.vms) {
      const settled = SETTLED[vm.state];
      if (!settled) continue;
      // A start cut off by a restart finished while we were down: its uptime counts from now,
      // never from an earlier boot's startedAt.
      if (settled === 'Running' && vm.state === 'Starting') vm.startedAt = new Date().toISOString();
      vm.state = settled;
    }
    await db.write();
    return new SimulatedHyperV(db, opts.latencyMs ?? 400);
  }

  private info(vm: SimVm): VmInfo {
    const { guestShutdown: _g, startedAt, ...rest } = vm;
    // Uptime only for a running VM whose boot time is known (Get-VM reports 0 for any other).
    const uptimeSec = vm.state === 'Running' && startedAt ? Math.max(0, Math.floor((Date.now() - Date.parse(startedAt)) / 1000)) : undefined;
    return { ...rest, ...(uptimeSec !== undefined ? { uptimeSec } : {}) };
  }

  private find(ref: VmRef): SimVm {
    const vm = this.db.data.vms.find((v) => v.id === ref.id);
    if (!vm) throw new VmbotError('not_found', `Hyper-V was unable to find a virtual machine with name "${ref.name}".`);
    return vm;
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
    return this.db.data.vms.map((v) => this.info(v));
  }

  async get(name: string): Promise<VmInfo | null> {
    const lower = name.toLowerCase();
    const vm = this.db.data.vms.find((v) => v.name.toLowerCase() === lower);
    return vm ? this.info(vm) : null;
  }

  async start(ref: VmRef): Promise<VmInfo> {
    const vm = this.find(ref);
    if (!canStart(vm.state)) throw invalidState(vm, 'start');
    await this.set(vm, 'Starting');
    await this.wait();
    await this.set(vm, 'Running');
    return this.info(vm);
  }

  async stop(ref: VmRef, mode: StopMode): Promise<VmInfo> {
    const vm = this.find(ref);
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
    const vm = this.find(ref);
    if (until) (this.db.data.consoleUntil[vm.id] ??= {})[account.toLowerCase()] = until.toISOString();
    const list = (this.db.data.console[vm.id] ??= []);
    if (!list.some((a) => a.toLowerCase() === account.toLowerCase())) list.push(account);
    await this.db.write();
  }

  async revokeConsole(ref: VmRef, account: string): Promise<void> {
    const vm = this.find(ref);
    const list = this.db.data.console[vm.id] ?? [];
    this.db.data.console[vm.id] = list.filter((a) => a.toLowerCase() !== account.toLowerCase());
    delete this.db.data.consoleUntil[vm.id]?.[account.toLowerCase()];
    await this.db.write();
  }

  /** Who may connect to the VM, and until when the bot meant it (tests check grants here). */
  async consoleGrants(ref: VmRef): Promise<Array<{ account: string; until: string | null }>> {
    const vm = this.find(ref);
    return (this.db.data.console[vm.id] ?? []).map((account) => ({ account, until: this.db.data.consoleUntil[vm.id]?.[account.toLowerCase()] ?? null }));
  }

  async consoleAccess(ref: VmRef): Promise<string[]> {
    return [...(this.db.data.console[this.find(ref).id] ?? [])];
  }

  async create(input: NewVmSpec): Promise<VmInfo> {
    const spec = NewVmSpecSchema.parse(input);
    if (await this.get(spec.name)) throw new VmbotError('already_exists', `A VM named ${spec.name} already exists.`);
    const vm: SimVm = {
      id: randomUUID(), name: spec.name, host: spec.host, state: 'Off', generation: spec.generation,
      cpuCount: spec.cpuCount, memoryMB: spec.memoryMB, guestShutdown: true,
    };
    this.db.data.vms.push(vm);
    await this.db.write();
    return this.info(vm);
  }

  async close(): Promise<void> {}
}

const invalidState = (vm: SimVm, action: string) => invalidStateError(vm.name, vm.state, action);
