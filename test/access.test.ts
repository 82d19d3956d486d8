import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_COMMANDS } from '../commands/index';
import { inventoryHosts } from '../src/hyperv/index';
import { DEFAULT_INVENTORY } from '../src/hyperv/simulator';
import { accessDiff, accessReport, type AccessRow } from '../src/policy/access';
import { PolicyEvaluator } from '../src/policy/evaluator';
import { explain } from '../src/policy/explain';
import { validatePolicy } from '../src/policy/loader';
import { ALL_OPERATIONS, GUEST_ADMIN_PERMITTED } from '../src/policy/operations';
import type { Operation, PolicyInput } from '../src/policy/schema';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { vmbot } from './support/cli';
import { examplePolicy, policyVariant } from './support/policy';

const INVENTORY = inventoryHosts(DEFAULT_INVENTORY);
const evaluatorOf = (p: PolicyInput) => new PolicyEvaluator(validatePolicy('test', p).policy);
const row = (r: AccessRow) => `${r.user} ${r.operation}${r.turnOff ? ' +turnoff' : ''} ${r.vm} #${r.assignment.index} ${r.assignment.via}`;

describe('policy access on the fixture policy', () => {
  const rows = accessReport(evaluatorOf(examplePolicy()), INVENTORY);

  test('guest admins hold the four S 4.413 operations on their own VMs only, through the granting assignment', () => {
    expect(rows.filter((r) => r.user === 'alice' && r.vm === 'web01').map(row)).toEqual([
      'alice Allow Input to Virtual Machine web01 #0 group:web-admins',
      'alice Allow Output from Virtual Machine web01 #0 group:web-admins',
      'alice Start Virtual Machine web01 #0 group:web-admins',
      'alice Stop Virtual Machine web01 #0 group:web-admins',
      'alice Request Virtual Machine web01 #2 user',
    ]);
    expect(rows.filter((r) => r.user === 'alice').map((r) => r.vm)).not.toContain('db01');
    expect(rows.filter((r) => r.user === 'bob' && r.operation === 'Stop Virtual Machine').map(row)).toEqual([
      'bob Stop Virtual Machine +turnoff db01 #1 user',
      'bob Stop Virtual Machine +turnoff db02 #1 user',
    ]);
  });

  test('dc01 belongs to nobody: only the auditor reads its log; mallory holds nothing', () => {
    expect(rows.filter((r) => r.vm === 'dc01').map(row)).toEqual(['dave Read Audit Log dc01 #4 user']);
    expect(rows.filter((r) => r.user === 'mallory')).toEqual([]);
    expect(rows).toHaveLength(27);
  });

  test('filters by user and VM (case-insensitive)', () => {
    const ev = evaluatorOf(examplePolicy());
    expect(accessReport(ev, INVENTORY, { user: 'CAROL', vm: 'Web02' }).map(row)).toEqual(['carol Approve Virtual Machine Request web02 #3 user']);
  });

  test('an exception that has expired grants nothing in the report, as in a decision', () => {
    const p = examplePolicy();
    p.roles['guest-admin']!.operations.push({ operation: 'Reconfigure Virtual Machine', exception: { securityAnalysis: 'SA-1', expires: '2020-01-01' } });
    const ev = new PolicyEvaluator(validatePolicy('test', p, new Date('2019-06-01')).policy);
    expect(accessReport(ev, INVENTORY).some((r) => r.operation === 'Reconfigure Virtual Machine')).toBe(false);
  });
});

/** Tiny deterministic PRNG (mulberry32): a generated policy the same in every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Users in groups, roles over the guest-admin set and bot operations, scopes by pattern and host. */
function generated(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const some = <T>(xs: readonly T[]) => xs.filter(() => r() < 0.4);
  const hosts = ['hv01', 'hv02', 'hv03'];
  const prefixes = ['app', 'web', 'db', 'sql', 'file'];
  const ops: Operation[] = [...GUEST_ADMIN_PERMITTED, 'Request Virtual Machine', 'Approve Virtual Machine Request', 'Read Audit Log'];
  const groups = ['g1', 'g2', 'g3', 'g4'];
  const users = Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [`u${i}`, { identities: [`local:u${i}`], groups: some(groups) }]),
  );
  const roles = Object.fromEntries(
    Array.from({ length: 6 }, (_, i) => {
      const operations = [pick(ops), ...some(ops)].filter((o, j, a) => a.indexOf(o) === j);
      return [`role${i}`, { operations, allowTurnOff: operations.includes('Stop Virtual Machine') && r() < 0.5 }];
    }),
  );
  const scopes = Object.fromEntries(
    Array.from({ length: 7 }, (_, i) => {
      const vms = [`${pick(prefixes)}*`, ...(r() < 0.3 ? [`${pick(prefixes)}0?`] : []), ...(r() < 0.3 ? [`${pick(prefixes)}01`] : [])];
      return [`s${i}`, r() < 0.5 ? { vms, hosts: some(hosts).length ? some(hosts).concat(pick(hosts)) : [pick(hosts)] } : { vms }];
    }),
  );
  const assignments = Array.from({ length: 14 }, () => ({
    role: `role${Math.floor(r() * 6)}`,
    scope: `s${Math.floor(r() * 7)}`,
    ...(r() < 0.5 ? { users: [pick(Object.keys(users))] } : { groups: [pick(groups)] }),
  }));
  const policy: PolicyInput = {
    version: 1, users, groups: Object.fromEntries(groups.map((g) => [g, {}])), roles, scopes, assignments,
  };
  const inventory = Array.from({ length: 30 }, (_, i) => ({ name: `${pick(prefixes)}${String(i).padStart(2, '0')}`, host: pick(hosts) }));
  return { policy, inventory };
}

