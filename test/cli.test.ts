import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSegments } from '../src/audit/segments';
import { acquireDataLock } from '../src/state/lock';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { CLI, vmbot, envWithoutVmbot } from './support/cli';

const NO_STACK = /\n\s+at .+\(?.*:\d+:\d+\)?/;

/** A fresh data dir and the environment that points the CLI at it. */
function env(extra: Record<string, string> = {}) {
  const dir = tempDir();
  return { dir, env: { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY, ...extra } };
}

describe('vmbot exec', () => {
  test('mallory starting web01 is denied: exit 3', () => {
    const { env: e } = env();
    const r = vmbot(['exec', '--as', 'local:mallory', '--', 'start web01'], e);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('You are not permitted to do that on web01, or there is no such VM.');
  });

  test('alice starting web01 succeeds: exit 0, progress on stderr, result on stdout', () => {
    const { env: e } = env();
    const r = vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], e);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('web01 is starting…');
    expect(r.stdout.trim()).toBe('web01 is running.');
  });

  test('the VM state persists between exec runs in one data dir', () => {
    const { env: e } = env();
    expect(vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], e).code).toBe(0);
    const again = vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], e);
    // Desired state is success: already running exits 0.
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe('web01 is already running.');
    expect(again.stderr).not.toContain('starting…');
  });

  test.each([
    ['a usage error in the command', ['exec', '--as', 'local:alice', '--', 'start web01 --force']],
    ['a missing VM', ['exec', '--as', 'local:alice', '--', 'start']],
    ['an unknown command', ['exec', '--as', 'local:alice', '--', 'reboot web01']],
    ['exec without --as', ['exec', '--', 'start web01']],
    ['exec without a command', ['exec', '--as', 'local:alice']],
    ['an unknown exec option', ['exec', '--as', 'local:alice', '--force', '--', 'start web01']],
  ])('%s exits 2', (_what, args) => {
    const { env: e } = env();
    const r = vmbot(args, e);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/Usage|usage|Unknown/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('an invalid principal exits 2', () => {
    const { env: e } = env();
    expect(vmbot(['exec', '--as', 'alice', '--', 'whoami'], e).code).toBe(2);
  });

  test('a backend failure (a guest that ignores shutdown) exits 4', () => {
    const { dir, env: e } = env();
    const inv = join(dir, 'inventory.json');
    writeFileSync(inv, JSON.stringify([{ name: 'web02', host: 'hv01', state: 'Running', guestShutdown: false }]));
    const r = vmbot(['exec', '--as', 'local:alice', '--', 'stop web02'], { ...e, VMBOT_SIM_INVENTORY: inv });
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('web02 did not shut down');
  });

  test.each([
    ['local:alice', 'start web01', 0, 'done'],
    ['local:mallory', 'start web01', 3, 'denied'],
    ['local:alice', 'start web*', 2, 'invalid'],
    ['local:alice', 'start web02', 0, 'done'],
  ])('--json as %s "%s" prints exactly one JSON object (exit %i, status %s)', (who, text, code, status) => {
    const { env: e } = env();
    const r = vmbot(['exec', '--as', who, '--json', '--', text], e);
    expect(r.code).toBe(code);
    const out = r.stdout.trim();
    expect(out.split('\n')).toHaveLength(1);
    const obj = JSON.parse(out) as { status: string; message: string; auditId: number };
    expect(obj.status).toBe(status);
    expect(typeof obj.message).toBe('string');
    expect(obj.message.length).toBeGreaterThan(0);
    expect(Number.isInteger(obj.auditId)).toBe(true);
    expect(r.stderr).not.toContain('starting…');
  });

  test('--json auditId names the record in the log', () => {
    const { dir, env: e } = env();
    const r = vmbot(['exec', '--as', 'local:alice', '--json', '--', 'start web01'], e);
    const { auditId } = JSON.parse(r.stdout) as { auditId: number };
    const q = vmbot(['audit', 'query', '--format', 'jsonl'], e);
    const recs = q.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; kind: string; outcome: string });
    expect(recs.find((x) => x.id === auditId)).toMatchObject({ kind: 'result', outcome: 'ok' });
    acquireDataLock(dir)(); // exec released the data directory when it finished
  });
});

