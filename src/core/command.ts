import type { z } from 'zod';
import type { AuditEntryInput, AuditRecord } from '../audit/record';
import type { Backend, VmInfo } from '../hyperv/backend';
import type { Identity, PolicyEvaluator } from '../policy/evaluator';
import type { Operation } from '../policy/schema';
import type { Approvals } from '../workflows/approvals';
import type { ConsoleGrants } from '../workflows/console';
import type { AuditReader } from '../workflows/audit-reader';
import type { Actor } from '../workflows/deps';
import type { Notices } from '../workflows/notices';
import type { Delivery, Reply, Request, Visibility } from './types';

/**
 * What a command needs checked before it runs:
 * - `none`: no VM involved (help, whoami)
 * - `vm`: every listed operation on one VM (start, stop, console)
 * - `visible`: the VM must be visible to the caller (status)
 * - `self`: the command authorises inside its handler against the policy (list, approvals);
 *   with `operation`, the caller must first hold at least one of them somewhere
 */
export type Authz =
  | { kind: 'none' }
  | { kind: 'vm'; vm: string; operations: Operation[]; turnOff?: boolean }
  | { kind: 'visible'; vm: string }
  | { kind: 'self'; operation?: Operation | Operation[] }
  /** Approve or deny a new-VM request: an approver of its scope, never its requester. */
  | { kind: 'decide'; requestId: string; verb: 'approve' | 'deny' };

export type FlagType = 'boolean' | 'string' | 'number';

export interface CommandContext {
  request: Request;
  /** Null only for commands with authz `none` (an unknown principal may ask for help). */
  identity: Identity | null;
  policy: PolicyEvaluator;
  backend: Backend;
  correlationId: string;
  /** The caller as workflows record them. */
  actor: Actor;
  /** The VM resolved and authorised by the pipeline (authz kind `vm`/`visible`). */
  vm?: VmInfo;
  /** Interim message to the caller. */
  progress(text: string): Promise<void>;
  /** Further audit records (workflow steps) chained into the same log. */
  audit(entry: AuditEntryInput): Promise<AuditRecord>;
  delivery: Delivery;
  /** Workflow services (approvals, console grants), present when configured. */
  services: Services;
  /** Every command, for help. */
  commands: readonly AnyCommand[];
  now(): Date;
}

/** Workflow services; commands reach them only through the context. */
export interface Services {
  approvals: Approvals;
  consoles: ConsoleGrants;
  notices: Notices;
  /** The auditor's scoped, indexed reading of the audit log (chat `audit`, web view). */
  auditReader: AuditReader;
}

/** A fuller usage/summary shown only to users for whom `when` holds (stop --turnoff). */
export interface CommandVariant {
  when(policy: PolicyEvaluator, userId: string): boolean;
  usage: string;
  summary: string;
}

export interface CommandSpec<A> {
  name: string;
  summary: string;
  usage: string;
  variants?: CommandVariant[];
  /** Names, in order, that positional words are assigned to. The last may be `rest` (joined). */
  positional: string[];
  flags?: Record<string, FlagType>;
  /**
   * Action inputs the command accepts (Request.inputs name -> argument name), e.g. deny's
   * `{ reason: 'rest' }`: a Deny button asks for the reason in a form instead of in the text.
   */
  inputs?: Record<string, string>;
  /** Who sees a successful reply (denials and errors are always private). Default: conversation. */
  visibility?: Visibility;
  schema: z.ZodType<A>;
  /** Help lists the command only for users holding one of these somewhere (empty: everyone). */
  shownWith: Operation[];
  /** The workflow id (request r-…, grant g-…) that every audit record of this request carries. */
  correlationId?(args: A): string | undefined;
  /** The VM a `self`-authorised command is about, for the audit record (request: the new name). */
  subject?(args: A): string | undefined;
  /** The AzMan/bot operation recorded in the audit log. */
  operation(args: A): string;
  authz(args: A): Authz;
  /** True when the command changes something: audited as intent before, result after. */
  effect: boolean | ((args: A) => boolean);
  /**
   * After authorisation, before any intent: a reply when the request needs no effect (the desired
   * state already holds: a no-op success) or cannot apply in the VM's state (guidance). The
   * pipeline audits it as one decision record with `details.noop`; null lets the command run.
   */
  /**
   * The command's own limits beyond the policy decision (console minutes over the maximum, a
   * template the caller may not use, a name outside the template's scope): the reason it would
   * be refused, or null. The workflow enforces the same function, and `policy explain` reports it.
   */
  limits?(policy: PolicyEvaluator, identity: Identity, args: A): string | null;
  precheck?(who: { policy: PolicyEvaluator; identity: Identity | null }, args: A, vm: VmInfo): Reply | null;
  run(ctx: CommandContext, args: A): Promise<Reply>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandSpec<any>;

export const defineCommand = <A>(spec: CommandSpec<A>): CommandSpec<A> => spec;
