import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validatePolicy } from '../src/policy/loader';
import type { PolicyInput } from '../src/policy/schema';
import { tempDir } from './support/app';
import { vmbot } from './support/cli';
import { examplePolicy } from './support/policy';

/**
 * Issue 7 item 7: lint finds what weakens the separation, and reports every problem of a file
 * in one pass.
 */
const FILE = 'policies/site.yaml';
const NOW = new Date('2026-06-01T00:00:00Z');

function problems(edit: (p: PolicyInput) => void): string[] {
  const p = examplePolicy();
  edit(p);
  try {
    validatePolicy(FILE, p, NOW);
  } catch (e) {
    return (e as Error).message.split('\n');
  }
  return [];
}

describe('lint: what weakens the separation', () => {
  test('two users with the same windowsAccount, in any letter case, is an error naming both', () => {
    const found = problems((p) => void (p.users.bob!.windowsAccount = 'contoso\\ALICE'));
    expect(found).toEqual([expect.stringMatching(/^policies\/site\.yaml: users\.bob\.windowsAccount: .*"contoso\\ALICE".*alice.*bob.*console/)]);
  });

  test('distinct windowsAccounts pass; a user without one is fine', () => {
    expect(problems(() => undefined)).toEqual([]);
    expect(problems((p) => void delete p.users.bob!.windowsAccount)).toEqual([]);
  });

  test('a template whose hosts are outside its scope\'s hosts is an error per host', () => {
    const found = problems((p) => void (p.templates!['web-small']!.hosts = ['hv02']));
    expect(found).toEqual([expect.stringMatching(/^policies\/site\.yaml: templates\.web-small\.hosts\[1\]: .*"hv02".*scope "web".*hv01/)]);
    const partly = problems((p) => void (p.templates!['web-ha']!.hosts = ['HV01', 'hv03']));
    expect(partly).toEqual([expect.stringMatching(/templates\.web-ha\.hosts\[2\]: .*"hv03"/)]);
  });

  test('a template in a scope without a host restriction may use any host', () => {
    expect(problems((p) => {
      delete p.scopes.web!.hosts;
      p.templates!['web-small']!.hosts = ['hv07'];
    })).toEqual([]);
  });
});

describe('lint: one pass over schema, references and S 4.413', () => {
  const broken = (p: PolicyInput) => {
    (p.users.dave as Record<string, unknown>).emial = 'dave@contoso.example'; // schema: unknown key
    p.assignments.push({ role: 'snapshotter', scope: 'web', users: ['alice'] }); // reference: no such role
    p.roles['guest-admin']!.operations.push('Reconfigure Virtual Machine'); // S 4.413
    p.users.bob!.windowsAccount = 'CONTOSO\\alice'; // separation: shared Windows account
  };

  test('a file with a schema error, a dangling reference, an S 4.413 violation and a shared account reports all four', () => {
    const found = problems(broken);
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/users\.dave: .*emial/),
      expect.stringMatching(/assignments\[6\]\.role: .*"snapshotter".*not defined/),
      expect.stringMatching(/roles\.guest-admin\.operations\[5\]: .*Reconfigure Virtual Machine.*S 4\.413/),
      expect.stringMatching(/users\.bob\.windowsAccount: /),
    ]));
    expect(found).toHaveLength(4);
  });

  test('a name whose entry has a schema error is still defined: no false "not defined" for it', () => {
    const found = problems((p) => void ((p.roles['guest-admin'] as Record<string, unknown>).allowTurnoff = true));
    expect(found).toEqual([expect.stringMatching(/roles\.guest-admin: .*allowTurnoff/)]);
  });

  test('`vmbot policy lint` prints all of them and exits non-zero', () => {
    const p = examplePolicy();
    broken(p);
    const file = join(tempDir('vmbot-lint-'), 'site.json');
    writeFileSync(file, JSON.stringify(p));
    const r = vmbot(['policy', 'lint', file]);
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    for (const re of [/emial/, /snapshotter/, /Reconfigure Virtual Machine/, /windowsAccount/]) expect(out).toMatch(re);
  });
});
