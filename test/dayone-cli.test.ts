/**
 * Day one for platform admins (issue 10): every CLI error path is one clear message with a
 * documented exit code and no stack trace; --version; audit export/query formats; lint wording.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { vmbot } from './support/cli';
import { examplePolicy } from './support/policy';

const NO_STACK = /\n\s+at .+:\d+:\d+/;
const env = (extra: Record<string, string> = {}) => ({ VMBOT_DATA_DIR: tempDir(), VMBOT_POLICY: EXAMPLE_POLICY, ...extra });
/** One line on stderr, no trace. */
const oneMessage = (r: { stderr: string }) => {
  expect(r.stderr).not.toMatch(NO_STACK);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
};

describe('vmbot --version and unknown commands', () => {
  test('--version prints the package version, exit 0', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) {
      const r = vmbot([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`vmbot ${pkg.version}`);
    }
  });

  test('an unknown command: one line, a suggestion when close, exit 2', () => {
    const r = vmbot(['polcy', 'lint', EXAMPLE_POLICY]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('Unknown command "polcy". Did you mean "vmbot policy"? Run "vmbot --help" for the commands.');
  });

  test('--help documents the exit codes', () => {
    expect(vmbot(['--help']).stdout).toMatch(/Exit codes: 0 success .* 1 error .* 2 usage .* 3 denied, 4 backend failure/s);
  });
});