/** The chat command that asks for exactly this permission, when one exists. */
function commandFor(op: Operation, vm: string): { text: string; turnOffText?: string } | null {
  if (op === 'Start Virtual Machine') return { text: `start ${vm}` };
  if (op === 'Stop Virtual Machine') return { text: `stop ${vm}`, turnOffText: `stop ${vm} --turnoff` };
  return null;
}

/**
 * Every row of the report agrees with `policy explain` (the command path) for the same user,
 * operation and VM, and every permission NOT in the report is denied by explain: the report is
 * neither wider nor narrower than a real decision. Console needs Allow Input and Output both.
 */
function expectAgreement(policy: PolicyInput, inventory: { name: string; host: string }[]) {
  const ev = evaluatorOf(policy);
  const rows = accessReport(ev, inventory);
  const has = new Map(rows.map((r) => [`${r.user}|${r.operation}|${r.vm}`, r]));
  const disagreements: string[] = [];
  const same = (what: string, report: unknown, decision: unknown) =>
    void (JSON.stringify(report) !== JSON.stringify(decision) && disagreements.push(`${what}: report ${JSON.stringify(report)} vs decision ${JSON.stringify(decision)}`));
  let checked = 0;
  for (const user of Object.keys(ev.policy.users))
    for (const vm of inventory) {
      const ask = (text: string) => explain(ev, ALL_COMMANDS, `local:${user}`, text, { inventory }).decision;
      for (const op of ALL_OPERATIONS) {
        const granted = has.get(`${user}|${op}|${vm.name}`);
        // the evaluator itself, for operations no chat command asks (request, approve, audit)
        const direct = ev.decide(user, op, vm, { requireHost: true });
        same(`${user} ${op} ${vm.name}`, [!!granted, granted?.assignment], [direct.allow, direct.matched]);
        const cmd = commandFor(op, vm.name);
        if (!cmd) continue;
        const x = ask(cmd.text);
        same(`${user}: ${cmd.text}`, [!!granted, granted?.assignment], [x.allow, x.matched]);
        if (cmd.turnOffText) same(`${user}: ${cmd.turnOffText}`, granted?.turnOff === true, ask(cmd.turnOffText).allow);
        checked++;
      }
      const both = has.get(`${user}|Allow Input to Virtual Machine|${vm.name}`) && has.get(`${user}|Allow Output from Virtual Machine|${vm.name}`);
      same(`${user}: console ${vm.name}`, !!both, ask(`console ${vm.name}`).allow);
    }
  expect(disagreements).toEqual([]);
  return { rows: rows.length, checked };
}

describe('policy access agrees with policy explain', () => {
  test('on the fixture policy', () => {
    expect(expectAgreement(examplePolicy(), INVENTORY).rows).toBe(27);
  });

  test.each([1, 2, 3])('on a generated policy (seed %i): groups, roles, scopes by pattern and host', (seed) => {
    const { policy, inventory } = generated(seed);
    const { rows, checked } = expectAgreement(policy, inventory);
    expect(rows).toBeGreaterThan(20); // the generator really grants things
    expect(checked).toBeGreaterThan(0);
  });

  test('explain with an inventory: a VM on a host outside the scope is denied, as the pipeline denies it', () => {
    const ev = evaluatorOf(examplePolicy());
    const moved = [{ name: 'web01', host: 'hv02' }];
    expect(explain(ev, ALL_COMMANDS, 'local:alice', 'start web01', { inventory: moved }).decision.allow).toBe(false);
    expect(explain(ev, ALL_COMMANDS, 'local:alice', 'start web09', { inventory: moved }).decision).toEqual({ allow: false, reason: 'no such VM' });
    expect(accessReport(ev, moved, { user: 'alice' }).filter((r) => r.operation === 'Start Virtual Machine')).toEqual([]);
  });
});

