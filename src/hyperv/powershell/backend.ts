import { join } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../../core/config';
import { VmbotError } from '../../core/errors';
import {
  ambiguousNameError,
  NewVmSpecSchema, VmInfoSchema, VmRefSchema,
  type Backend, type NewVmSpec, type StopMode, type VmInfo, type VmRef,
} from '../backend';
import { mapPsFailure, type PsCall } from './errors';
import { PwshPool, type PoolOptions } from './pool';
import { invocation, psQuote } from './quote';

export const RUNNER_MODULE = join(packageRoot(), 'src', 'hyperv', 'powershell', 'VmbotRunner.psm1');

export interface PowerShellBackendOptions {
  hosts: string[];
  pool: Omit<PoolOptions, 'setup'>;
  /** Extra module folders (PSModulePath) for the sessions: tests put the Hyper-V simulation here. */
  modulePath?: string;
  /** JEA session configuration on the hosts (from `vmbot policy export jea`); direct -ComputerName when unset. */
  jeaEndpoint?: string;
}

/** One line of runner output: `{ok:true,result}` or `{ok:false,fqid,category,message}`. */
const ReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), fqid: z.string(), category: z.string(), message: z.string() }),
]);

/** pwsh's ConvertTo-Json turns a one-element array into the element; undo that. */
const many = <T extends z.ZodType>(item: T) => z.preprocess((v) => (v === null ? [] : Array.isArray(v) ? v : [v]), z.array(item));

/** One VM's grants in the runner's consoleAccessAll reply (Get-VMConnectAccess grouped by VMId). */
const HostGrantSchema = z.object({ id: z.string(), name: z.string(), accounts: many(z.string()) });

/**
 * Hyper-V through pwsh: every call is `Invoke-Vmbot -Request '<JSON>'` in a warm session of the
 * pool (VmbotRunner.psm1 does the Hyper-V work). Values travel only inside that JSON literal.
 */
export class PowerShellBackend implements Backend {
  readonly kind = 'powershell' as const;

  private constructor(
    private readonly pool: PwshPool,
    private readonly hosts: string[],
  ) {}

  static async open(opts: PowerShellBackendOptions): Promise<PowerShellBackend> {
    const env = { ...(opts.pool.env ?? process.env) };
    if (opts.modulePath) env.PSModulePath = [opts.modulePath, env.PSModulePath].filter(Boolean).join(process.platform === 'win32' ? ';' : ':');
    const setup = [
      "$ProgressPreference = 'SilentlyContinue'",
      `Import-Module -Name ${psQuote(RUNNER_MODULE)} -Force -ErrorAction Stop`,
      ...(opts.jeaEndpoint ? [`Set-VmbotJeaEndpoint -ConfigurationName ${psQuote(opts.jeaEndpoint)}`] : []),
    ];
    const pool = await PwshPool.open({ ...opts.pool, env, setup });
    return new PowerShellBackend(pool, opts.hosts);
  }

  get stats() {
    return this.pool.stats;
  }

  /** One request to the runner; its reply validated, its failure mapped to a user-facing error. */
  async call<T extends z.ZodType>(request: Record<string, unknown>, result: T, ctx: PsCall): Promise<z.infer<T>> {
    const raw = await this.pool.run(invocation('Invoke-Vmbot', request));
    const line = raw.split(/\r?\n/).filter((l) => l.trim().startsWith('{')).pop();
    let reply: z.infer<typeof ReplySchema>;
    try {
      reply = ReplySchema.parse(JSON.parse(line ?? ''));
    } catch {
      throw new VmbotError('failed', `Hyper-V gave an answer the bot does not understand (${ctx.action}).`, raw.slice(0, 2000));
    }
    if (!reply.ok) throw mapPsFailure(reply, ctx);
    const parsed = result.safeParse(reply.result);
    if (!parsed.success) throw new VmbotError('failed', `Hyper-V gave an answer the bot does not understand (${ctx.action}).`, raw.slice(0, 2000));
    return parsed.data;
  }

  async list(): Promise<VmInfo[]> {
    const perHost = await Promise.all(this.hosts.map((host) => this.call({ op: 'list', host }, many(z.unknown()), { action: 'list VMs on', host })));
    // A VM whose name is not a plain name (spaces, quotes) cannot be addressed through the bot: leave it out.
    return perHost.flat().flatMap((v) => {
      const vm = VmInfoSchema.safeParse(v);
      return vm.success ? [vm.data] : [];
    });
  }

  async get(name: string): Promise<VmInfo | null> {
    const found = (await Promise.all(this.hosts.map((host) => this.call({ op: 'get', host, name }, many(VmInfoSchema), { action: 'look up', vm: name, host })))).flat();
    if (found.length > 1) throw ambiguousNameError(name, found);
    return found[0] ?? null;
  }

  // async: an invalid VmRef must reject the promise like any other failure, not throw synchronously.
  async start(vm: VmRef): Promise<VmInfo> {
    return this.call({ op: 'start', ...ref(vm) }, VmInfoSchema, { action: 'start', vm: vm.name, host: vm.host });
  }

  async stop(vm: VmRef, mode: StopMode): Promise<VmInfo> {
    return this.call({ op: 'stop', ...ref(vm), mode }, VmInfoSchema, { action: mode === 'turnoff' ? 'turn off' : 'shut down', vm: vm.name, host: vm.host });
  }

  async grantConsole(vm: VmRef, account: string): Promise<void> {
    await this.call({ op: 'grantConsole', ...ref(vm), account }, z.literal(true), { action: 'grant console access to', vm: vm.name, host: vm.host });
  }

  async revokeConsole(vm: VmRef, account: string): Promise<void> {
    await this.call({ op: 'revokeConsole', ...ref(vm), account }, z.literal(true), { action: 'revoke console access to', vm: vm.name, host: vm.host });
  }

  async consoleAccess(vm: VmRef): Promise<string[]> {
    return this.call({ op: 'consoleAccess', ...ref(vm) }, many(z.string()), { action: 'read console access of', vm: vm.name, host: vm.host });
  }

  /**
   * One call per host (Get-VMConnectAccess without -VMName lists every grant on it), hosts in
   * parallel through the pool: asking VM by VM made 500 remote calls every revoker pass at 500
   * VMs. A host that fails is left out of this pass (the next pass asks again); so is a VM whose
   * id or name the bot could not address (list() leaves it out too).
   */
  async consoleAccessAll(): Promise<{ vm: VmRef; accounts: string[] }[]> {
    const perHost = await Promise.all(
      this.hosts.map((host) =>
        this.call({ op: 'consoleAccessAll', host }, many(z.unknown()), { action: 'read console access on', host }).then(
          (entries) =>
            entries.flatMap((e) => {
              const grant = HostGrantSchema.safeParse(e);
              if (!grant.success) return [];
              const vm = VmRefSchema.safeParse({ id: grant.data.id, name: grant.data.name, host });
              return vm.success ? [{ vm: vm.data, accounts: grant.data.accounts }] : [];
            }),
          () => [], // the next pass asks again
        ),
      ),
    );
    return perHost.flat();
  }

  async create(input: NewVmSpec): Promise<VmInfo> {
    const spec = NewVmSpecSchema.parse(input);
    return this.call({ op: 'create', ...spec }, VmInfoSchema, { action: 'create', vm: spec.name, host: spec.host });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Only the validated identity of the VM goes out: id (what is acted on), name (checked), host. */
function ref(vm: VmRef): { id: string; name: string; host: string } {
  const { id, name, host } = VmRefSchema.parse(vm);
  return { id, name, host };
}