describe('error paths: one message, documented exit code, no stack trace', () => {
  test('audit export --out to an unwritable path: exit 1, names the path', () => {
    const e = env();
    vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], e);
    const r = vmbot(['audit', 'export', '--out', '/etc/hostname/audit.json'], e);
    expect(r.code).toBe(1);
    oneMessage(r);
    expect(r.stderr).toMatch(/^Cannot create the directory \/etc\/hostname: a file of that name is in the way\./);
  });

  test('policy schema --out to an unwritable path: exit 1', () => {
    const r = vmbot(['policy', 'schema', '--out', '/etc/hostname/schema.json']);
    expect(r.code).toBe(1);
    oneMessage(r);
    expect(r.stderr).toMatch(/\/etc\/hostname\/schema\.json/);
  });

  test('a policy file that is missing or a directory is named with the reason in words, not an errno code', () => {
    const missing = join(tempDir(), 'nope.yaml');
    const r = vmbot(['policy', 'lint', missing]);
    expect(r.code).toBe(1);
    oneMessage(r);
    expect(r.stderr).toContain(`${missing}: cannot read policy file (no such file or directory)`);
    expect(r.stderr).not.toMatch(/ENOENT/);
    const dir = tempDir();
    const d = vmbot(['policy', 'lint', dir]);
    expect(d.stderr).toContain(`${dir}: cannot read policy file (a directory, not a file)`);
  });

  test('a bad simulator inventory: exit 1, no stack', () => {
    const dir = tempDir();
    const inv = join(dir, 'inv.json');
    writeFileSync(inv, 'not json');
    const r = vmbot(['exec', '--as', 'local:alice', '--', 'list'], env({ VMBOT_SIM_INVENTORY: inv }));
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(r.stderr).toContain('VMBOT_SIM_INVENTORY');
  });

  test('audit verify on a data directory that does not exist fails (not "OK: 0 records")', () => {
    const r = vmbot(['audit', 'verify'], { VMBOT_DATA_DIR: join(tempDir(), 'no-such-dir') });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/OK/);
    oneMessage(r);
    expect(r.stderr).toMatch(/^No audit log at .*no-such-dir\/audit: nothing to verify\. Check VMBOT_DATA_DIR/);
  });

  test('policy export jea without --group is refused and writes nothing (no silent CONTOSO\\vmbot-svc)', () => {
    const out = join(tempDir(), 'jea');
    const r = vmbot(['policy', 'export', 'jea', EXAMPLE_POLICY, '--out', out]);
    expect(r.code).toBe(2);
    oneMessage(r);
    expect(r.stderr).toMatch(/^Missing --group DOMAIN\\group/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('audit query and export formats', () => {
  /** A data dir with a graceful stop, a turn-off, a denial and a failed shutdown. */
  function session() {
    const e = env();
    const inv = join(e.VMBOT_DATA_DIR, '..', `inv-${Date.now()}.json`);
    writeFileSync(inv, JSON.stringify([
      { name: 'web01', host: 'hv01', state: 'Running' },
      { name: 'web02', host: 'hv01', state: 'Running', guestShutdown: false },
      { name: 'db01', host: 'hv02', state: 'Running' },
    ]));
    const ee = { ...e, VMBOT_SIM_INVENTORY: inv };
    expect(vmbot(['exec', '--as', 'local:alice', '--', 'stop web01'], ee).code).toBe(0);
    expect(vmbot(['exec', '--as', 'local:bob', '--', 'stop db01 --turnoff'], ee).code).toBe(0);
    expect(vmbot(['exec', '--as', 'local:mallory', '--', 'start web01'], ee).code).toBe(3);
    expect(vmbot(['exec', '--as', 'local:alice', '--', 'stop web02'], ee).code).toBe(4);
    return ee;
  }

  test('export --format json is one JSON document; jsonl is a record a line; other formats are refused', () => {
    const e = session();
    const json = vmbot(['audit', 'export', '--format', 'json'], e);
    const doc = JSON.parse(json.stdout) as { id: number }[];
    expect(Array.isArray(doc)).toBe(true);
    expect(doc.map((r) => r.id)).toEqual(doc.map((_, i) => i + 1));
    const lines = vmbot(['audit', 'export', '--format', 'jsonl'], e).stdout.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual(doc.map((r) => r.id));
    for (const bad of ['xml', 'yaml', 'JSON ']) {
      const r = vmbot(['audit', 'export', '--format', bad], e);
      expect(r.code).toBe(2);
      oneMessage(r);
    }
  });

  test('the text view: a failed result shows its error, a denial reads denied, shutdown and turn-off differ', () => {
    const e = session();
    const text = vmbot(['audit', 'query'], e).stdout.split('\n');
    const failed = text.find((l) => / result .*web02 → failed/.test(l))!;
    expect(failed).toContain('did not shut down');
    expect(failed).not.toContain('granted by role');
    expect(text.find((l) => /mallory/.test(l))).toMatch(/→ denied \(/);
    expect(text.find((l) => / result .*web01/.test(l))).toContain('Stop Virtual Machine (shutdown) web01 → ok');
    expect(text.find((l) => / result .*db01/.test(l))).toContain('Stop Virtual Machine (turn off) db01 → ok');
  });

  test('an empty result prints nothing on stdout (and says so on stderr); CSV has the details column', () => {
    const e = session();
    const empty = vmbot(['audit', 'query', '--user', 'nobody'], e);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr.trim()).toBe('No matching records.');
    const csv = vmbot(['audit', 'query', '--vm', 'db01', '--format', 'csv'], e).stdout.split('\n');
    const header = csv[0]!.split(',');
    expect(header).toContain('details');
    const turnOff = csv.find((l) => l.includes('"result"'))!;
    expect(turnOff).toContain('""mode"":""turnoff""');
  });
});

describe('policy lint wording', () => {
  const write = (text: string, name = 'p.yaml') => {
    const f = join(tempDir(), name);
    writeFileSync(f, text);
    return f;
  };

  test('a misspelt operation gets the closest name, and list positions count from 1', () => {
    const p = examplePolicy() as { roles: Record<string, { operations: unknown[] }> };
    p.roles['guest-admin']!.operations[1] = 'Stop Virtual Machin';
    const r = vmbot(['policy', 'lint', write(JSON.stringify(p), 'p.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`${join(r.stderr.split(':')[0]!)}: roles.guest-admin.operations[2]: "Stop Virtual Machin" is not one of the allowed names. Did you mean "Stop Virtual Machine"?`);
  });

  test('an assignment naming an unknown role is numbered as explain numbers it (#1 is the first)', () => {
    const p = examplePolicy() as { assignments: { role: string }[] };
    p.assignments[0]!.role = 'ghost';
    const r = vmbot(['policy', 'lint', write(JSON.stringify(p), 'p.json')]);
    expect(r.stderr).toMatch(/assignments\[1\]\.role: assignment 1 names role "ghost"/);
    const x = vmbot(['policy', 'explain', '--as', 'local:alice', 'start', 'web01'], env());
    expect(x.stdout).toMatch(/matched +assignment #1: role guest-admin in scope web \(group:web-admins\)/);
  });

  test('a YAML syntax error names its position once', () => {
    const r = vmbot(['policy', 'lint', write('version: 1\nusers: [\n')]);
    expect(r.code).toBe(1);
    oneMessage(r);
    expect(r.stderr.match(/line \d+, column \d+/g)).toHaveLength(1);
  });

  test('a JSON policy is read as JSON: syntax errors name line and column; a key given twice is an error', () => {
    const bad = vmbot(['policy', 'lint', write('{\n  "version": 1,\n  "users": {,}\n}', 'p.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/p\.json: line 3, column \d+: .*\(not valid JSON\)/);
    const p = JSON.stringify(examplePolicy(), null, 1).replace('"bob": {', '"alice": {"identities": ["local:x"]},\n"bob": {');
    const dup = vmbot(['policy', 'lint', write(p, 'p.json')]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/line \d+, column \d+: the key "alice" appears twice in the same object/);
  });
});
