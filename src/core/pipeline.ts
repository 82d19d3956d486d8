import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/log';
import type { AuditEntryInput, AuditRecord } from '../audit/record';

type AuditOutcome = NonNullable<AuditRecord['outcome']>;
import type { Backend, VmInfo } from '../hyperv/backend';
import type { Decision, Identity, PolicyEvaluator } from '../policy/evaluator';
import type { StateStore } from '../state/store';
import type { AnyCommand, Authz, CommandContext, Services } from './command';
import { isVmbotError, notPermittedMessage, VmbotError, type ErrorCode } from './errors';
import { parseCommand, truncate } from './parser';
import { helpReply, unknownCommandReply } from './help';
import { redactSecrets } from './redact';
import { authorize } from '../policy/authorize';
import type { Operation } from '../policy/schema';
import { RequestSchema, type Delivery, type ProgressHandle, type Reply, type ReplyStatus, type Request } from './types';

export interface PipelineDeps {
  /** A function so a reloaded policy takes effect on the next request. */
  policy: () => PolicyEvaluator;
  backend: Backend;
  audit: AuditLog;
  store: StateStore;
  commands: readonly AnyCommand[];
  services: Services;
  /** Longest a backend action may take before its outcome is reported unknown. */
  actionTimeoutMs?: number;
  clock?: () => Date;
}

// A conflict (already decided, already requested) is a request that cannot apply now, not a failure.
// So is a VM in a state the action cannot leave (paused, mid-shutdown): exit 2, not "backend failure".
const STATUS_OF: Partial<Record<ErrorCode, ReplyStatus>> = { usage: 'invalid', unknown_command: 'invalid', conflict: 'invalid', invalid_state: 'invalid', denied: 'denied' };

const OUTCOME_OF: Record<ReplyStatus, AuditOutcome> = { done: 'ok', pending: 'pending', invalid: 'invalid', denied: 'denied', failed: 'failed' };

export const exitCodeFor = (s: ReplyStatus): number => ({ done: 0, pending: 0, invalid: 2, denied: 3, failed: 4 })[s];

/** Outcome of an authorisation step: the VM (if any) or a denial to return. */
type Authorised = { ok: true; vm?: VmInfo; decision: Decision | null } | { ok: false; decision: Decision; message: string };

/**
 * The one request path (docs/architecture.md): parse, identify, authorize, audit intent, execute,
 * audit result, reply. Every front-end calls handle(); nothing here knows which one.
 */
export class Pipeline {
  private readonly clock: () => Date;
  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Handle one request. Never rejects: an error anywhere (a backend lookup, a command, the
   * idempotency store, even the audit log) becomes a `failed` reply and, where the log can
   * still be written, a `failed` audit record. A request cannot take the serving process down.
   */
  async handle(input: unknown, delivery: Delivery = {}): Promise<Reply> {
    // Progress and final are one message: the adapter's handle from the first progress is
    // passed to every later progress and to the final reply, which replaces it.
    let handle: ProgressHandle | undefined;
    const tracked: Delivery = {
      progress: async (r) => {
        const h = await delivery.progress?.(r, handle);
        if (h) handle = h;
      },
    };
    let reply: Reply;
    try {
      reply = await this.handleRequest(input, tracked);
    } catch (e) {
      reply = await this.lastResort(input, e);
    }
    reply = withVisibility(reply);
    await delivery.final?.(reply, handle);
    return reply;
  }

  /** What is left when a request failed outside the steps that audit their own failures. */
  /**
   * A front-end switched whose messages it sends (the local chat's `/as`): audited, because every
   * request after it acts as someone else. Says whether the new principal is in the policy.
   */
  async switchPrincipal(from: string, to: string, channel: Request['channel']): Promise<{ known: boolean; auditId: number }> {
    const identity = this.deps.policy().identify(to);
    const rec = await this.deps.audit.append({
      kind: 'event', correlationId: newCorrelationId(), principal: from, user: this.deps.policy().identify(from)?.id ?? null,
      channel: channel.id ? `${channel.kind}:${channel.id}` : channel.kind, operation: 'session.switch', outcome: 'ok',
      reason: `now acting as ${to}${identity ? ` (user ${identity.id})` : ' (not in the policy)'}`,
      details: { from, to, toUser: identity?.id ?? null },
    });
    return { known: !!identity, auditId: rec.id };
  }

