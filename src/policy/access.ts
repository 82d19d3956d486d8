import { csvCell } from '../core/csv';
import { authorize } from './authorize';
import { grantOperation } from './lint';
import { PolicyEvaluator, type MatchedAssignment, type VmTarget } from './evaluator';
import { ALL_OPERATIONS } from './operations';
import { named, type Operation, type Policy } from './schema';

/** One permission: `user` may perform `operation` on `vm`, granted by `assignment`. */
export interface AccessRow {
  user: string;
  displayName: string | null;
  operation: Operation;
  vm: string;
  host: string;
  /** Stop only: may the user also pull the power (Stop-VM -TurnOff)? */
  turnOff: boolean | null;
  /** The assignment a real decision records (the first that grants it, in policy order). */
  assignment: MatchedAssignment;
}

export interface AccessFilter {
  user?: string;
  vm?: string;
}

/** Operations some role of the policy grants, in the canonical AzMan order. */
function grantedOperations(policy: Policy): Operation[] {
  const held = new Set<Operation>();
  for (const role of Object.values(policy.roles)) for (const g of role.operations) held.add(grantOperation(g));
  return ALL_OPERATIONS.filter((op) => held.has(op));
}

/**
 * Who may do what on which VM: every (user, operation, VM) the evaluator allows, asked exactly
 * as the pipeline asks once a VM's host is known (authorize() with requireHost, the one function
 * every decision goes through). Nothing here re-implements a rule: groups, roles, scopes, hosts
 * and exception expiries are resolved there, so the report cannot disagree with a decision.
 * VMs come from an inventory (the backend's list, or a file), since scopes are name patterns.
 */
/** The policy's user ids a filter selects, sorted. */
export const reviewedUsers = (ev: PolicyEvaluator, filter: AccessFilter = {}) =>
  Object.keys(ev.policy.users)
    .filter((u) => filter.user === undefined || u.toLowerCase() === filter.user.toLowerCase())
    .sort();

export function accessReport(ev: PolicyEvaluator, inventory: readonly Required<VmTarget>[], filter: AccessFilter = {}): AccessRow[] {
  const users = reviewedUsers(ev, filter);
  const vms = inventory
    .filter((v) => filter.vm === undefined || v.name.toLowerCase() === filter.vm.toLowerCase())
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name) || a.host.localeCompare(b.host));
  const ops = grantedOperations(ev.policy);
  const rows: AccessRow[] = [];
  for (const user of users) {
    const displayName = named(ev.policy.users, user)!.displayName ?? null;
    for (const vm of vms)
      for (const operation of ops) {
        const d = authorize(ev, user, { kind: 'vm', vm, operations: [operation], requireHost: true });
        if (!d.allow || !d.matched) continue;
        const turnOff = operation === 'Stop Virtual Machine' ? authorize(ev, user, { kind: 'vm', vm, operations: [operation], requireHost: true, turnOff: true }).allow : null;
        rows.push({ user, displayName, operation, vm: vm.name, host: vm.host, turnOff, assignment: d.matched });
      }
  }
  return rows;
}

export interface AccessChange {
  change: 'added' | 'removed' | 'changed';
  row: AccessRow;
  /** For `changed`: the old row (same permission, different grant or turn-off). */
  before?: AccessRow;
}

export interface AccessDiff {
  /** Per user id, the permissions a policy change adds, removes or grants differently. */
  byUser: Record<string, AccessChange[]>;
  added: number;
  removed: number;
  changed: number;
}

const keyOf = (r: AccessRow) => `${r.user}\u0000${r.operation}\u0000${r.vm.toLowerCase()}\u0000${r.host.toLowerCase()}`;
const grantOf = (r: AccessRow) => `${r.assignment.role}|${r.assignment.scope}|${r.assignment.via}|${r.turnOff}`;

/**
 * What a policy change does to people: both policies' access reports over the same inventory,
 * compared row by row. A permission kept under another role, scope or group is `changed` (an
 * auditor wants to know the grant moved), and so is a turn-off right gained or lost.
 */
