import { VmbotError } from '../core/errors';
import { authorize } from '../policy/authorize';
import type { Reply } from '../core/types';
import { scopeHolds, type Identity, type PolicyEvaluator } from '../policy/evaluator';
import { named } from '../policy/schema';
import type { VmInfo } from '../hyperv/backend';
import type { ApprovalRequest } from '../state/schema';
import { fmtTime, SYSTEM, type Actor, type WorkflowDeps } from './deps';
import type { NoticeWriter } from './notices';
import { queryAudit } from '../audit/query';
import { joinAnd, plural } from '../core/text';

/** The notice topic of a request: every approver's card is sent, and later updated, under it. */
export const topicOf = (requestId: string) => `request:${requestId}`;

const OPEN: ReadonlyArray<ApprovalRequest['status']> = ['pending', 'approved', 'created'];

export interface NewRequest {
  requestId: string;
  name: string;
  template: string;
  reason?: string;
}

type ApproveStep =
  | { kind: 'missing' }
  | { kind: 'expired' | 'closed' | 'again' | 'recorded' | 'final'; req: ApprovalRequest };

/**
 * A deep copy of a request as it stands inside a store update. Replies and notices are built
 * after the update returns, when a concurrent approval may already have changed the live
 * record (a shallow copy would share its approvals list and report the other approver's vote).
 */
const snapshot = (r: ApprovalRequest): ApprovalRequest => structuredClone(r);

/** All a requester learns of a request closed because its name is taken (issue 7: no existence oracle). */
const NOT_FULFILLED = 'could not be fulfilled';
const collisionWhy = (r: ApprovalRequest) => `a VM named ${r.name} already exists on Hyper-V`;
const notFulfilledText = (r: ApprovalRequest) => `Your request ${r.id} for ${r.name} ${NOT_FULFILLED} and is closed; nothing was created.`;

/**
 * New VMs only through change management: a request from a template, approved by people who
 * hold "Approve Virtual Machine Request" in the template's scope (never the requester; N of
 * them under a two-person rule), then created with exactly the template's parameters.
 * Every decision is a compare-and-set inside one serialised store update, so racing approvers
 * produce one outcome and one VM.
 */
export class Approvals {
  constructor(private readonly deps: WorkflowDeps) {}

  private get policy() {
    return this.deps.policy();
  }

  private now() {
    return this.deps.clock();
  }

  async request(identity: Identity, actor: Actor, r: NewRequest): Promise<Reply> {
    const policy = this.policy;
    const refused = requestLimits(policy, identity.id, r);
    if (refused) throw new VmbotError('usage', refused);
    const allowedScopes = policy.scopesWith(identity.id, 'Request Virtual Machine');
    const template = named(policy.policy.templates, r.template)!;
    const host = template.hosts[0]!;
    // Collisions only with what the requester may see: the reply must not depend on a VM outside
    // their scope (that would be an existence oracle). A hidden one is caught at approval.
    const taken = await this.nameTaken(r.name);
    if (taken.vm && policy.visible(identity.id, taken.vm).allow) throw new VmbotError('usage', `A VM named ${r.name} already exists. Choose another name.`);
    const quota = named(policy.policy.scopes, template.scope)!.quotaPerUser;
    const now = this.now();
    const expiresAt = new Date(now.getTime() + policy.policy.settings.requests.expireHours * 3_600_000);
    const req: ApprovalRequest = {
      id: r.requestId, requester: identity.id, principal: actor.principal ?? '', name: r.name, template: r.template,
      scope: template.scope, host, reason: r.reason, required: template.approvals, createdAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(), status: 'pending', approvals: [],
    };
    const approvers = policy.usersWith('Approve Virtual Machine Request', template.scope).filter((u) => u !== identity.id);
    await this.deps.notices.step((d, out) => {
      const all = Object.values(d.approvals);
      // Only requests in scopes the requester may request in: another scope's request for the
      // same name is not theirs to learn of (if both are approved, the second one collides).
      if (all.some((x) => OPEN.includes(x.status) && allowedScopes.includes(x.scope) && x.name.toLowerCase() === r.name.toLowerCase()))
        throw new VmbotError('conflict', `${r.name} is already requested and waiting for approval.`);
      const mine = all.filter((x) => x.requester === identity.id && x.scope === template.scope && OPEN.includes(x.status)).length;
      if (quota !== undefined && mine >= quota)
        throw new VmbotError('denied', `You have reached your quota of ${plural(quota, 'VM')} in ${template.scope} (open requests and VMs created through vmbot).`);
      d.approvals[req.id] = req;
      out.send({ to: approvers, reply: this.card(req, `${identity.id} requests a new VM`, taken.taken), topic: topicOf(req.id) });
    });
    await this.event(actor, req, 'request.notify', 'ok', `approvers notified: ${approvers.join(', ') || 'none'}`, { to: approvers, ...(taken.taken ? { nameTaken: true } : {}) });
    const who = approvers.length ? `${approvers.join(', ')}` : 'nobody (no approver holds this scope: ask a platform admin)';
    return {
      status: 'pending',
      title: `Request ${req.id}`,
      text: `Request ${req.id} for ${req.name} (${req.template}) is waiting for ${plural(req.required, 'approval')} from ${who}. It expires ${fmtTime(req.expiresAt)}. Type "request cancel ${req.id}" to withdraw it.`,
      fields: this.fields(req),
      data: { requestId: req.id, status: req.status },
    };
  }

