import { EXAMPLE_POLICY, openTestApp, tempDir, type TestApp } from './support/app';
import { vmbot } from './support/cli';
import { chatLines } from './support/local-chat';

let app: TestApp;
beforeEach(async () => {
  app = await openTestApp();
});
afterEach(() => app.cleanup());

const chat = (lines: string[], user = 'alice') => chatLines(app, lines, user);

describe('local chat', () => {
  test('start web01 prints the progress line, then "web01 is running."', async () => {
    const out = await chat(['start web01', '/quit']);
    const progress = out.indexOf('web01 is starting…');
    expect(progress).toBeGreaterThan(-1);
    expect(out.indexOf('web01 is running.')).toBe(progress + 1);
    expect((await app.backend.get('web01'))!.state).toBe('Running');
  });

  test('/as bob switches user: db02 is denied for alice, then starts for bob', async () => {
    const out = await chat(['start db02', '/as bob', 'start db02', 'whoami', '/quit']);
    const denied = out.indexOf('You are not permitted to do that on db02, or there is no such VM.');
    const switched = out.indexOf('You are now local:bob.');
    const started = out.indexOf('db02 is running.');
    expect(denied).toBeGreaterThan(-1);
    expect(switched).toBeGreaterThan(denied);
    expect(started).toBeGreaterThan(switched);
    expect(out).toContain('Signed in as: local:bob');
    expect((await app.backend.get('db02'))!.state).toBe('Running');
  });

  test('/quit ends the session: later lines are not handled', async () => {
    const out = await chat(['whoami', '/quit', 'start web01']);
    expect(out).toContain('User: alice (Alice (web team))');
    expect(out).not.toContain('web01 is running.');
    expect((await app.backend.get('web01'))!.state).toBe('Off');
  });

  test('/as with a bad name is refused and keeps the user', async () => {
    const out = await chat(['/as bad name!', '/as $(x)', 'whoami', '/quit']);
    expect(out.filter((l) => l.startsWith('Usage: /as'))).toHaveLength(2);
    expect(out).toContain('Signed in as: local:alice');
  });

  test('the greeting names the user; empty lines are ignored', async () => {
    const out = await chat(['', '   ', '/quit'], 'bob');
    expect(out[0]).toMatch(/you are local:bob/);
    expect(out).toHaveLength(1);
  });

  test('requests from local chat are audited with the local channel', async () => {
    await chat(['start web01', '/quit']);
    expect(app.audit.openIntents()).toEqual([]);
    const { readAuditRecords } = await import('./support/audit');
    const recs = readAuditRecords(app.config.VMBOT_DATA_DIR);
    expect(recs.map((r) => [r.kind, r.principal, r.channel])).toEqual([
      ['intent', 'local:alice', 'local:terminal'],
      ['result', 'local:alice', 'local:terminal'],
    ]);
  });
});

describe('local chat through the built CLI (stdin piped)', () => {
  test('start web01, /as bob, start db02, /quit', () => {
    const dir = tempDir();
    const r = vmbot([], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY }, 'start web01\n/as bob\nstart db02\n/quit\n');
    expect(r.code).toBe(0);
    const out = r.stdout.split('\n');
    const progress = out.indexOf('web01 is starting…');
    expect(progress).toBeGreaterThan(-1);
    expect(out[progress + 1]).toBe('web01 is running.');
    expect(out).toContain('You are now local:bob.');
    expect(out).toContain('db02 is running.');
  });

  test('the end of input ends the session too', () => {
    const dir = tempDir();
    const r = vmbot([], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_LOCAL_USER: 'mallory' }, 'start web01\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('you are local:mallory');
    expect(r.stdout).toContain('You are not permitted to do that on web01, or there is no such VM.');
  });
});
