import { VM_NAME_RE } from '../hyperv/backend';
import { grantException, grantOperation } from './lint';
import { VM_OPERATIONS } from './operations';
import { named, type Operation, type Policy, type User } from './schema';

const VM_OPS: ReadonlySet<Operation> = new Set(VM_OPERATIONS);

/** A VM as the evaluator sees it: its canonical name and, once looked up, its host. */
export interface VmTarget {
  name: string;
  host?: string;
}

export interface MatchedAssignment {
  index: number;
  role: string;
  scope: string;
  /** `user` when the assignment names the user, else `group:<name>`. */
  via: string;
}

export interface Decision {
  allow: boolean;
  reason: string;
  matched?: MatchedAssignment;
}

export interface Identity {
  id: string;
  user: User;
}

interface CompiledScope {
  name: string;
  exact: ReadonlySet<string>;
  /** Lower-cased prefixes of `prefix*` patterns (the common case): startsWith, no RegExp. */
  prefixes: readonly string[];
  patterns: readonly RegExp[];
  hosts?: ReadonlySet<string>;
}

interface CompiledGrant {
  match: MatchedAssignment;
  /** Operation -> expiry of its exception (Infinity when none is needed). */
  ops: ReadonlyMap<Operation, number>;
  allowTurnOff: boolean;
  scope: CompiledScope;
}

/** Admin-written scope pattern to an anchored, case-insensitive regex: only * and ? are special. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function compileScope(name: string, vms: string[], hosts?: string[]): CompiledScope {
  const wild = vms.filter((p) => /[*?]/.test(p));
  const isPrefix = (p: string) => /^[^*?]*\*$/.test(p);
  return {
    name,
    exact: new Set(vms.filter((p) => !/[*?]/.test(p)).map((p) => p.toLowerCase())),
    prefixes: wild.filter(isPrefix).map((p) => p.slice(0, -1).toLowerCase()),
    patterns: wild.filter((p) => !isPrefix(p)).map(globToRegExp),
    hosts: hosts && new Set(hosts.map((h) => h.toLowerCase())),
  };
}

/**
 * Does the scope hold this VM? The name is matched as data (exact set or admin-written
 * pattern), never compiled. A host restriction needs a known host: unknown host = no match.
 */
export function scopeHolds(scope: CompiledScope, vm: VmTarget, requireHost: boolean): boolean {
  if (!VM_NAME_RE.test(vm.name)) return false; // a wildcard or quote in input never matches anything
  const lower = vm.name.toLowerCase();
  if (!scope.exact.has(lower) && !scope.prefixes.some((p) => lower.startsWith(p)) && !scope.patterns.some((r) => r.test(vm.name))) return false;
  if (!scope.hosts) return true;
  if (vm.host === undefined) return !requireHost;
  return scope.hosts.has(vm.host.toLowerCase());
}

/**
 * The policy compiled for decisions: principal -> user -> grants, each grant an assignment's
 * role operations bound to its compiled scope. Deny by default: no grant, no access.
 */
export class PolicyEvaluator {
  private readonly principals = new Map<string, string>();
  private readonly grants = new Map<string, CompiledGrant[]>();
  readonly scopes = new Map<string, CompiledScope>();

  constructor(
    readonly policy: Policy,
    private readonly clock: () => number = Date.now,
  ) {
    for (const [name, s] of Object.entries(policy.scopes)) this.scopes.set(name, compileScope(name, s.vms, s.hosts));
    // group -> members once: walking every user per group assignment is O(groups x users).
    const members = new Map<string, string[]>();
    for (const [id, user] of Object.entries(policy.users)) {
      for (const p of user.identities) this.principals.set(p.toLowerCase(), id);
      this.grants.set(id, []);
      for (const g of new Set(user.groups)) {
        const list = members.get(g);
        if (list) list.push(id);
        else members.set(g, [id]);
      }
    }
    policy.assignments.forEach((a, index) => {
      const role = named(policy.roles, a.role);
      const scope = this.scopes.get(a.scope);
      if (!role || !scope) return; // rejected at load; never widen access on a dangling name
      const ops = new Map<Operation, number>();
      for (const g of role.operations) {
        const exp = grantException(g)?.expires.getTime() ?? Infinity;
        ops.set(grantOperation(g), Math.max(exp, ops.get(grantOperation(g)) ?? -Infinity));
      }
      const bind = (userId: string, via: string) =>
        this.grants.get(userId)?.push({ match: { index, role: a.role, scope: a.scope, via }, ops, allowTurnOff: role.allowTurnOff, scope });
      for (const u of a.users) bind(u, 'user');
      for (const g of a.groups) for (const uid of members.get(g) ?? []) bind(uid, `group:${g}`);
    });
  }