  async approve(identity: Identity, actor: Actor, id: string): Promise<Reply> {
    const req = this.deps.store.data.approvals[id];
    this.checkDecider(identity, req, id, 'approve');
    if (req.status === 'pending') {
      const taken = await this.nameTaken(req.name);
      if (taken.taken) {
        const closed = await this.closeOnCollision(actor, id, taken.vm);
        if (closed) return closed;
      }
    }
    const at = this.now();
    // The notices of each outcome are written in the same update as the outcome itself.
    const step = await this.deps.notices.step((d, out): ApproveStep => {
      const cur = d.approvals[id];
      if (!cur) return { kind: 'missing' };
      if (cur.status === 'pending' && Date.parse(cur.expiresAt) <= at.getTime()) {
        cur.status = 'expired';
        cur.decidedAt = at.toISOString();
        this.raiseExpired(out, cur);
        return { kind: 'expired', req: snapshot(cur) };
      }
      if (cur.status !== 'pending') return { kind: 'closed', req: snapshot(cur) };
      if (cur.approvals.some((a) => a.user === identity.id)) return { kind: 'again', req: snapshot(cur) };
      cur.approvals.push({ user: identity.id, at: at.toISOString() });
      if (cur.approvals.length < cur.required) {
        const left = cur.required - cur.approvals.length;
        out.send({ to: [cur.requester], reply: { status: 'pending', text: `${identity.id} approved your request ${id} for ${cur.name}; ${plural(left, 'more approval')} needed.` } });
        return { kind: 'recorded', req: snapshot(cur) };
      }
      cur.status = 'approved';
      cur.decidedAt = at.toISOString();
      out.update(topicOf(id), this.decidedReply(cur, `approved by ${cur.approvals.map((a) => a.user).join(', ')} at ${fmtTime(cur.decidedAt)}`));
      return { kind: 'final', req: snapshot(cur) };
    });
    switch (step.kind) {
      case 'missing':
        throw new VmbotError('usage', `There is no request ${id}.`);
      case 'expired':
        await this.event(SYSTEM, step.req, 'request.expire', 'ok', 'expired before approval');
        throw new VmbotError('conflict', `Request ${id} has expired; nothing was created.`);
      case 'closed':
        throw new VmbotError('conflict', `Request ${id} is already ${this.outcomeOf(step.req)}; nothing more to decide.`);
      case 'again':
        throw new VmbotError('conflict', `You have already approved ${id}; it needs ${plural(step.req.required - step.req.approvals.length, 'more approval')} from someone else.`);
      case 'recorded': {
        await this.event(actor, step.req, 'request.approval', 'pending', `approval ${step.req.approvals.length} of ${step.req.required}`);
        const left = step.req.required - step.req.approvals.length;
        return { status: 'pending', text: `Approval recorded for ${id} (${step.req.approvals.length} of ${step.req.required}). It needs ${plural(left, 'more approval')} from another approver.`, data: { requestId: id, status: 'pending' } };
      }
      case 'final':
        await this.event(actor, step.req, 'request.approval', 'ok', `final approval (${step.req.required} of ${step.req.required})`);
        return this.createVm(step.req, actor);
    }
  }

