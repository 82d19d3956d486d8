import type { z } from 'zod';
import type { AuditEntryInput, AuditRecord } from '../audit/record';
import type { Backend, VmInfo } from '../hyperv/backend';
import type { Identity, PolicyEvaluator } from '../policy/evaluator';
import type { Operation } from '../policy/schema';
import type { Delivery, Reply, Request } from './types';

/**
 * What a command needs checked before it runs:
 * - `none`: no VM involved (help, whoami)
 * - `vm`: every listed operation on one VM (start, stop, console)
 * - `visible`: the VM must be visible to the caller (status)
 * - `self`: the command authorises inside its handler against the policy (list, approvals)
 */
export type Authz =
  | { kind: 'none' }
  | { kind: 'vm'; vm: string; operations: Operation[]; turnOff?: boolean }
  | { kind: 'visible'; vm: string }
  | { kind: 'self'; operation?: Operation };

export type FlagType = 'boolean' | 'string' | 'number';

export interface CommandContext {
  request: Request;
  /** Null only for commands with authz `none` (an unknown principal may ask for help). */
  identity: Identity | null;
  policy: PolicyEvaluator;
  backend: Backend;
  correlationId: string;
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

/** Filled in by src/workflows; commands reach them only through the context. */
export interface Services {
  [name: string]: unknown;
}

export interface CommandSpec<A> {
  name: string;
  summary: string;
  usage: string;
  /** Names, in order, that positional words are assigned to. The last may be `rest` (joined). */
  positional: string[];
  flags?: Record<string, FlagType>;
  schema: z.ZodType<A>;
  /** Help lists the command only for users holding one of these somewhere (empty: everyone). */
  shownWith: Operation[];
  /** The AzMan/bot operation recorded in the audit log. */
  operation(args: A): string;
  authz(args: A): Authz;
  /** True when the command changes something: audited as intent before, result after. */
  effect: boolean | ((args: A) => boolean);
  run(ctx: CommandContext, args: A): Promise<Reply>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandSpec<any>;

export const defineCommand = <A>(spec: CommandSpec<A>): CommandSpec<A> => spec;