describe('policy diff', () => {
  test('lists, person by person, the permissions a change adds, removes or grants differently', () => {
    const before = examplePolicy();
    const after = examplePolicy();
    after.users.mallory!.groups = ['web-admins']; // mallory joins the web admins
    after.assignments[1] = { role: 'guest-admin', scope: 'db', users: ['bob'] }; // bob loses turn-off
    after.scopes.estate!.vms = ['web*', 'db*']; // dave no longer audits dc01
    const d = accessDiff(evaluatorOf(before), evaluatorOf(after), INVENTORY);
    expect(Object.keys(d.byUser)).toEqual(['bob', 'dave', 'mallory']);
    expect(d.byUser.mallory!.map((c) => `${c.change} ${c.row.operation} ${c.row.vm}`)).toEqual([
      'added Allow Input to Virtual Machine web01', 'added Allow Output from Virtual Machine web01', 'added Start Virtual Machine web01', 'added Stop Virtual Machine web01',
      'added Allow Input to Virtual Machine web02', 'added Allow Output from Virtual Machine web02', 'added Start Virtual Machine web02', 'added Stop Virtual Machine web02',
    ]);
    expect(d.byUser.dave!.map((c) => `${c.change} ${c.row.operation} ${c.row.vm}`)).toEqual(['removed Read Audit Log dc01']);
    // same permission, other role: changed (turn-off lost), and the other ops moved role too
    const stop = d.byUser.bob!.filter((c) => c.row.operation === 'Stop Virtual Machine');
    expect(stop.map((c) => [c.change, c.before?.turnOff, c.row.turnOff, c.before?.assignment.role, c.row.assignment.role])).toEqual([
      ['changed', true, false, 'guest-admin-turnoff', 'guest-admin'],
      ['changed', true, false, 'guest-admin-turnoff', 'guest-admin'],
    ]);
    expect([d.added, d.removed]).toEqual([8, 1]);
  });

  test('no change, no rows', () => {
    const d = accessDiff(evaluatorOf(examplePolicy()), evaluatorOf(examplePolicy()), INVENTORY);
    expect(d).toEqual({ byUser: {}, added: 0, removed: 0, changed: 0 });
  });
});

describe('vmbot policy access / diff (CLI)', () => {
  const env = () => ({ VMBOT_DATA_DIR: tempDir(), VMBOT_POLICY: EXAMPLE_POLICY });

  test('text report per person, with the granting assignment and who holds nothing', () => {
    const r = vmbot(['policy', 'access'], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^bob \(Bob \(database team\)\)\n {2}db01 +hv02 +Allow Input to Virtual Machine +assignment #2: role guest-admin-turnoff in scope db \(user\)$/m);
    expect(r.stdout).toMatch(/db01 +hv02 +Stop Virtual Machine \(incl\. turn-off\)/);
    expect(r.stdout).toContain('27 permission(s) for 5 user(s) over 5 VM(s).');
    expect(r.stdout).toContain('No permission on these VMs: mallory.');
  });

  test('--user --vm --format csv and json', () => {
    const csv = vmbot(['policy', 'access', '--user', 'dave', '--vm', 'dc01', '--format', 'csv'], env());
    expect(csv.stdout).toBe('user,displayName,vm,host,operation,turnOff,assignment,role,scope,via\n"dave","Dave (auditor)","dc01","hv01","Read Audit Log","","4","auditor","estate","user"\n');
    const json = JSON.parse(vmbot(['policy', 'access', '--vm', 'web02', '--format', 'json'], env()).stdout) as AccessRow[];
    expect([...new Set(json.map((r) => r.user))]).toEqual(['alice', 'carol', 'dave', 'erin']);
  });

  test('a VM outside the inventory or an unknown user is a usage error (exit 2)', () => {
    expect(vmbot(['policy', 'access', '--vm', 'nope01'], env())).toMatchObject({ code: 2, stderr: expect.stringContaining('No VM "nope01" in the inventory') });
    expect(vmbot(['policy', 'access', '--user', 'zed'], env())).toMatchObject({ code: 2, stderr: expect.stringContaining('No user "zed" in the policy.') });
  });

  test('--inventory file: review against an exported VM list', () => {
    const inv = join(tempDir(), 'inventory.json');
    writeFileSync(inv, JSON.stringify([{ name: 'web77', host: 'hv01' }, { name: 'web78', host: 'hv09' }]));
    const r = vmbot(['policy', 'access', '--inventory', inv, '--user', 'alice', '--format', 'json'], env());
    expect([...new Set((JSON.parse(r.stdout) as AccessRow[]).map((x) => x.vm))]).toEqual(['web77']); // web78 is on a host outside scope web
  });

  test('diff of two policy files, person by person', () => {
    const after = policyVariant((p) => void (p.users.mallory!.groups = ['web-admins']));
    const r = vmbot(['policy', 'diff', EXAMPLE_POLICY, after], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mallory\n {2}\+ Allow Input to Virtual Machine +on web01 \(hv01\) {2}assignment #1: role guest-admin in scope web \(group:web-admins\)$/m);
    expect(r.stdout).toContain('8 added, 0 removed, 0 changed, for 1 user(s).');
    const same = vmbot(['policy', 'diff', EXAMPLE_POLICY, EXAMPLE_POLICY], env());
    expect(same.stdout).toBe('No change in who may do what.\n');
  });
});