export function accessDiff(before: PolicyEvaluator, after: PolicyEvaluator, inventory: readonly Required<VmTarget>[], filter: AccessFilter = {}): AccessDiff {
  const old = new Map(accessReport(before, inventory, filter).map((r) => [keyOf(r), r]));
  const now = new Map(accessReport(after, inventory, filter).map((r) => [keyOf(r), r]));
  const changes: AccessChange[] = [];
  for (const [k, r] of now) {
    const o = old.get(k);
    if (!o) changes.push({ change: 'added', row: r });
    else if (grantOf(o) !== grantOf(r)) changes.push({ change: 'changed', row: r, before: o });
  }
  for (const [k, r] of old) if (!now.has(k)) changes.push({ change: 'removed', row: r });
  const opIndex = new Map<string, number>(ALL_OPERATIONS.map((op, i) => [op, i]));
  changes.sort((a, b) =>
    a.row.user.localeCompare(b.row.user) || a.row.vm.localeCompare(b.row.vm) || opIndex.get(a.row.operation)! - opIndex.get(b.row.operation)! || a.change.localeCompare(b.change));
  const byUser: Record<string, AccessChange[]> = {};
  for (const c of changes) (byUser[c.row.user] ??= []).push(c);
  return {
    byUser,
    added: changes.filter((c) => c.change === 'added').length,
    removed: changes.filter((c) => c.change === 'removed').length,
    changed: changes.filter((c) => c.change === 'changed').length,
  };
}

// ---- rendering (CLI and web view share these words) ----

/** People count list items from 1: the first entry under `assignments:` is #1 (JSON output keeps the 0-based index). */
export const describeGrant = (a: MatchedAssignment) => `assignment #${a.index + 1}: role ${a.role} in scope ${a.scope} (${a.via})`;

const opLabel = (r: AccessRow) => (r.turnOff ? `${r.operation} (incl. turn-off)` : r.operation);

/** `users`: everyone the review covered, so a person with no permission is listed as such. */
export function accessText(rows: readonly AccessRow[], inventorySize: number, users: readonly string[] = []): string {
  const none = users.filter((u) => !rows.some((r) => r.user === u));
  const tail = none.length ? `No permission on these VMs: ${none.join(', ')}.\n` : '';
  if (!rows.length) return `No permissions (checked ${inventorySize} VM(s)).\n${tail}`;
  const out: string[] = [];
  let last = '';
  for (const r of rows) {
    if (r.user !== last) {
      out.push(`${r.user}${r.displayName ? ` (${r.displayName})` : ''}`);
      last = r.user;
    }
    out.push(`  ${r.vm.padEnd(12)} ${r.host.padEnd(8)} ${opLabel(r).padEnd(46)} ${describeGrant(r.assignment)}`);
  }
  const holders = new Set(rows.map((r) => r.user)).size;
  out.push(`${rows.length} permission(s) for ${holders} user(s) over ${inventorySize} VM(s).`);
  return out.join('\n') + '\n' + tail;
}

export const ACCESS_CSV_COLUMNS = ['user', 'displayName', 'vm', 'host', 'operation', 'turnOff', 'assignment', 'role', 'scope', 'via'] as const;

const accessCells = (r: AccessRow) => [r.user, r.displayName, r.vm, r.host, r.operation, r.turnOff, r.assignment.index, r.assignment.role, r.assignment.scope, r.assignment.via];

export function accessCsv(rows: readonly AccessRow[]): string {
  return [ACCESS_CSV_COLUMNS.join(','), ...rows.map((r) => accessCells(r).map(csvCell).join(','))].join('\n') + '\n';
}

export function diffText(d: AccessDiff): string {
  const users = Object.keys(d.byUser);
  if (!users.length) return 'No change in who may do what.\n';
  const out: string[] = [];
  for (const u of users) {
    out.push(u);
    for (const c of d.byUser[u]!) {
      const mark = c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '~';
      const via = c.change === 'changed' ? `${describeGrant(c.before!.assignment)}${c.before!.turnOff ? ' incl. turn-off' : ''} -> ${describeGrant(c.row.assignment)}${c.row.turnOff ? ' incl. turn-off' : ''}` : describeGrant(c.row.assignment);
      out.push(`  ${mark} ${opLabel(c.row).padEnd(46)} on ${c.row.vm} (${c.row.host})  ${via}`);
    }
  }
  out.push(`${d.added} added, ${d.removed} removed, ${d.changed} changed, for ${users.length} user(s).`);
  return out.join('\n') + '\n';
}

export function diffCsv(d: AccessDiff): string {
  const head = ['change', ...ACCESS_CSV_COLUMNS, 'beforeAssignment', 'beforeRole', 'beforeScope', 'beforeVia', 'beforeTurnOff'];
  const rows = Object.values(d.byUser).flat().map((c) =>
    [c.change, ...accessCells(c.row), c.before?.assignment.index, c.before?.assignment.role, c.before?.assignment.scope, c.before?.assignment.via, c.before?.turnOff].map(csvCell).join(','));
  return [head.join(','), ...rows].join('\n') + '\n';
}