  private async lastResort(input: unknown, e: unknown): Promise<Reply> {
    const err = asVmbotError(e);
    const req = input as Partial<Request> | null;
    const str = (v: unknown) => (typeof v === 'string' ? truncate(v, 500) : null);
    try {
      const rec = await this.deps.audit.append({
        kind: 'decision', correlationId: newCorrelationId(), principal: str(req?.principal), command: str(req?.text),
        outcome: 'failed', error: auditError(err), reason: 'the request failed outside its own error handling',
      });
      return { status: 'failed', code: err.code, text: err.message, auditId: rec.id };
    } catch (auditFailure) {
      // Nothing may be done without an audit record, so nothing more is: say so, and tell the operator.
      console.error(`vmbot: a request failed and could not be audited: ${auditError(err)}; audit log: ${auditFailure instanceof Error ? auditFailure.message : String(auditFailure)}`);
      return {
        status: 'failed', code: 'failed',
        text: 'vmbot stopped this request because it could not be recorded in the audit log. Tell an administrator; the bot\'s own log has the cause.',
      };
    }
  }

  private async handleRequest(input: unknown, delivery: Delivery): Promise<Reply> {
    const req = RequestSchema.safeParse(input);
    if (!req.success) {
      const rec = await this.deps.audit.append({
        kind: 'decision', correlationId: newCorrelationId(), outcome: 'invalid',
        principal: typeof (input as Request)?.principal === 'string' ? truncate((input as Request).principal, 140) : null,
        reason: req.error.issues.map((i) => i.message).join('; '),
      });
      return { status: 'invalid', code: 'usage', text: `Invalid request: ${req.error.issues[0]?.message}`, auditId: rec.id };
    }
    // User text is redacted once, here, before anything keeps or repeats it: state (reasons,
    // idempotent replies), notices to others, replies and the audit log all derive from it.
    const inputs = req.data.inputs && Object.fromEntries(Object.entries(req.data.inputs).map(([k, v]) => [k, redactSecrets(v)]));
    const request: Request = { ...req.data, text: redactSecrets(req.data.text), ...(inputs ? { inputs } : {}) };
    const key = request.idempotencyKey && `${request.principal}|${request.idempotencyKey}`;
    if (!key) return this.process(request, delivery);
    // Reserve the key before anything runs, in the same serialised state update that checks it:
    // of two deliveries at once, exactly one runs; the other gets its reply.
    const now = this.clock();
    const found = await this.deps.store.update((d) => {
      this.pruneIdempotency(d.idempotency, now);
      const seen = d.idempotency[key];
      if (seen) return structuredClone(seen);
      d.idempotency[key] = { at: now.toISOString(), reply: {}, state: 'running' };
      return null;
    });
    if (found) return this.replay(key, found);
    const running = this.process(request, delivery);
    this.running.set(key, running);
    try {
      const reply = await running;
      // Copies both ways: the reply kept in state must not share objects with one an adapter holds.
      await this.deps.store.update((d) => void (d.idempotency[key] = { at: now.toISOString(), reply: structuredClone(reply) as unknown as Record<string, unknown>, state: 'done' }));
      return reply;
    } finally {
      this.running.delete(key);
    }
  }

  /**
   * A request the front-end refuses at its door (a workspace or tenant outside the allow-list):
   * nothing is parsed or run, but the refusal is an audited denial like any other.
   */
  async refuse(input: { principal: string; text: string; channel: Request['channel'] }, reason: string): Promise<Reply> {
    const rec = await this.deps.audit.append({
      kind: 'decision', correlationId: newCorrelationId(), principal: truncate(input.principal, 140), user: null,
      channel: input.channel.id ? `${input.channel.kind}:${input.channel.id}` : input.channel.kind,
      command: redactSecrets(truncate(input.text, 500)), decision: 'deny', outcome: 'denied', reason,
    });
    return { status: 'denied', code: 'denied', visibility: 'private', text: 'vmbot does not take requests from this workspace.', auditId: rec.id };
  }

  /** Requests with an idempotency key that are running in this process, by key. */
  private readonly running = new Map<string, Promise<Reply>>();
  private lastPrune = 0;

