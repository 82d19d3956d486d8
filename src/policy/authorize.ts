import type { Decision, PolicyEvaluator, VmTarget } from './evaluator';
import type { Operation } from './schema';

/**
 * What is being decided. Every authorisation in vmbot (the pipeline, `policy explain`, the
 * approval workflow) is one of these, decided by authorize() below: one function, so a check can
 * never differ between the place that enforces it and the place that explains it.
 */
export type Subject =
  /** Holds at least one of the operations somewhere (list, requests, request, audit). */
  | { kind: 'any'; operations: readonly Operation[] }
  /** Every operation on one VM (start, stop, console); `requireHost` once the VM's host is known. */
  | { kind: 'vm'; vm: VmTarget; operations: readonly Operation[]; turnOff?: boolean; requireHost?: boolean }
  /** The VM is visible: any VM operation on it (status). */
  | { kind: 'visible'; vm: VmTarget; requireHost?: boolean }
  /** Decide (approve or deny) a new-VM request: an approver of its scope, never the requester. */
  | { kind: 'decide'; request: { id: string; requester: string; scope: string } };

export function authorize(policy: PolicyEvaluator, userId: string, subject: Subject): Decision {
  switch (subject.kind) {
    case 'any': {
      if (!subject.operations.length) return { allow: true, reason: 'open to every known user; results are filtered to the caller’s scopes' };
      const held = subject.operations.find((op) => policy.holdsAnywhere(userId, op));
      // The assignment that grants it, as for a VM operation: explain and the audit name it.
      const matched = held ? policy.decide(userId, held, null).matched : undefined;
      return held
        ? { allow: true, reason: `holds "${held}" in ${policy.scopesWith(userId, held).join(', ')}`, ...(matched ? { matched } : {}) }
        : { allow: false, reason: `no assignment grants ${subject.operations.map((op) => `"${op}"`).join(' or ')}` };
    }
    case 'vm': {
      let first: Decision | null = null;
      for (const op of subject.operations) {
        const d = policy.decide(userId, op, subject.vm, { turnOff: subject.turnOff, requireHost: subject.requireHost });
        if (!d.allow) return d;
        first ??= d;
      }
      return first ?? { allow: false, reason: 'no operation named' };
    }
    case 'visible':
      return policy.visible(userId, subject.vm, { requireHost: subject.requireHost });
    case 'decide': {
      const { request: r } = subject;
      // Self-approval is refused before the role is even looked at: no role can grant it.
      if (r.requester === userId) return { allow: false, reason: `self-approval: ${userId} requested ${r.id}; another approver must decide it` };
      const d = policy.decide(userId, 'Approve Virtual Machine Request', null);
      const scopes = policy.scopesWith(userId, 'Approve Virtual Machine Request');
      if (!scopes.includes(r.scope)) return { allow: false, reason: `not an approver for scope ${r.scope} (no assignment grants "Approve Virtual Machine Request" there)` };
      return { allow: true, reason: `approver for scope ${r.scope}`, ...(d.matched?.scope === r.scope ? { matched: d.matched } : {}) };
    }
  }
}