  async deny(identity: Identity, actor: Actor, id: string, reason: string): Promise<Reply> {
    const req = this.deps.store.data.approvals[id];
    this.checkDecider(identity, req, id, 'deny');
    const at = this.now().toISOString();
    const { ok, req: latest } = await this.deps.notices.step((d, out) => {
      const cur = d.approvals[id];
      if (!cur) throw new VmbotError('usage', `There is no request ${id}.`);
      if (cur.status !== 'pending') return { ok: false, req: snapshot(cur) };
      Object.assign(cur, { status: 'denied', deniedBy: identity.id, denyReason: reason, decidedAt: at });
      out.update(topicOf(id), this.decidedReply(cur, `denied by ${identity.id} at ${fmtTime(at)}: ${reason}`));
      out.send({ to: [cur.requester], reply: { status: 'denied', text: `${identity.id} denied your request ${id} for ${cur.name}: ${reason}` } });
      return { ok: true, req: snapshot(cur) };
    });
    if (!ok) throw new VmbotError('conflict', `Request ${id} is already ${this.outcomeOf(latest)}; nothing more to decide.`);
    await this.event(actor, latest, 'request.deny', 'ok', reason);
    return { status: 'done', text: `Request ${id} for ${latest.name} denied. ${latest.requester} has been told.`, data: { requestId: id, status: 'denied' } };
  }

