import { z } from 'zod';
import { VmbotError } from '../core/errors';
import { ID_RE } from '../policy/schema';

/** Hyper-V VMState names as Get-VM reports them (`[string]$vm.State`). */
export const VmStateSchema = z.enum([
  'Other', 'Running', 'Off', 'Stopping', 'Saved', 'Paused', 'Starting', 'Reset', 'Saving', 'Pausing', 'Resuming',
  'FastSaved', 'FastSaving',
]);
export type VmState = z.infer<typeof VmStateSchema>;

/**
 * A plain VM name: what Hyper-V accepts (up to 100 characters) minus everything that could act
 * as a wildcard, quote, separator or control character anywhere between chat and PowerShell.
 */
export const VM_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const VmNameSchema = z
  .string()
  .min(1, 'a VM name is required')
  .max(100, 'VM names have at most 100 characters')
  .regex(VM_NAME_RE, { error: (iss) => vmNameProblem(String(iss.input)) });

/**
 * Why a name is refused, in words: a look-alike letter (Cyrillic "е" for "e") is named as
 * such, because the name looks right on screen.
 */
export function vmNameProblem(name: string): string {
  const rule = 'VM names may contain only ASCII letters (a-z, A-Z), digits, dot, underscore and hyphen, and start with a letter or digit';
  const odd = [...name].find((ch) => ch.codePointAt(0)! > 0x7e);
  if (odd) return `${rule}; "${odd}" (U+${odd.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) is not an ASCII character, though it may look like one`;
  return rule;
}

/** The identity of one VM: name for people, id (GUID) for acting on exactly that VM. */
export const VmRefSchema = z.object({
  id: z.string().uuid(),
  name: VmNameSchema,
  host: z.string().min(1),
});
export type VmRef = z.infer<typeof VmRefSchema>;

export const VmInfoSchema = VmRefSchema.extend({
  state: VmStateSchema,
  generation: z.number().int().optional(),
  cpuCount: z.number().int().optional(),
  memoryMB: z.number().int().optional(),
  uptimeSec: z.number().int().optional(),
});
export type VmInfo = z.infer<typeof VmInfoSchema>;

/** "Cannot start web01: it is already running." — the same words from every backend. */
export function invalidStateError(name: string, state: string, action: string, detail?: string): VmbotError {
  const already: Partial<Record<string, string>> = { Running: 'is already running', Off: 'is already off', Starting: 'is already starting', Stopping: 'is already stopping' };
  const known = VmStateSchema.safeParse(state).success;
  return new VmbotError('invalid_state', `Cannot ${action} ${name}: it ${already[state] ?? (known ? `is ${state}` : 'is not in a state that allows this')}.`, detail);
}

/**
 * A name more than one VM answers to (one per host): refused, since acting on "the first" could
 * hit a VM the caller must not touch. The message names neither host nor VM id, because the
 * caller may have no right to know the other one exists there; the detail (audit log) does.
 */
export function ambiguousNameError(name: string, found: readonly VmRef[]): VmbotError {
  return new VmbotError(
    'ambiguous',
    `vmbot will not act on ${name}: more than one VM on the Hyper-V hosts has that name. An administrator must rename one; the details are in the audit log.`,
    `VM name ${name} found ${found.length} times: ${found.map((v) => `${v.host}:${v.id}`).join(', ')}`,
  );
}

/** A host that does not answer (the same words from every backend). */
export const hostUnreachableError = (host: string | undefined, detail?: string) =>
  new VmbotError('host_unreachable', `The Hyper-V host${host ? ` ${host}` : ''} cannot be reached. Try again later or tell an administrator.`, detail);

export type StopMode = 'shutdown' | 'turnoff';

/**
 * The states an action can start from, as Hyper-V enforces them: Start-VM boots an Off or Saved
 * VM; a graceful shutdown needs a Running guest; a turn-off works in any state but Off. Commands
 * use this to report progress only for an action that will run, backends to refuse the rest.
 */
export const canStart = (state: VmState): boolean => state === 'Off' || state === 'Saved';
export const canStop = (state: VmState, mode: StopMode): boolean => (mode === 'turnoff' ? state !== 'Off' : state === 'Running');

/** Everything New-VM needs: fixed by the approved template, never by the requester. */
export const NewVmSpecSchema = z.object({
  name: VmNameSchema,
  host: z.string().min(1),
  /** The policy template: a JEA endpoint creates from it (its wrapper holds the same values). */
  template: z.string().regex(ID_RE).optional(),
  generation: z.union([z.literal(1), z.literal(2)]),
  cpuCount: z.number().int().min(1),
  memoryMB: z.number().int().min(32),
  diskGB: z.number().int().min(1),
  switch: z.string().min(1),
  vlan: z.number().int().optional(),
});
export type NewVmSpec = z.infer<typeof NewVmSpecSchema>;

/**
 * The Hyper-V surface the bot uses, nothing more. Implementations throw VmbotError with codes
 * not_found, invalid_state, access_denied, host_unreachable, timeout, already_exists, ambiguous or failed.
 */
export interface Backend {
  readonly kind: 'simulator' | 'powershell';
  /** Every VM on every configured host. */
  list(): Promise<VmInfo[]>;
  /** Exact, case-insensitive name lookup on every host; null when no VM has that name, `ambiguous` when several do. */
  get(name: string): Promise<VmInfo | null>;
  /** Start (Off/Saved -> Running); resolves once the VM is Running. */
  start(vm: VmRef): Promise<VmInfo>;
  /** Graceful guest shutdown, or pull the power; resolves once the VM is Off. */
  stop(vm: VmRef, mode: StopMode): Promise<VmInfo>;
  /**
   * Grant-VMConnectAccess for one account on one VM. Hyper-V grants have no expiry: the bot's
   * revoker ends them at `until` (the simulator records it so tests can check).
   */
  grantConsole(vm: VmRef, account: string, until?: Date): Promise<void>;
  /** Revoke-VMConnectAccess; revoking an absent grant is not an error. */
  revokeConsole(vm: VmRef, account: string): Promise<void>;
  /** Get-VMConnectAccess: accounts that may connect. */
  consoleAccess(vm: VmRef): Promise<string[]>;
  /**
   * Every console grant on every host, by VM (the reconcile pass compares them with state).
   * VMs without grants may be left out; grants that cannot be read are left out and the next
   * pass asks again: the PowerShell backend leaves out a host that does not answer (one call
   * per host), the simulator fails as list() does.
   */
  consoleAccessAll(): Promise<{ vm: VmRef; accounts: string[] }[]>;
  /** New-VM with exactly the template's parameters. */
  create(spec: NewVmSpec): Promise<VmInfo>;
  close(): Promise<void>;
}
