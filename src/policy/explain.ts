import { z } from 'zod';
import type { AnyCommand } from '../core/command';
import { parseCommand } from '../core/parser';
import { authorize } from './authorize';
import type { PolicyEvaluator, Decision, VmTarget } from './evaluator';
import { named, PolicySchema } from './schema';

export interface Explanation {
  principal: string;
  user: string | null;
  command: string | null;
  operation: string | null;
  vm: string | null;
  decision: Decision;
  notes: string[];
}

export interface ExplainOptions {
  /**
   * The VMs and their hosts (backend list or an inventory file). Given, explain decides as the
   * pipeline does after its lookup: by name first, then with the VM's host (an unlisted VM is
   * "no such VM"). Without it, a scope's host restriction is reported as a run-time condition.
   */
  inventory?: readonly Required<VmTarget>[];
}

/**
 * Dry run of identify + authorize, as `kubectl auth can-i` does: nothing runs, nothing is
 * audited.
 */
export function explain(policy: PolicyEvaluator, commands: readonly AnyCommand[], principal: string, text: string, opts: ExplainOptions = {}): Explanation {
  const identity = policy.identify(principal);
  const parsed = parseCommand(text, commands);
  const base = { principal, user: identity?.id ?? null, notes: [] as string[] };
  if (!parsed) return { ...base, command: 'help', operation: null, vm: null, decision: { allow: true, reason: 'help needs no rights' } };
  const { command, args } = parsed;
  const authz = command.authz(args);
  const out = { ...base, command: command.name, operation: command.operation(args), vm: 'vm' in authz ? authz.vm : null };
  if (authz.kind === 'none') return { ...out, decision: { allow: true, reason: 'needs no rights' } };
  if (!identity) return { ...out, decision: { allow: false, reason: `principal ${principal} is not in the policy: no rights` } };
  let decision: Decision;
  // The command's own limits (console minutes, template rules): the same functions the workflows enforce.
  const withLimits = (d: Decision): Decision => {
    const limit = d.allow ? command.limits?.(policy, identity, args) : null;
    return limit ? { ...d, allow: false, reason: `the policy allows it, but the command refuses: ${limit}` } : d;
  };
  // The same function the pipeline decides with (src/policy/authorize.ts).
  if (authz.kind === 'self') decision = authorize(policy, identity.id, { kind: 'any', operations: authz.operation ? [authz.operation].flat() : [] });
  else if (authz.kind === 'decide') {
    decision = authorize(policy, identity.id, { kind: 'any', operations: ['Approve Virtual Machine Request'] });
    if (decision.allow) out.notes.push(`at run time: ${authz.requestId} must be a request in ${policy.scopesWith(identity.id, 'Approve Virtual Machine Request').join(' or ')}, and not one ${identity.id} made (self-approval is always refused)`);
  } else {
    const check = (vm: VmTarget, requireHost: boolean): Decision =>
      authz.kind === 'visible'
        ? authorize(policy, identity.id, { kind: 'visible', vm, requireHost })
        : authorize(policy, identity.id, { kind: 'vm', vm, operations: authz.operations, turnOff: authz.turnOff, requireHost });
    decision = check({ name: authz.vm }, false);
    if (decision.allow && opts.inventory) {
      const vm = opts.inventory.find((v) => v.name.toLowerCase() === authz.vm.toLowerCase());
      decision = vm ? check(vm, true) : { allow: false, reason: 'no such VM' };
      if (vm) out.notes.push(`${vm.name} is on host ${vm.host}`);
      return { ...out, decision: withLimits(decision) };
    }
  }
  decision = withLimits(decision);
  if (!decision.allow) return { ...out, decision };
  const scope = decision.matched && named(policy.policy.scopes, decision.matched.scope);
  if (decision.allow && scope?.hosts) out.notes.push(`scope "${decision.matched!.scope}" also requires the VM to be on ${scope.hosts.join(' or ')} (checked against Hyper-V at run time)`);
  if (decision.allow && out.vm) out.notes.push(`a VM named ${out.vm} must exist; otherwise the user is told "not permitted, or no such VM"`);
  return { ...out, decision };
}

/** JSON Schema of the policy for editors (YAML language server, VS Code). */
export function policyJsonSchema(): unknown {
  return z.toJSONSchema(PolicySchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
}
