import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyEvaluator } from '../src/policy/evaluator';
import { policyJsonSchema } from '../src/policy/explain';
import { loadPolicyFile, parsePolicyText, validatePolicy } from '../src/policy/loader';
import { GUEST_ADMIN_PERMITTED, HYPERV_OPERATIONS } from '../src/policy/operations';
import { EXAMPLE_POLICY, REPO, tempDir } from './support/app';

const FILE = 'policies/site.yaml';
const NOW = new Date('2026-06-01T00:00:00Z');

/** The example policy as a plain value, to modify per test. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const example = (): any => parsePolicyText(EXAMPLE_POLICY, readFileSync(EXAMPLE_POLICY, 'utf8'));

/** Validate a modified example; returns the thrown message (or fails the test when it loads). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function rejection(edit: (p: any) => void, now = NOW): string {
  const p = example();
  edit(p);
  try {
    validatePolicy(FILE, p, now);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the policy was accepted, but it should have been rejected');
}

const evaluatorFor = (p: unknown, clock: () => number = () => NOW.getTime()) => new PolicyEvaluator(validatePolicy(FILE, p, NOW).policy, clock);

describe('policy loading', () => {
  test('the example policy loads without errors and holds the fixture users', () => {
    const loaded = loadPolicyFile(EXAMPLE_POLICY);
    expect(loaded.warnings.filter((w) => w.severity === 'error')).toEqual([]);
    expect(Object.keys(loaded.policy.users)).toEqual(expect.arrayContaining(['alice', 'bob', 'carol', 'dave', 'mallory']));
  });

  const forbidden = HYPERV_OPERATIONS.filter((op) => !GUEST_ADMIN_PERMITTED.has(op));

  test('the S 4.413 lint covers every Hyper-V operation outside Start, Stop, Allow Input, Allow Output', () => {
    expect(forbidden).toHaveLength(HYPERV_OPERATIONS.length - 4);
  });

  test.each(forbidden)('S 4.413: granting "%s" to a role is rejected, naming file, role and operation', (op) => {
    const msg = rejection((p) => p.roles['guest-admin'].operations.push(op));
    expect(msg).toContain(FILE);
    expect(msg).toContain('guest-admin');
    expect(msg).toContain(`"${op}"`);
  });

  test('the four guest-admin operations need no exception', () => {
    const p = example();
    p.roles['solo'] = { operations: [...GUEST_ADMIN_PERMITTED] };
    expect(() => validatePolicy(FILE, p, NOW)).not.toThrow();
  });

  test('an exception with a security analysis and a future expiry is accepted, as a warning', () => {
    const p = example();
    p.roles['guest-admin'].operations.push({
      operation: 'Reconfigure Virtual Machine',
      exception: { securityAnalysis: 'SA-2026-017', expires: '2027-01-31' },
    });
    const loaded = validatePolicy(FILE, p, NOW);
    const w = loaded.warnings.find((x) => x.message.includes('Reconfigure Virtual Machine'));
    expect(w).toBeDefined();
    expect(w!.severity).toBe('warning');
    expect(w!.message).toContain('guest-admin');
    expect(w!.message).toContain('SA-2026-017');
  });

  test('an expired exception is rejected', () => {
    const msg = rejection((p) =>
      p.roles['guest-admin'].operations.push({
        operation: 'Reconfigure Virtual Machine',
        exception: { securityAnalysis: 'SA-2024-001', expires: '2025-12-31' },
      }),
    );
    expect(msg).toContain(FILE);
    expect(msg).toContain('guest-admin');
    expect(msg).toContain('Reconfigure Virtual Machine');
    expect(msg).toMatch(/expired/);
  });

  test('an exception without a security analysis is rejected, saying what is missing', () => {
    const msg = rejection((p) =>
      p.roles['guest-admin'].operations.push({ operation: 'Reconfigure Virtual Machine', exception: { expires: '2027-01-31' } }),
    );
    expect(msg).toContain(FILE);
    expect(msg).toContain('roles.guest-admin.operations[5]');
    expect(msg).toMatch(/securityAnalysis|security analysis/);
  });

  test('an exception with an empty security analysis is rejected', () => {
    const msg = rejection((p) =>
      p.roles['guest-admin'].operations.push({ operation: 'Reconfigure Virtual Machine', exception: { securityAnalysis: '', expires: '2027-01-31' } }),
    );
    expect(msg).toContain('roles.guest-admin.operations[5]');
    expect(msg).toMatch(/security analysis/);
  });

  test.each([
    ['an unknown role', (p: any) => (p.assignments[0].role = 'ghost-role'), 'assignments[1].role', 'ghost-role'],
    ['an unknown scope', (p: any) => (p.assignments[1].scope = 'nowhere'), 'assignments[2].scope', 'nowhere'],
    ['an unknown user', (p: any) => p.assignments[2].users.push('zed'), 'assignments[3].users[2]', 'zed'],
    ['an unknown group', (p: any) => (p.assignments[0].groups = ['db-admins']), 'assignments[1].groups[1]', 'db-admins'],
    ['a user in an undefined group', (p: any) => (p.users.bob.groups = ['ops']), 'users.bob.groups[1]', 'ops'],
  ])('an assignment naming %s is rejected with its path', (_what, edit, path, name) => {
    const msg = rejection(edit);
    expect(msg).toContain(`${FILE}: ${path}`);
    expect(msg).toContain(name);
  });

  test('one identity claimed by two users is rejected, naming the path and both users', () => {
    const msg = rejection((p) => p.users.bob.identities.push('local:alice'));
    expect(msg).toContain('users.bob.identities[4]');
    expect(msg).toMatch(/alice/);
    expect(msg).toMatch(/bob/);
  });

  test('identities are compared case-insensitively for duplicates', () => {
    const msg = rejection((p) => p.users.bob.identities.push('local:ALICE'));
    expect(msg).toContain('users.bob.identities[4]');
  });

  test('a YAML syntax error names file and line', () => {
    const dir = tempDir();
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'version: 1\nusers:\n  alice: [local:alice\nroles: {}\n');
    expect(() => loadPolicyFile(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line \\d+`));
  });

  test('a duplicate key is a syntax error naming its line', () => {
    const dir = tempDir();
    const file = join(dir, 'dup.yaml');
    writeFileSync(file, `${readFileSync(EXAMPLE_POLICY, 'utf8')}\nversion: 1\n`);
    let msg = '';
    try {
      loadPolicyFile(file);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/line \d+/);
    expect(msg).toContain(file);
  });

  test('a missing policy file is a clear error naming it', () => {
    expect(() => loadPolicyFile('/nonexistent/policy.yaml')).toThrow(/\/nonexistent\/policy.yaml: cannot read/);
  });

  test.each([
    ['top level', (p: any) => (p.verison = 1), '(top level)', 'verison'],
    ['a role', (p: any) => (p.roles['guest-admin'].allowTurnoff = true), 'roles.guest-admin', 'allowTurnoff'],
    ['a user', (p: any) => (p.users.alice.group = ['x']), 'users.alice', 'group'],
    ['a scope', (p: any) => (p.scopes.web.host = ['hv01']), 'scopes.web', 'host'],
    ['an assignment', (p: any) => (p.assignments[0].user = ['alice']), 'assignments[1]', 'user'],
    ['an exception', (p: any) => p.roles['guest-admin'].operations.push({ operation: 'Reconfigure Virtual Machine', exception: { securityAnalysis: 'SA-1', expires: '2027-01-01', approvedBy: 'x' } }), 'roles.guest-admin.operations[5]', 'approvedBy'],
  ])('an unknown key in %s is rejected (strict schema)', (_where, edit, path, key) => {
    const msg = rejection(edit);
    expect(msg).toContain(`${FILE}: ${path}`);
    expect(msg).toContain(key);
  });

  test('an unknown operation name is rejected', () => {
    const msg = rejection((p) => p.roles['guest-admin'].operations.push('Start Virtual Machines'));
    expect(msg).toContain('roles.guest-admin.operations[5]');
  });

  test('the committed policies/policy.schema.json equals the generated schema', () => {
    const committed = readFileSync(join(REPO, 'policies', 'policy.schema.json'), 'utf8');
    expect(committed).toBe(JSON.stringify(policyJsonSchema(), null, 2) + '\n');
  });

  test('the example policy points editors at the schema', () => {
    expect(readFileSync(EXAMPLE_POLICY, 'utf8')).toMatch(/\$schema=\.\/policy\.schema\.json/);
  });
});

describe('policy evaluator', () => {
  const ev = evaluatorFor(example());
  const START = 'Start Virtual Machine';
  const STOP = 'Stop Virtual Machine';

  test('alice may start web01 on hv01', () => {
    const d = ev.decide('alice', START, { name: 'web01', host: 'hv01' });
    expect(d.allow).toBe(true);
  });

  test('VM names match case-insensitively: WEB01 is web01', () => {
    expect(ev.decide('alice', START, { name: 'WEB01', host: 'hv01' }).allow).toBe(true);
    expect(ev.decide('alice', START, { name: 'Web02', host: 'HV01' }).allow).toBe(true);
  });

  test.each(['web*', 'web?1', 'web[0-9]1', '*', 'web01 ', "web01'"])('"%s" given as a VM name never matches a scope', (name) => {
    expect(ev.decide('alice', START, { name, host: 'hv01' }).allow).toBe(false);
    expect(ev.visible('alice', { name, host: 'hv01' }).allow).toBe(false);
    expect(ev.decide('dave', 'Read Audit Log', { name, host: 'hv01' }).allow).toBe(false);
  });

  test('the host restriction holds: web01 on hv02 is not in alice\'s scope', () => {
    const d = ev.decide('alice', START, { name: 'web01', host: 'hv02' });
    expect(d.allow).toBe(false);
    expect(ev.visible('alice', { name: 'web01', host: 'hv02' }).allow).toBe(false);
  });

  test('with the host still unknown, requireHost decides', () => {
    expect(ev.decide('alice', START, { name: 'web01' }, { requireHost: false }).allow).toBe(true);
    expect(ev.decide('alice', START, { name: 'web01' }, { requireHost: true }).allow).toBe(false);
  });

  test('alice holds the web scope through her group, and the decision names the assignment', () => {
    const d = ev.decide('alice', START, { name: 'web01', host: 'hv01' });
    expect(d.matched).toEqual({ index: 0, role: 'guest-admin', scope: 'web', via: 'group:web-admins' });
  });

  test('a user outside the group gains nothing from a group assignment', () => {
    const p = example();
    p.users.alice.groups = [];
    const noGroup = evaluatorFor(p);
    expect(noGroup.decide('alice', START, { name: 'web01', host: 'hv01' }).allow).toBe(false);
  });

  test('bob is denied alice\'s VMs and alice bob\'s', () => {
    expect(ev.decide('bob', START, { name: 'web01', host: 'hv01' }).allow).toBe(false);
    expect(ev.decide('alice', START, { name: 'db01', host: 'hv02' }).allow).toBe(false);
    expect(ev.decide('bob', START, { name: 'db01', host: 'hv02' }).allow).toBe(true);
  });

  test('nobody may start dc01', () => {
    for (const u of ['alice', 'bob', 'carol', 'dave', 'mallory', 'erin'])
      expect(ev.decide(u, START, { name: 'dc01', host: 'hv01' }).allow).toBe(false);
  });

  test('an unknown principal identifies as no one; known ones case-insensitively', () => {
    expect(ev.identify('local:eve')).toBeNull();
    expect(ev.identify('slack:U0NOBODY1')).toBeNull();
    expect(ev.identify('local:alice')?.id).toBe('alice');
    expect(ev.identify('slack:U0BOB00001')?.id).toBe('bob');
    expect(ev.identify('teams:0A1CE000-0000-4000-8000-000000000001')?.id).toBe('alice');
  });

  test('an unknown user id is denied', () => {
    expect(ev.decide('eve', START, { name: 'web01', host: 'hv01' }).allow).toBe(false);
    expect(ev.visible('eve', { name: 'web01', host: 'hv01' }).allow).toBe(false);
  });

  test('turn-off is a separate capability: alice no, bob yes', () => {
    const a = ev.decide('alice', STOP, { name: 'web01', host: 'hv01' }, { turnOff: true });
    expect(a.allow).toBe(false);
    expect(a.reason).toMatch(/turn-off/);
    expect(ev.decide('alice', STOP, { name: 'web01', host: 'hv01' }).allow).toBe(true);
    expect(ev.decide('bob', STOP, { name: 'db01', host: 'hv02' }, { turnOff: true }).allow).toBe(true);
  });

  test('an exception stops granting once it expires at run time', () => {
    const p = example();
    p.roles['guest-admin'].operations.push({
      operation: 'View Virtual Machine Configuration',
      exception: { securityAnalysis: 'SA-2026-020', expires: '2026-07-01T00:00:00Z' },
    });
    let now = new Date('2026-06-30T23:59:00Z').getTime();
    const timed = evaluatorFor(p, () => now);
    const vm = { name: 'web01', host: 'hv01' };
    expect(timed.decide('alice', 'View Virtual Machine Configuration', vm).allow).toBe(true);
    now = new Date('2026-07-01T00:00:01Z').getTime();
    expect(timed.decide('alice', 'View Virtual Machine Configuration', vm).allow).toBe(false);
    // the permanent grants are unaffected
    expect(timed.decide('alice', START, vm).allow).toBe(true);
  });

  test('visibility counts only VM operations: dave (auditor of every VM) sees none', () => {
    for (const [name, host] of [['web01', 'hv01'], ['db01', 'hv02'], ['dc01', 'hv01']] as const)
      expect(ev.visible('dave', { name, host }).allow).toBe(false);
    expect(ev.decide('dave', 'Read Audit Log', { name: 'dc01', host: 'hv01' }).allow).toBe(true);
  });

  test('visibility: alice sees web01/web02, bob db01/db02, carol and mallory nothing', () => {
    const v = (u: string, name: string, host: string) => ev.visible(u, { name, host }).allow;
    expect(v('alice', 'web01', 'hv01')).toBe(true);
    expect(v('alice', 'db01', 'hv02')).toBe(false);
    expect(v('bob', 'db02', 'hv02')).toBe(true);
    expect(v('bob', 'web02', 'hv01')).toBe(false);
    expect(v('carol', 'web01', 'hv01')).toBe(false);
    expect(v('mallory', 'web01', 'hv01')).toBe(false);
  });

  test('a grant to a role in a literal-name scope matches exactly that name', () => {
    const p = example();
    p.scopes['one'] = { vms: ['web01'] };
    p.assignments.push({ role: 'guest-admin', scope: 'one', users: ['mallory'] });
    const e = evaluatorFor(p);
    expect(e.decide('mallory', START, { name: 'WEB01', host: 'hv01' }).allow).toBe(true);
    expect(e.decide('mallory', START, { name: 'web011', host: 'hv01' }).allow).toBe(false);
    expect(e.decide('mallory', START, { name: 'web02', host: 'hv01' }).allow).toBe(false);
  });
});