  /** Principal -> user. An unknown principal has no rights. */
  identify(principal: string): Identity | null {
    const id = this.principals.get(principal.toLowerCase());
    return id ? { id, user: named(this.policy.users, id)! } : null;
  }

  /**
   * May `userId` perform `op` on `vm`? With `requireHost`, a scope that restricts hosts only
   * matches once the VM's host is known (the pipeline decides again after the lookup).
   */
  decide(userId: string, op: Operation, vm: VmTarget | null, opts: { turnOff?: boolean; requireHost?: boolean } = {}): Decision {
    const grants = this.grants.get(userId);
    if (!grants) return { allow: false, reason: 'unknown user' };
    const now = this.clock();
    let heldElsewhere = false;
    let turnOffMissing: MatchedAssignment | null = null;
    for (const g of grants) {
      const exp = g.ops.get(op);
      if (exp === undefined || exp <= now) continue;
      if (vm && !scopeHolds(g.scope, vm, opts.requireHost ?? true)) {
        heldElsewhere = true;
        continue;
      }
      if (opts.turnOff && !g.allowTurnOff) {
        turnOffMissing ??= g.match;
        continue;
      }
      return { allow: true, reason: `"${op}" granted by role "${g.match.role}" in scope "${g.match.scope}" (${g.match.via})`, matched: g.match };
    }
    // Name the assignment that grants the plain operation but not turn-off: that is the one to change.
    if (turnOffMissing) return { allow: false, reason: `no role in scope allows turn-off for "${op}"`, matched: turnOffMissing };
    if (heldElsewhere) return { allow: false, reason: `"${op}" is held, but not in a scope containing ${vm!.name}` };
    return { allow: false, reason: `no assignment grants "${op}"` };
  }

  /**
   * status/list: a VM is visible when the user holds any VM operation on it. Bot operations
   * (an auditor's Read Audit Log over every VM) do not make VMs visible. `requireHost` as in decide.
   */
  visible(userId: string, vm: VmTarget, opts: { requireHost?: boolean } = {}): Decision {
    const now = this.clock();
    for (const g of this.grants.get(userId) ?? []) {
      if (!scopeHolds(g.scope, vm, opts.requireHost ?? true)) continue;
      for (const [op, exp] of g.ops)
        if (VM_OPS.has(op) && exp > now) return { allow: true, reason: `visible through role "${g.match.role}" in scope "${g.match.scope}"`, matched: g.match };
    }
    return { allow: false, reason: 'no operation held on this VM' };
  }

  /** Scopes in which the user holds `op` (for templates, approvers and help). */
  scopesWith(userId: string, op: Operation): string[] {
    const now = this.clock();
    const out = new Set<string>();
    for (const g of this.grants.get(userId) ?? []) {
      const exp = g.ops.get(op);
      if (exp !== undefined && exp > now) out.add(g.match.scope);
    }
    return [...out];
  }

  /** Does the user hold `op` anywhere? (help shows only usable commands) */
  holdsAnywhere(userId: string, op: Operation): boolean {
    return this.scopesWith(userId, op).length > 0;
  }

  /** Does any of the user's roles allow Stop with -TurnOff somewhere? (help shows --turnoff only then) */
  turnOffAnywhere(userId: string): boolean {
    const now = this.clock();
    return (this.grants.get(userId) ?? []).some((g) => g.allowTurnOff && (g.ops.get('Stop Virtual Machine') ?? -Infinity) > now);
  }

  /** Does the user hold any VM operation anywhere? (status and list are shown only then) */
  holdsAnyVmOperation(userId: string): boolean {
    const now = this.clock();
    return (this.grants.get(userId) ?? []).some((g) => [...g.ops].some(([op, exp]) => VM_OPS.has(op) && exp > now));
  }

  /** Users holding `op` in `scope` (approvers for a request). */
  usersWith(op: Operation, scope: string): string[] {
    const now = this.clock();
    const out: string[] = [];
    for (const [uid, grants] of this.grants)
      if (grants.some((g) => g.match.scope === scope && (g.ops.get(op) ?? -Infinity) > now)) out.push(uid);
    return out;
  }
}