  /** The first reply again, marked as a replay; waits for it if the first delivery still runs. */
  private async replay(key: string, entry: { reply: Record<string, unknown>; state?: 'running' | 'done' }): Promise<Reply> {
    const inFlight = this.running.get(key);
    const first = entry.state === 'running'
      ? inFlight
        ? structuredClone(await inFlight)
        : ({ status: 'failed', code: 'conflict', text: 'This request was being handled when vmbot stopped, so it is not run again. Check the result with "status" before trying again.' } satisfies Reply)
      : (structuredClone(entry.reply) as unknown as Reply);
    return { ...first, data: { ...(first.data ?? {}), replayed: true } };
  }

  /**
   * Keys older than a day are forgotten (platforms redeliver within minutes: Slack retries for
   * 5 minutes, Teams for less), so the state file stays small. At most once a minute.
   */
  private pruneIdempotency(keys: Record<string, { at: string; state?: string }>, now: Date): void {
    if (now.getTime() - this.lastPrune < 60_000) return;
    this.lastPrune = now.getTime();
    const cutoff = now.getTime() - IDEMPOTENCY_TTL_MS;
    for (const [k, v] of Object.entries(keys)) if (Date.parse(v.at) < cutoff && !this.running.has(k)) delete keys[k];
  }

  private async process(request: Request, delivery: Delivery): Promise<Reply> {
    const policy = this.deps.policy();
    const identity = policy.identify(request.principal);
    let correlationId = newCorrelationId();
    const base: AuditEntryInput = {
      kind: 'decision', correlationId, principal: request.principal, user: identity?.id ?? null,
      channel: request.channel.id ? `${request.channel.kind}:${request.channel.id}` : request.channel.kind,
      command: request.text,
    };

    let parsed;
    try {
      parsed = parseCommand(request.text, this.deps.commands, request.inputs);
    } catch (e) {
      const err = asVmbotError(e);
      const rec = await this.deps.audit.append({ ...base, outcome: 'invalid', reason: err.message, error: err.code });
      // A typo gets "did you mean", not the whole help.
      if (err.code === 'unknown_command') return { ...unknownCommandReply(err.detail ?? '', this.deps.commands, policy, identity, err.message), auditId: rec.id };
      return { status: 'invalid', code: err.code, text: err.message, auditId: rec.id };
    }
    if (!parsed) return { ...helpReply(this.deps.commands, policy, identity), visibility: 'private' };
    const { command, args } = parsed;
    correlationId = command.correlationId?.(args) ?? correlationId;
    const operation = command.operation(args);
    const audited = { ...base, correlationId, operation };

    const authz: Authz = command.authz(args);
    if (!identity && authz.kind !== 'none') {
      const rec = await this.deps.audit.append({ ...audited, decision: 'deny', outcome: 'denied', reason: 'unknown principal' });
      return {
        status: 'denied', code: 'denied', auditId: rec.id,
        text: `You (${request.principal}) are not known to vmbot, so you hold no rights. Ask a platform admin to add this identity to the policy.`,
      };
    }
    let auth: Authorised;
    try {
      auth = identity ? await this.authorize(policy, identity, authz) : { ok: true, decision: null };
    } catch (e) {
      // The lookup failed (host down, timeout, a name on two hosts, a bug): nothing was done.
      const err = lookupFailure(e, vmOf(authz));
      const rec = await this.deps.audit.append({ ...audited, vm: vmOf(authz), outcome: 'failed', error: auditError(err) });
      return { status: 'failed', code: err.code, text: err.message, auditId: rec.id };
    }
    const vmName = (auth.ok ? auth.vm?.name : null) ?? vmOf(authz) ?? command.subject?.(args) ?? null;
    const withDecision = {
      ...audited, vm: vmName, host: auth.ok ? auth.vm?.host ?? null : null,
      decision: auth.decision ? (auth.decision.allow ? 'allow' : 'deny') : null,
      reason: auth.decision?.reason ?? null,
      details: auth.decision?.matched ? { matched: auth.decision.matched } : null,
    } as const;
    if (!auth.ok) {
      const rec = await this.deps.audit.append({ ...withDecision, outcome: 'denied' });
      return { status: 'denied', code: 'denied', text: auth.message, auditId: rec.id };
    }

    // Desired state already holds (or the state rules the action out): one decision record, no intent.
    const settled = auth.vm && command.precheck?.({ policy, identity }, args, auth.vm);
    if (settled) {
      const rec = await this.deps.audit.append({
        ...withDecision, outcome: OUTCOME_OF[settled.status], error: settled.code ?? null,
        details: { ...(withDecision.details ?? {}), noop: true, state: auth.vm!.state, ...(settled.data ? { data: settled.data } : {}) },
      });
      return { ...settled, auditId: rec.id };
    }

    const effect = typeof command.effect === 'function' ? command.effect(args) : command.effect;
    const intent = effect ? await this.deps.audit.append({ ...withDecision, kind: 'intent' }) : null;
    const ctx: CommandContext = {
      request, identity, policy, backend: this.deps.backend, correlationId, vm: auth.vm,
      actor: { user: identity?.id ?? null, principal: request.principal, channel: base.channel },
      progress: async (text) => void (await delivery.progress?.({ status: 'pending', text })),
      audit: (entry) => this.deps.audit.append({ ...base, ...entry, correlationId: entry.correlationId ?? correlationId }),
      delivery, services: this.deps.services, commands: this.deps.commands, now: this.clock,
    };

    let reply: Reply;
    let outcome: AuditOutcome;
    let error: string | null = null;
    // A refusal inside the handler (a quota, the workflow's own check) is a denial like any other.
    let refused: { decision: 'deny'; reason: string } | null = null;
    try {
      reply = await this.withTimeout(command.run(ctx, args), effect);
      outcome = OUTCOME_OF[reply.status];
      if (reply.status !== 'done' && reply.status !== 'pending') error = reply.code ?? null;
    } catch (e) {
      // A read across every host (list) may fail on a host the caller knows nothing of: not named.
      // Actions name their own host (the caller's VM, or the template host an approver decides on).
      const err = !effect && !auth.vm ? hideOtherHosts(asVmbotError(e), undefined) : asVmbotError(e);
      reply = { status: STATUS_OF[err.code] ?? 'failed', code: err.code, text: err.message };
      outcome = err.code === 'timeout' && effect ? 'unknown' : OUTCOME_OF[reply.status];
      error = auditError(err);
      if (err.code === 'denied') refused = { decision: 'deny', reason: err.detail ?? err.message };
    }
    const rec = await this.deps.audit.append({
      ...withDecision, ...refused, kind: intent ? 'result' : 'decision', intentId: intent?.id ?? null, outcome, error,
      details: { ...(withDecision.details ?? {}), ...(reply.data ? { data: reply.data } : {}) },
    });
    return { ...reply, visibility: reply.visibility ?? command.visibility, auditId: rec.id };
  }

