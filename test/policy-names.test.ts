import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_COMMANDS } from '../commands/index';
import { PolicyEvaluator } from '../src/policy/evaluator';
import { explain } from '../src/policy/explain';
import { validatePolicy } from '../src/policy/loader';
import type { PolicyInput } from '../src/policy/schema';
import { appsClosedAfterEach, tempDir } from './support/app';
import { vmbot } from './support/cli';
import { examplePolicy } from './support/policy';

/**
 * Issue 7 item 6: policy references are names, not object keys. A role, scope, user, group or
 * template called like a member of every JavaScript object (constructor, toString,
 * hasOwnProperty, valueOf, __proto__-like names) is an ordinary name: defined, it works;
 * referenced but not defined, lint rejects it; typed into chat, it matches nothing.
 */
const PROTO_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString'];
const FILE = 'policies/names.yaml';

const write = (p: PolicyInput) => {
  const file = join(tempDir('vmbot-names-'), 'policy.json');
  writeFileSync(file, JSON.stringify(p, null, 2));
  return file;
};

/** The example with its names replaced by Object.prototype member names. */
function protoNamedPolicy(): PolicyInput {
  const p = examplePolicy();
  p.roles = { constructor: p.roles['guest-admin']!, toString: p.roles['requester']!, hasOwnProperty: p.roles['approver']! };
  p.scopes = { toString: p.scopes['web']!, valueOf: p.scopes['db']! };
  p.groups = { hasOwnProperty: { description: 'web admins' } };
  p.users = {
    constructor: { identities: ['local:ctor'], windowsAccount: 'CONTOSO\\ctor', groups: ['hasOwnProperty'] },
    toString: { identities: ['local:tostring'] },
    valueOf: { identities: ['local:valueof'], windowsAccount: 'CONTOSO\\valueof' },
  };
  p.assignments = [
    { role: 'constructor', scope: 'toString', groups: ['hasOwnProperty'] },
    { role: 'toString', scope: 'toString', users: ['constructor'] },
    { role: 'hasOwnProperty', scope: 'toString', users: ['toString'] },
  ];
  p.templates = { constructor: { ...p.templates!['web-small']!, scope: 'toString' } };
  return p;
}

describe('names that are also members of every JavaScript object', () => {
  const open = appsClosedAfterEach();

  test('defined under those names, roles, scopes, users, groups and templates work end to end', async () => {
    const app = await open({ VMBOT_POLICY: write(protoNamedPolicy()) });
    expect((await app.say('ctor', 'start web01')).status).toBe('done');
    expect((await app.say('ctor', 'start db02')).status).toBe('denied');
    expect((await app.say('ctor', 'console web01')).status).toBe('done');
    expect((await app.say('valueof', 'start web01')).status).toBe('denied');
    const r = await app.say('ctor', 'request web05 --template constructor');
    expect(r.status).toBe('pending');
    const a = await app.say('tostring', `approve ${r.data!.requestId}`);
    expect(a.status).toBe('done');
    expect((await app.say('ctor', 'whoami')).text).toMatch(/constructor in toString/);
  });

  test('explain answers for them', () => {
    const ev = new PolicyEvaluator(validatePolicy(FILE, protoNamedPolicy()).policy);
    const x = explain(ev, ALL_COMMANDS, 'local:ctor', 'stop web01');
    expect(x.decision).toMatchObject({ allow: true, matched: { role: 'constructor', scope: 'toString', via: 'group:hasOwnProperty' } });
    expect(explain(ev, ALL_COMMANDS, 'local:valueof', 'stop web01').decision.allow).toBe(false);
  });

  test.each(PROTO_NAMES)('a reference to "%s" where nothing of that name is defined is a lint error, not a crash', (name) => {
    const refs: Array<[string, (p: PolicyInput) => void]> = [
      ['role', (p) => void (p.assignments[0]!.role = name)],
      ['scope', (p) => void (p.assignments[0]!.scope = name)],
      ['user', (p) => void p.assignments[1]!.users!.push(name)],
      ['group', (p) => void (p.assignments[0]!.groups = [name])],
      ['user group', (p) => void p.users.alice!.groups!.push(name)],
      ['template scope', (p) => void (p.templates!['web-small']!.scope = name)],
    ];
    for (const [what, edit] of refs) {
      const p = examplePolicy();
      edit(p);
      let message = '';
      try {
        validatePolicy(FILE, p);
      } catch (e) {
        message = (e as Error).message;
      }
      expect({ what, message }).toEqual({ what, message: expect.stringContaining(`"${name}"`) });
      expect(message).toMatch(/not defined/);
    }
  });

  test('typed into chat, such a name is an unknown template or option, never a crash', async () => {
    const app = await open();
    for (const name of PROTO_NAMES) {
      const r = await app.say('alice', `request web05 --template ${name}`);
      expect(r.status).toBe('invalid');
      expect(r.text).toMatch(/No template/);
      const o = await app.say('bob', `stop db01 --${name}`);
      expect(o.status).toBe('invalid');
      expect(o.text).toMatch(/Unknown option|not an option|no option/i);
    }
    expect(await app.backend.get('web05')).toBeNull();
  });

  test('the CLI: exec and explain run on such a policy, lint rejects a dangling one with a message', () => {
    const env = { VMBOT_POLICY: write(protoNamedPolicy()), VMBOT_DATA_DIR: tempDir() };
    const exec = vmbot(['exec', '--as', 'local:ctor', '--json', '--', 'start web01'], env);
    expect(exec.stderr).not.toMatch(/TypeError|at .*\.js:\d+/);
    expect(JSON.parse(exec.stdout)).toMatchObject({ status: 'done' });
    const x = vmbot(['policy', 'explain', '--as', 'local:ctor', 'stop', 'web01'], env);
    expect(x.code).toBe(0);
    expect(x.stdout).toMatch(/ALLOW/);
    const dangling = examplePolicy();
    dangling.assignments[0]!.role = 'toString';
    const lint = vmbot(['policy', 'lint', write(dangling)]);
    expect(lint.code).not.toBe(0);
    expect(lint.stderr + lint.stdout).toMatch(/role "toString", which is not defined/);
    expect(lint.stderr).not.toMatch(/TypeError/);
  });
});