  /**
   * Own requests (every status), and the requests in scopes the caller may decide: pending ones
   * to act on, decided ones as history. Finished requests say who decided and when; only
   * pending ones have an expiry.
   */
  list(identity: Identity): Reply {
    const decidable = new Set(this.policy.scopesWith(identity.id, 'Approve Virtual Machine Request'));
    const rows = Object.values(this.deps.store.data.approvals)
      .filter((r) => r.requester === identity.id || decidable.has(r.scope))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, 25);
    // Point to "help request" only for those who may ask (an approver-only user may not).
    const mayAsk = this.policy.holdsAnywhere(identity.id, 'Request Virtual Machine');
    if (!rows.length) return { status: 'done', text: `No requests for you to see.${mayAsk ? ' Type "help request" to ask for a new VM.' : ''}`, data: { requests: [] } };
    const pending = rows.filter((r) => r.status === 'pending');
    const done = rows.filter((r) => r.status !== 'pending');
    const line = (r: ApprovalRequest) => `  ${r.id}  ${r.name.padEnd(12)} ${r.template.padEnd(10)} ${this.summaryOf(r)}`;
    const parts = [
      ...(pending.length ? ['Pending:', ...pending.map(line)] : []),
      ...(done.length ? ['Decided:', ...done.map(line)] : []),
    ];
    const actions = pending
      .filter((r) => r.requester !== identity.id && decidable.has(r.scope) && !r.approvals.some((a) => a.user === identity.id))
      .flatMap((r) => this.actionsFor(r));
    return {
      status: 'done',
      title: 'Requests',
      text: `${parts.join('\n')}\nType "request show <id>" for one request in full.`,
      actions,
      data: {
        requests: rows.map((r) => ({
          id: r.id, name: r.name, template: r.template, status: r.status, requester: r.requester,
          approvals: r.approvals.map((a) => a.user), decidedBy: this.deciders(r), ...(r.denyReason ? { denyReason: r.denyReason } : {}),
          ...(r.status === 'pending' ? { expiresAt: r.expiresAt } : { decidedAt: r.decidedAt ?? null }),
        })),
      },
    };
  }

  /** One request in full: sizing, reason, approvals so far, and its audit trail. Only for its requester and its approvers. */
  async show(identity: Identity, id: string): Promise<Reply> {
    const r = this.deps.store.data.approvals[id];
    const mayDecide = r && this.policy.scopesWith(identity.id, 'Approve Virtual Machine Request').includes(r.scope);
    // Someone else's request in a scope you do not decide reads like a missing one.
    if (!r || (r.requester !== identity.id && !mayDecide)) throw new VmbotError('usage', `There is no request ${id} that you can see. Type "requests" for yours.`);
    const trail = await queryAudit(this.deps.audit.dir, { correlationId: id });
    const steps = trail
      .filter((x) => x.kind !== 'intent')
      .map((x) => `  #${x.id} ${fmtTime(x.time)}  ${x.user ?? x.principal ?? 'vmbot'}: ${trailWords(x, r.requester === identity.id ? r.requester : null)}`);
    const fields = this.fields(r);
    const pending = r.status === 'pending';
    return {
      status: 'done',
      title: `Request ${r.id}`,
      text: [
        `Request ${r.id}: ${r.name} from ${r.template}, ${this.summaryOf(r)}.`,
        ...fields.filter((f) => f.label !== 'Expires' || pending).map((f) => `${f.label}: ${f.value}`),
        ...(steps.length ? ['Audit trail:', ...steps] : []),
      ].join('\n'),
      fields: fields.filter((f) => f.label !== 'Expires' || pending),
      actions: pending && mayDecide && r.requester !== identity.id && !r.approvals.some((a) => a.user === identity.id) ? this.actionsFor(r) : [],
      data: { requestId: r.id, status: r.status, auditIds: trail.map((x) => x.id) },
    };
  }

  /** The requester withdraws a pending request: it stops counting against the quota; approvers are told. */
  async cancel(identity: Identity, actor: Actor, id: string): Promise<Reply> {
    const r = this.deps.store.data.approvals[id];
    if (!r || r.requester !== identity.id) throw new VmbotError('usage', `There is no request ${id} of yours. Type "requests" for yours.`);
    const at = this.now().toISOString();
    const approvers = this.policy.usersWith('Approve Virtual Machine Request', r.scope).filter((u) => u !== identity.id);
    const { ok, req: latest } = await this.deps.notices.step((d, out) => {
      const cur = d.approvals[id]!;
      if (cur.status !== 'pending') return { ok: false, req: snapshot(cur) };
      Object.assign(cur, { status: 'cancelled', decidedAt: at });
      out.send({ to: approvers, reply: { status: 'done', text: `${identity.id} withdrew request ${id} for ${cur.name}; nothing to decide.`, data: { requestId: id, status: 'cancelled' } } });
      return { ok: true, req: snapshot(cur) };
    });
    if (!ok) throw new VmbotError('conflict', `Request ${id} is already ${this.outcomeOf(latest)}; it can no longer be withdrawn.`);
    await this.event(actor, latest, 'request.cancel', 'ok', 'withdrawn by the requester', { to: approvers });
    return { status: 'done', text: `Request ${id} for ${latest.name} withdrawn. It no longer counts against your quota.`, data: { requestId: id, status: 'cancelled' } };
  }

  /** Who decided a finished request. */
  private deciders(r: ApprovalRequest): string[] {
    if (r.status === 'denied') return r.deniedBy ? [r.deniedBy] : [];
    if (r.status === 'cancelled') return [r.requester];
    if (r.status === 'approved' || r.status === 'created' || r.status === 'failed') return r.approvals.map((a) => a.user);
    return [];
  }

  /** "denied by carol on …: "reason"", "created (approved by carol and erin)", "pending, 1 of 2 approvals, expires …". */
  private summaryOf(r: ApprovalRequest): string {
    const when = r.decidedAt ? ` on ${fmtTime(r.decidedAt)}` : '';
    const by = joinAnd(this.deciders(r));
    switch (r.status) {
      case 'pending':
        return `pending, requested by ${r.requester}, ${r.approvals.length} of ${plural(r.required, 'approval')}${r.approvals.length ? ` (${joinAnd(r.approvals.map((a) => a.user))})` : ''}, expires ${fmtTime(r.expiresAt)}`;
      case 'denied':
        return `denied by ${by || 'an approver'}${when}: "${r.denyReason ?? ''}" (requested by ${r.requester})`;
      case 'cancelled':
        return `withdrawn by ${r.requester}${when}`;
      case 'expired':
        return `expired${when} without enough approvals (requested by ${r.requester}, ${r.approvals.length} of ${r.required})`;
      case 'approved':
        return `approved by ${by}${when}, being created (requested by ${r.requester})`;
      case 'created':
        return `created${r.vm ? ` on ${r.vm.host}` : ''}, approved by ${by}${when} (requested by ${r.requester})`;
      case 'failed':
        return r.error === NOT_FULFILLED
          ? `${NOT_FULFILLED}${when} (requested by ${r.requester})`
          : `approved by ${by}${when}, but creating it failed: ${r.error ?? 'see the audit log'} (requested by ${r.requester})`;
    }
  }

  /** "created (approved by carol)", "denied (by carol)", for "already …" answers. */
  private outcomeOf(r: ApprovalRequest): string {
    const by = joinAnd(this.deciders(r));
    if (r.status === 'expired') return 'expired';
    if (r.status === 'cancelled') return `withdrawn by ${r.requester}`;
    if (r.status === 'denied') return `denied by ${by || 'an approver'}`;
    return `${r.status}${by ? ` (approved by ${by})` : ''}`;
  }

  /** Pending requests past their time become expired; the requester is told. */
  async expireDue(): Promise<number> {
    const now = this.now();
    const expired = await this.deps.notices.step((d, notices) => {
      const out: ApprovalRequest[] = [];
      for (const r of Object.values(d.approvals))
        if (r.status === 'pending' && Date.parse(r.expiresAt) <= now.getTime()) {
          r.status = 'expired';
          r.decidedAt = now.toISOString();
          this.raiseExpired(notices, r);
          out.push(snapshot(r));
        }
      return out;
    });
    for (const r of expired) await this.event(SYSTEM, r, 'request.expire', 'ok', `not approved by ${fmtTime(r.expiresAt)}`);
    return expired.length;
  }

  /**
   * Start-up: a request approved but not yet created (the bot stopped in between) is finished
   * now. If the VM already exists, the create had happened: record that instead of creating twice.
   */
  async resumeApproved(): Promise<number> {
    const stuck = Object.values(this.deps.store.data.approvals).filter((r) => r.status === 'approved');
    for (const r of stuck) {
      const taken = await this.nameTaken(r.name);
      const existing = taken.vm;
      // Ours only if it stands where the request put it; anything else is a collision.
      if (taken.taken && (!existing || existing.host.toLowerCase() !== r.host.toLowerCase())) await this.closeOnCollision(SYSTEM, r.id, existing);
      else if (existing) {
        await this.deps.store.update((d) => void Object.assign(d.approvals[r.id]!, { status: 'created', vm: { id: existing.id, name: existing.name, host: existing.host } }));
        await this.event(SYSTEM, r, 'Create Virtual Machine', 'ok', 'found created after a restart', { vm: existing.name });
      } else await this.createVm(r, SYSTEM);
    }
    return stuck.length;
  }

  /**
   * Does a VM of this name exist on any host? `ambiguous` (several hosts) counts as taken; the
   * VM itself only when exactly one answers.
   */
  private async nameTaken(name: string): Promise<{ taken: boolean; vm: VmInfo | null }> {
    try {
      const vm = await this.deps.backend.get(name);
      return { taken: !!vm, vm };
    } catch (e) {
      if (e instanceof VmbotError && e.code === 'ambiguous') return { taken: true, vm: null };
      throw e;
    }
  }

  /**
   * A pending request whose name a VM already has (one the requester could not see, or one
   * made since): close it as failed. The approver is told why; the requester only that it could
   * not be fulfilled; the auditor finds both in the log. Null when the request was decided
   * meanwhile (the normal answer for a closed request follows).
   */
  private async closeOnCollision(actor: Actor, id: string, vm: VmInfo | null): Promise<Reply | null> {
    const at = this.now().toISOString();
    const closed = await this.deps.notices.step((d, out) => {
      const cur = d.approvals[id];
      if (!cur || (cur.status !== 'pending' && cur.status !== 'approved')) return null;
      Object.assign(cur, { status: 'failed', error: NOT_FULFILLED, decidedAt: at });
      out.update(topicOf(id), this.decidedReply(cur, `could not be fulfilled: ${collisionWhy(cur)}`));
      out.send({ to: [cur.requester], reply: { status: 'failed', text: notFulfilledText(cur), data: { requestId: id, status: 'failed' } } });
      return snapshot(cur);
    });
    if (!closed) return null;
    const why = collisionWhy(closed);
    await this.event(actor, closed, 'request.collision', 'failed', `${why}; the request cannot be fulfilled`, {
      existing: vm ? { id: vm.id, name: vm.name, host: vm.host } : 'on more than one host',
    });
    return {
      status: 'invalid', code: 'conflict',
      text: `Request ${id} cannot be fulfilled: ${why}. The request is closed and nothing was created or changed. ${closed.requester} has been told only that it could not be fulfilled.`,
      data: { requestId: id, status: 'failed' },
    };
  }

  /** Defence in depth behind the pipeline's check: the same one authorizer, at the moment of deciding. */
  private checkDecider(identity: Identity, req: ApprovalRequest | undefined, id: string, verb: string): asserts req is ApprovalRequest {
    if (!req) throw new VmbotError('usage', `There is no request ${id}. Type "requests" to see the ones you may decide.`);
    const d = authorize(this.policy, identity.id, { kind: 'decide', request: req });
    if (d.allow) return;
    if (req.requester === identity.id) throw new VmbotError('denied', `You cannot ${verb} your own request ${id}; another approver must decide it.`, d.reason);
    throw new VmbotError('denied', `You are not an approver for request ${id}.`, d.reason);
  }

  /** The one place a VM is created: intent, New-VM with the template's values, result. */
  private async createVm(req: ApprovalRequest, actor: Actor): Promise<Reply> {
    const t = named(this.policy.policy.templates, req.template);
    const base = { ...this.auditBase(actor, req), operation: 'Create Virtual Machine' };
    if (!t) {
      await this.deps.store.update((d) => void Object.assign(d.approvals[req.id]!, { status: 'failed', error: `template ${req.template} no longer exists` }));
      await this.deps.audit.append({ ...base, kind: 'event', outcome: 'failed', error: `template ${req.template} no longer in the policy` });
      throw new VmbotError('failed', `Template ${req.template} is no longer in the policy; ${req.id} cannot be created.`);
    }
    const spec = { name: req.name, host: req.host, template: req.template, generation: t.generation, cpuCount: t.cpuCount, memoryMB: t.memoryMB, diskGB: t.diskGB, switch: t.switch, vlan: t.vlan };
    const intent = await this.deps.audit.append({ ...base, kind: 'intent', decision: 'allow', reason: `approved by ${req.approvals.map((a) => a.user).join(', ')}`, details: { spec } });
    try {
      const vm = await this.deps.backend.create(spec);
      await this.deps.notices.step((d, out) => {
        Object.assign(d.approvals[req.id]!, { status: 'created', vm: { id: vm.id, name: vm.name, host: vm.host } });
        out.send({ to: [req.requester], reply: { status: 'done', text: `${joinAnd(req.approvals.map((a) => a.user))} approved your request ${req.id}: your VM ${vm.name} (${req.template}) was created on ${vm.host} and is off. Type "start ${vm.name}" to boot it.`, data: { requestId: req.id, status: 'created', vm: vm.name } } });
      });
      await this.deps.audit.append({ ...base, kind: 'result', intentId: intent.id, outcome: 'ok', details: { vm: { id: vm.id, name: vm.name, host: vm.host } } });
      return { status: 'done', text: `Approved ${req.id}: ${vm.name} created on ${vm.host} from ${req.template}. ${req.requester} has been told.`, data: { requestId: req.id, status: 'created', vm: vm.name } };
    } catch (e) {
      const err = e instanceof VmbotError ? e : new VmbotError('failed', 'Hyper-V could not create the VM.', String(e));
      // A VM of that name appeared since the approval check (maybe one the requester cannot
      // see): the requester learns only that the request could not be fulfilled.
      const taken = err.code === 'already_exists' || err.code === 'ambiguous';
      await this.deps.notices.step((d, out) => {
        Object.assign(d.approvals[req.id]!, { status: 'failed', error: taken ? NOT_FULFILLED : err.message });
        out.send({ to: [req.requester], reply: { status: 'failed', text: taken ? notFulfilledText(req) : `Your request ${req.id} was approved, but creating ${req.name} failed: ${err.message}` } });
      });
      await this.deps.audit.append({ ...base, kind: 'result', intentId: intent.id, outcome: 'failed', error: `${err.code}: ${err.detail ?? err.message}` });
      throw err;
    }
  }

  private auditBase(actor: Actor, req: ApprovalRequest) {
    return { principal: actor.principal, user: actor.user, channel: actor.channel ?? null, correlationId: req.id, vm: req.name, host: req.host };
  }

  private event(actor: Actor, req: ApprovalRequest, operation: string, outcome: 'ok' | 'pending' | 'failed', reason: string, details: Record<string, unknown> = {}) {
    return this.deps.audit.append({ ...this.auditBase(actor, req), kind: 'event', operation, outcome, reason, details: { template: req.template, status: req.status, ...details } });
  }

  private fields(r: ApprovalRequest) {
    const t = named(this.policy.policy.templates, r.template);
    return [
      { label: 'VM', value: r.name },
      { label: 'Template', value: t ? `${r.template}: gen ${t.generation}, ${t.cpuCount} vCPU, ${t.memoryMB} MB, ${t.diskGB} GB, switch ${t.switch}${t.vlan ? ` VLAN ${t.vlan}` : ''}` : r.template },
      { label: 'Host', value: r.host },
      { label: 'Requested by', value: r.requester },
      { label: 'Reason', value: r.reason ?? '—' },
      { label: 'Approvals', value: `${r.approvals.length} of ${r.required}${r.approvals.length ? `: ${joinAnd(r.approvals.map((a) => `${a.user} (${fmtTime(a.at)})`))}` : ''}` },
      { label: 'Expires', value: fmtTime(r.expiresAt) },
    ];
  }

  private actionsFor(r: ApprovalRequest) {
    return [
      { id: `approve:${r.id}`, label: `Approve ${r.id}`, command: `approve ${r.id}`, style: 'primary' as const },
      // The reason is asked for (a modal, an Input.Text) and sent as an input, never as text in the command.
      {
        id: `deny:${r.id}`, label: `Deny ${r.id}`, command: `deny ${r.id}`, style: 'danger' as const,
        inputs: [{ name: 'reason', label: `Why is ${r.name} denied? (the requester reads this)`, multiline: true, minLength: 3, maxLength: 500 }],
      },
    ];
  }

  /** Expired before approval: every approver's card says so, and the requester is told. */
  private raiseExpired(out: NoticeWriter, r: ApprovalRequest): void {
    out.update(topicOf(r.id), this.decidedReply(r, `expired ${fmtTime(r.decidedAt!)} before it was approved`));
    out.send({ to: [r.requester], reply: { status: 'failed', text: `Your request ${r.id} for ${r.name} expired before it was approved.` } });
  }

  /**
   * What every approver's card for the request is replaced with: its outcome, who decided and
   * when, and no buttons left to click.
   */
  private decidedReply(r: ApprovalRequest, outcome: string): Reply {
    const status = r.status === 'denied' ? 'denied' : r.status === 'expired' ? 'failed' : 'done';
    return {
      status, visibility: 'private', title: `Request ${r.id}: ${r.name}`,
      text: `Request ${r.id} for ${r.name} (${r.template}) by ${r.requester}: ${outcome}.`,
      fields: [...this.fields(r), { label: 'Decision', value: outcome }],
      data: { requestId: r.id, status: r.status },
    };
  }

  /** The approvers' card. `nameTaken`: a VM of that name exists already (approving will close the request as unfulfillable). */
  private card(r: ApprovalRequest, title: string, nameTaken = false): Reply {
    const warning = nameTaken ? ` Note: a VM named ${r.name} already exists on Hyper-V, so this request cannot be fulfilled; approving it closes it (the requester is not told why).` : '';
    return {
      status: 'pending',
      title,
      text: `${r.requester} requests ${r.name} from template ${r.template}${r.reason ? ` ("${r.reason}")` : ''}. Request ${r.id}, ${plural(r.required, 'approval')} needed, expires ${fmtTime(r.expiresAt)}.${warning}`,
      fields: [...this.fields(r), ...(nameTaken ? [{ label: 'Warning', value: `a VM named ${r.name} already exists` }] : [])],
      actions: this.actionsFor(r),
      data: { requestId: r.id },
    };
  }
}

