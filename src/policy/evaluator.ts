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

/** An assignment's role and scope, compiled once for every user it binds. */
interface CompiledAssignment {
  ops: ReadonlyMap<Operation, number>;
  allowTurnOff: boolean;
  scope: CompiledScope;
}

/**
 * The policy compiled for decisions: principal -> user -> grants, each grant an assignment's
 * role operations bound to its compiled scope. Deny by default: no grant, no access.
 *
 * Start-up builds only what is cheap (scopes, and which assignments name each user and group);
 * a user's grants are bound on the user's first decision and kept, and the principal index on
 * the first identify. At 10k users that moved ~100 ms out of start-up; the grants a user gets,
 * and their order (assignment order; within one, the user named, then each group), are as they
 * were when every user was bound at construction.
 */
export class PolicyEvaluator {
  readonly scopes = new Map<string, CompiledScope>();
  private principals: Map<string, string> | null = null;
  /** User -> grants, bound on first use. */
  private readonly grants = new Map<string, CompiledGrant[]>();
  /** Assignment indices that name the user / the group, ascending. */
  private readonly byUser = new Map<string, number[]>();
  private readonly byGroup = new Map<string, number[]>();
  private readonly compiled: (CompiledAssignment | null | undefined)[] = [];

  constructor(
    readonly policy: Policy,
    private readonly clock: () => number = Date.now,
  ) {
    for (const [name, s] of Object.entries(policy.scopes)) this.scopes.set(name, compileScope(name, s.vms, s.hosts));
    const add = (index: Map<string, number[]>, key: string, i: number) => {
      const list = index.get(key);
      if (!list) index.set(key, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    };
    policy.assignments.forEach((a, i) => {
      for (const u of a.users) add(this.byUser, u, i);
      for (const g of a.groups) add(this.byGroup, g, i);
    });
  }

  /** The assignment's operations (with exception expiries), turn-off and scope; null when a name dangles. */
  private assignment(index: number): CompiledAssignment | null {
    let c = this.compiled[index];
    if (c !== undefined) return c;
    const a = this.policy.assignments[index]!;
    const role = named(this.policy.roles, a.role);
    const scope = this.scopes.get(a.scope);
    c = null; // rejected at load; never widen access on a dangling name
    if (role && scope) {
      const ops = new Map<Operation, number>();
      for (const g of role.operations) {
        const exp = grantException(g)?.expires.getTime() ?? Infinity;
        ops.set(grantOperation(g), Math.max(exp, ops.get(grantOperation(g)) ?? -Infinity));
      }
      c = { ops, allowTurnOff: role.allowTurnOff, scope };
    }
    this.compiled[index] = c;
    return c;
  }

  /** The user's grants, bound on first use; undefined for a user the policy does not define. */
  private grantsOf(userId: string): CompiledGrant[] | undefined {
    const known = this.grants.get(userId);
    if (known) return known;
    const user = named(this.policy.users, userId);
    if (!user) return undefined;
    const groups = new Set(user.groups);
    const indices = new Set(this.byUser.get(userId));
    for (const g of groups) for (const i of this.byGroup.get(g) ?? []) indices.add(i);
    const out: CompiledGrant[] = [];
    for (const index of [...indices].sort((x, y) => x - y)) {
      const c = this.assignment(index);
      if (!c) continue;
      const a = this.policy.assignments[index]!;
      const bind = (via: string) => out.push({ match: { index, role: a.role, scope: a.scope, via }, ops: c.ops, allowTurnOff: c.allowTurnOff, scope: c.scope });
      for (const u of a.users) if (u === userId) bind('user');
      for (const g of a.groups) if (groups.has(g)) bind(`group:${g}`);
    }
    this.grants.set(userId, out);
    return out;
  }

  /** Principal -> user. An unknown principal has no rights. */
  identify(principal: string): Identity | null {
    if (!this.principals) {
      this.principals = new Map();
      for (const [id, user] of Object.entries(this.policy.users)) for (const p of user.identities) this.principals.set(p.toLowerCase(), id);
    }
    const id = this.principals.get(principal.toLowerCase());
    return id ? { id, user: named(this.policy.users, id)! } : null;
  }

  /**
   * May `userId` perform `op` on `vm`? With `requireHost`, a scope that restricts hosts only
   * matches once the VM's host is known (the pipeline decides again after the lookup).
   */
  decide(userId: string, op: Operation, vm: VmTarget | null, opts: { turnOff?: boolean; requireHost?: boolean } = {}): Decision {
    const grants = this.grantsOf(userId);
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
    for (const g of this.grantsOf(userId) ?? []) {
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
    for (const g of this.grantsOf(userId) ?? []) {
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
    return (this.grantsOf(userId) ?? []).some((g) => g.allowTurnOff && (g.ops.get('Stop Virtual Machine') ?? -Infinity) > now);
  }

  /** Does the user hold any VM operation anywhere? (status and list are shown only then) */
  holdsAnyVmOperation(userId: string): boolean {
    const now = this.clock();
    return (this.grantsOf(userId) ?? []).some((g) => [...g.ops].some(([op, exp]) => VM_OPS.has(op) && exp > now));
  }

  /** Users holding `op` in `scope` (approvers for a request), in the policy's order of users. */
  usersWith(op: Operation, scope: string): string[] {
    const now = this.clock();
    const users = new Set<string>();
    const groups = new Set<string>();
    this.policy.assignments.forEach((a, index) => {
      if (a.scope !== scope || !((this.assignment(index)?.ops.get(op) ?? -Infinity) > now)) return;
      for (const u of a.users) users.add(u);
      for (const g of a.groups) groups.add(g);
    });
    if (!users.size && !groups.size) return [];
    return Object.entries(this.policy.users)
      .filter(([id, user]) => users.has(id) || user.groups.some((g) => groups.has(g)))
      .map(([id]) => id);
  }
}