  /** Decide, look the VM up, decide again with its host; every denial reads the same. */
  private async authorize(policy: PolicyEvaluator, identity: Identity, authz: Authz): Promise<Authorised> {
    const anyOf = (ops: Operation | Operation[] | undefined): Authorised => {
      const d = authorize(policy, identity.id, { kind: 'any', operations: ops ? [ops].flat() : [] });
      if (d.allow) return { ok: true, decision: ops ? d : null };
      const names = [ops].flat().map((op) => `"${op}"`).join(' or ');
      return { ok: false, decision: d, message: `You are not permitted to do that: none of your roles grants ${names}.` };
    };
    if (authz.kind === 'none') return { ok: true, decision: null };
    if (authz.kind === 'self') return anyOf(authz.operation);
    if (authz.kind === 'decide') {
      const req = this.deps.store.data.approvals[authz.requestId];
      // Someone who approves nowhere hears just that; an unknown id is the handler's to explain.
      const approver = anyOf('Approve Virtual Machine Request');
      if (!req) return approver;
      const d = authorize(policy, identity.id, { kind: 'decide', request: req });
      if (d.allow) return { ok: true, decision: d };
      if (!approver.ok && req.requester !== identity.id) return approver;
      // Denying your own is how a requester may try to withdraw it: name the command that does.
      const message = req.requester === identity.id
        ? `You cannot ${authz.verb} your own request ${req.id}; another approver must decide it.${authz.verb === 'deny' && req.status === 'pending' ? ` To withdraw it, type "request cancel ${req.id}".` : ''}`
        : `You are not an approver for request ${req.id}.`;
      return { ok: false, decision: d, message };
    }
    const denied = (decision: Decision): Authorised => ({ ok: false, decision, message: notPermittedMessage(authz.vm) });
    const check = (vm: { name: string; host?: string }, requireHost: boolean): Decision =>
      authz.kind === 'visible'
        ? authorize(policy, identity.id, { kind: 'visible', vm, requireHost })
        : authorize(policy, identity.id, { kind: 'vm', vm, operations: authz.operations, turnOff: authz.turnOff, requireHost });
    // Before touching the backend: a name outside every scope is denied without a lookup.
    const byName = check({ name: authz.vm }, false);
    if (!byName.allow) return this.turnOffDenial(policy, identity, authz, { name: authz.vm }, false) ?? denied(byName);
    const vm = await this.withTimeout(this.deps.backend.get(authz.vm), false);
    if (!vm) return denied({ allow: false, reason: 'no such VM' });
    const full = check(vm, true);
    if (!full.allow) return this.turnOffDenial(policy, identity, authz, vm, true) ?? denied(full);
    return { ok: true, vm, decision: full };
  }