/**
 * One audit record of a request's trail, in words. For the requester (`requester` set), other
 * people's records show what happened but not their reason or error, except a deny's reason
 * (meant for them): an approver's failed approval or a failed create can name a VM the
 * requester may not see (issue 7: no existence oracle).
 */
function trailWords(x: { kind: string; operation: string | null; outcome: string | null; reason: string | null; error: string | null; user: string | null }, requester: string | null = null): string {
  const op = x.operation ?? '';
  const words: Record<string, string> = {
    'Request Virtual Machine': 'requested', 'request.notify': 'approvers notified', 'request.approval': 'approval',
    'request.deny': 'denied', 'request.expire': 'expired', 'request.cancel': 'withdrew', 'Create Virtual Machine': 'create VM',
    'Approve Virtual Machine Request': 'decision',
  };
  const what = words[op] ?? op;
  if (op === 'request.collision') return requester ? `${NOT_FULFILLED} → failed` : `${what} → failed (${x.reason ?? ''})`;
  const mayExplain = !requester || x.user === requester || op === 'request.deny' || op === 'request.approval';
  // The error in words: the record keeps `conflict: …`, the trail drops the code name.
  const detail = mayExplain ? x.error?.replace(/^[a-z_]+: /, '') ?? x.reason : null;
  return `${what} → ${x.outcome ?? '-'}${detail ? ` (${detail})` : ''}`;
}

/**
 * The template rules of a new-VM request, as one function for the workflow and for
 * `policy explain`: a template the user may use, and a name inside the template's scope.
 */
export function requestLimits(policy: PolicyEvaluator, userId: string, r: { name: string; template: string }): string | null {
  const allowedScopes = policy.scopesWith(userId, 'Request Virtual Machine');
  const usable = Object.keys(policy.policy.templates).filter((n) => allowedScopes.includes(named(policy.policy.templates, n)!.scope));
  const template = named(policy.policy.templates, r.template);
  if (!template || !allowedScopes.includes(template.scope))
    return `No template "${r.template}" you may use. ${usable.length ? `Your templates: ${usable.join(', ')}.` : 'You may not request VMs from any template.'}`;
  if (!scopeHolds(policy.scopes.get(template.scope)!, { name: r.name, host: template.hosts[0]! }, true))
    return `A ${r.template} VM must be named like ${named(policy.policy.scopes, template.scope)!.vms.join(' or ')}; "${r.name}" is not.`;
  return null;
}