describe('vmbot policy', () => {
  test('lint on a policy granting Reconfigure Virtual Machine to a guest-admin role fails naming role and operation', () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(EXAMPLE_POLICY, 'utf8').replace('      - Allow Output from Virtual Machine\n', '      - Allow Output from Virtual Machine\n      - Reconfigure Virtual Machine\n'));
    const r = vmbot(['policy', 'lint', file]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('guest-admin');
    expect(r.stderr).toContain('Reconfigure Virtual Machine');
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('lint on the example exits 0', () => {
    const r = vmbot(['policy', 'lint', EXAMPLE_POLICY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK/);
  });

  test('lint without a file is a usage error', () => {
    expect(vmbot(['policy', 'lint']).code).toBe(2);
  });

  test('explain: alice may start web01 (exit 0), with the matched assignment', () => {
    const r = vmbot(['policy', 'explain', '--as', 'local:alice', 'start web01']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/decision\s+ALLOW/);
    expect(r.stdout).toMatch(/assignment #1: role guest-admin in scope web \(group:web-admins\)/);
    expect(r.stdout).toMatch(/hv01/);
  });

  test('explain: alice may not start db01 (exit 3)', () => {
    const r = vmbot(['policy', 'explain', '--as', 'local:alice', 'start db01']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/decision\s+DENY/);
  });

  test('explain: alice may see the status of web01 (exit 0)', () => {
    const r = vmbot(['policy', 'explain', '--as', 'local:alice', 'status web01']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/decision\s+ALLOW/);
  });

  test('explain runs nothing and audits nothing', () => {
    const { dir, env: e } = env();
    vmbot(['policy', 'explain', '--as', 'local:alice', 'start web01'], e);
    expect(listSegments(join(dir, 'audit'))).toEqual([]);
  });

  test('explain for an unknown principal denies', () => {
    const r = vmbot(['policy', 'explain', '--as', 'local:eve', 'start web01']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/not in the policy/);
  });

  test('schema prints the JSON Schema that is committed', () => {
    const r = vmbot(['policy', 'schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(__dirname, '..', 'policies', 'policy.schema.json'), 'utf8'));
  });
});

describe('vmbot audit', () => {
  function seeded() {
    const s = env();
    vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], s.env);
    vmbot(['exec', '--as', 'local:bob', '--', 'stop db01'], s.env);
    vmbot(['exec', '--as', 'local:mallory', '--', 'start web02'], s.env);
    vmbot(['exec', '--as', 'local:alice', '--', 'status db01'], s.env);
    return s;
  }
  // read-only tests share one seeded log
  let shared: ReturnType<typeof env>;
  beforeAll(() => {
    shared = seeded();
  });

  test('verify exits 0 on a good log', () => {
    const e = shared.env;
    const r = vmbot(['audit', 'verify'], e);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK: 6 records/);
  });

  test('verify exits non-zero after tampering, naming file, line and record', () => {
    const { dir, env: e } = seeded();
    const file = listSegments(join(dir, 'audit'))[0]!.file;
    const ls = readFileSync(file, 'utf8').split('\n');
    ls[2] = ls[2]!.replace('"user":"bob"', '"user":"alice"');
    writeFileSync(file, ls.join('\n'));
    const r = vmbot(['audit', 'verify'], e);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(file);
    expect(r.stdout + r.stderr).toMatch(/line 3/);
    expect(r.stdout + r.stderr).toMatch(/record #3/);
    expect(r.stdout + r.stderr).toMatch(/edited/);
  });

  test('query --user alice --format csv: a header and only alice\'s records', () => {
    const e = shared.env;
    const r = vmbot(['audit', 'query', '--user', 'alice', '--format', 'csv'], e);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header!.split(',')).toEqual(expect.arrayContaining(['id', 'time', 'user', 'operation', 'vm', 'decision', 'outcome', 'hash']));
    const userCol = header!.split(',').indexOf('user');
    expect(rows).toHaveLength(3); // start web01: intent + result; status db01: denial
    for (const row of rows) expect(row.split('","')[userCol]).toBe('alice');
    expect(r.stdout).not.toContain('"bob"');
    expect(r.stdout).not.toContain('"mallory"');
  });

  test('query --user alice --format jsonl: one JSON record a line, only alice', () => {
    const e = shared.env;
    const r = vmbot(['audit', 'query', '--user', 'alice', '--format', 'jsonl'], e);
    expect(r.code).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { user: string; vm: string; kind: string });
    expect(recs).toHaveLength(3);
    expect(recs.every((x) => x.user === 'alice')).toBe(true);
    expect(recs.map((x) => `${x.kind} ${x.vm}`)).toEqual(['intent web01', 'result web01', 'decision db01']);
  });

  test('query filters by outcome and VM', () => {
    const e = shared.env;
    const denied = vmbot(['audit', 'query', '--outcome', 'denied', '--format', 'jsonl'], e).stdout.trim().split('\n').map((l) => JSON.parse(l) as { user: string });
    expect(denied.map((x) => x.user).sort()).toEqual(['alice', 'mallory']);
    const db01 = vmbot(['audit', 'query', '--vm', 'db01', '--format', 'jsonl'], e).stdout.trim().split('\n');
    expect(db01).toHaveLength(3);
  });

  test('a bad query filter is a usage error', () => {
    const e = shared.env;
    expect(vmbot(['audit', 'query', '--outcome', 'maybe'], e).code).toBe(2);
    expect(vmbot(['audit', 'query', '--format', 'xml'], e).code).toBe(2);
  });
});

describe('configuration and locking', () => {
  test('VMBOT_BACKEND=nonsense: exit 1, one clear message naming the variable, no stack trace', () => {
    const { env: e } = env({ VMBOT_BACKEND: 'nonsense' });
    const r = vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], e);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VMBOT_BACKEND');
    expect(r.stderr).toMatch(/^Configuration error/);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(r.stdout).toBe('');
  });

  test('an unknown VMBOT_TYPO=1: exit 1 naming it, no stack trace', () => {
    const { env: e } = env({ VMBOT_TYPO: '1' });
    const r = vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], e);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VMBOT_TYPO');
    expect(r.stderr).toMatch(/not a vmbot setting/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a policy that fails lint stops start-up with exit 1 naming the problem', () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(EXAMPLE_POLICY, 'utf8').replace('operations: [Read Audit Log]', 'operations: [Read Audit Log, Delete Virtual Machine]'));
    const r = vmbot(['exec', '--as', 'local:dave', '--', 'whoami'], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('auditor');
    expect(r.stderr).toContain('Delete Virtual Machine');
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a second process on a locked data dir gets a clear "in use by another vmbot (pid …)" error and exit 5', async () => {
    const { dir, env: e } = env();
    const base = envWithoutVmbot();
    const first = spawn(process.execPath, [CLI], { env: { ...base, ...e, VMBOT_SIM_LATENCY_MS: '0' }, stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      let out = '';
      first.stdout.on('data', (b: Buffer) => (out += b.toString()));
      for (let i = 0; i < 200 && !out.includes('local chat'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('local chat');
      const r = vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], e);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`in use by another vmbot (pid ${first.pid}`);
      expect(r.stderr).toContain(dir);
      expect(r.stderr).not.toMatch(NO_STACK);
    } finally {
      const done = new Promise((r) => first.on('exit', r));
      first.stdin.end('/quit\n');
      await done;
    }
    // the first process released the lock on the way out
    expect(vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], e).code).toBe(0);
  });
});