  /** A turn-off refused on a VM the caller may stop: say so plainly (nothing is revealed). */
  private turnOffDenial(policy: PolicyEvaluator, identity: Identity, authz: Authz, vm: { name: string; host?: string }, requireHost: boolean): Authorised | null {
    if (authz.kind !== 'vm' || !authz.turnOff) return null;
    const plain = authz.operations.every((op) => policy.decide(identity.id, op, vm, { requireHost }).allow);
    if (!plain) return null;
    return {
      ok: false,
      decision: policy.decide(identity.id, authz.operations[0]!, vm, { turnOff: true, requireHost }),
      message: `You may shut down ${vm.name}, but your role does not allow --turnoff (pulling the power). Use "stop ${vm.name}" for a graceful shutdown.`,
    };
  }

  private withTimeout<T>(p: Promise<T>, effect: boolean): Promise<T> {
    const ms = this.deps.actionTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new VmbotError('timeout', effect
          ? `Hyper-V did not answer within ${Math.round(ms / 1000)} s. The outcome is unknown: check with "status" before trying again.`
          : `Hyper-V did not answer within ${Math.round(ms / 1000)} s.`)),
        ms,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

/** How long a redelivery is recognised (see pruneIdempotency). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** Denials and errors are private wherever they were asked; the rest as the command says. */
export const withVisibility = (r: Reply): Reply => ({
  ...r,
  visibility: r.status === 'done' || r.status === 'pending' ? (r.visibility ?? 'conversation') : 'private',
});

const vmOf = (a: Authz) => (a.kind === 'vm' || a.kind === 'visible' ? a.vm : null);

export const newCorrelationId = () => `c-${randomUUID().slice(0, 8)}`;

/** The audit log's `error`: code, and the detail an operator needs (which a user never sees). */
const auditError = (err: VmbotError) => `${err.code}: ${err.detail ?? err.message}`;

/**
 * A host that does not answer is named to the caller only when it is the host of the VM they
 * were authorised for; any other host (a lookup asks every host) may be outside their scope.
 */
function hideOtherHosts(err: VmbotError, vm: VmInfo | undefined, lookingUp?: string | null): VmbotError {
  if (err.code !== 'host_unreachable') return err;
  const detail = err.detail ? `${err.message} (${err.detail})` : err.message;
  const text = vm
    ? `The Hyper-V host ${vm.host} of ${vm.name} cannot be reached. Try again later or tell an administrator.`
    : `A Hyper-V host did not answer${lookingUp ? ` while vmbot looked up ${lookingUp}` : ''}. Try again later or tell an administrator.`;
  return new VmbotError('host_unreachable', text, detail);
}

/** A failed VM lookup, worded so it reveals no host and no other VM. */
function lookupFailure(e: unknown, vm: string | null): VmbotError {
  const err = asVmbotError(e);
  if (err.code === 'host_unreachable') return hideOtherHosts(err, undefined, vm);
  if (err.code === 'ambiguous' || err.code === 'timeout') return err; // worded for the caller already
  const detail = isVmbotError(e) ? (err.detail ? `${err.message} (${err.detail})` : err.message) : err.detail;
  return new VmbotError(err.code, `vmbot could not look up ${vm ?? 'the VM'} on Hyper-V. Try again later; the details are in the audit log.`, detail);
}

/** Unexpected errors become a generic failure; their text goes to the audit log only. */
export function asVmbotError(e: unknown): VmbotError {
  if (isVmbotError(e)) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new VmbotError('failed', 'Something went wrong while doing that. The details are in the audit log.', detail);
}
