/**
 * Day one: the local chat (issue 10) — /as in every wrong form, lower-cased names, the switch
 * audited, and (through a pseudo-terminal) the prompt redrawn after a background notice.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appsClosedAfterEach, tempDir } from './support/app';
import { readAuditRecords } from './support/audit';
import { chatLines } from './support/local-chat';
import { CLI, envWithoutVmbot } from './support/cli';
import { policyVariant } from './support/policy';

const open = appsClosedAfterEach();

const chat = chatLines;

describe('/as', () => {
  test.each(['/as', '/as ', '/as bob carol', '/as bad!name', '/as $(whoami)', '/asbob', '/AS', `/as ${'x'.repeat(65)}`])('"%s" answers with the usage line and keeps the user', async (form) => {
    const app = await open();
    const out = await chat(app, [form, 'whoami', '/quit']);
    expect(out[1]).toBe('Usage: /as <user>, e.g. /as bob (a policy user name: letters, digits, . _ @ -)');
    expect(out).toContain('Signed in as: local:alice');
    expect(out.join('\n')).not.toMatch(/Unknown command/);
  });

  test('the name is lower-cased: /as BOB is local:bob', async () => {
    const app = await open();
    const out = await chat(app, ['/as BOB', 'whoami', '/quit']);
    expect(out).toContain('You are now local:bob.');
    expect(out).toContain('Signed in as: local:bob');
  });

  test('switching to a name outside the policy says so', async () => {
    const app = await open();
    const out = await chat(app, ['/as eve', '/quit']);
    expect(out).toContain('You are now local:eve, who is not in the policy: no rights.');
  });

  test('the switch is audited: who switched, to whom, on which channel', async () => {
    const app = await open();
    await chat(app, ['/as bob', '/as eve', '/quit']);
    const recs = readAuditRecords(app.config.VMBOT_DATA_DIR).filter((r) => r.operation === 'session.switch');
    expect(recs).toEqual([
      expect.objectContaining({ kind: 'event', principal: 'local:alice', user: 'alice', channel: 'local:terminal', outcome: 'ok', details: { from: 'local:alice', to: 'local:bob', toUser: 'bob' } }),
      expect.objectContaining({ principal: 'local:bob', user: 'bob', details: { from: 'local:bob', to: 'local:eve', toUser: null } }),
    ]);
  });
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

// `script` (util-linux) gives the chat a real pseudo-terminal, as a user's terminal would.
(hasScript ? describe : describe.skip)('local chat in a pseudo-terminal', () => {
  test('a background notice is printed on its own line and the prompt is redrawn with what was typed', async () => {
    const dir = tempDir();
    // Requests expire after ~1 s and the background pass runs every 200 ms: a notice arrives while idle.
    const policy = policyVariant((p) => void (p.settings = { ...p.settings, requests: { expireHours: 0.0003 } }));
    const child = spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`, '/dev/null'], {
      env: { ...envWithoutVmbot(), VMBOT_DATA_DIR: dir, VMBOT_POLICY: policy, VMBOT_SIM_LATENCY_MS: '0', VMBOT_REVOKER_INTERVAL_MS: '200', TERM: 'xterm', COLUMNS: '200' },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group, so the test can end script and the chat together
    });
    let raw = '';
    child.stdout.on('data', (b: Buffer) => (raw += b.toString()));
    // What the terminal shows, without readline's cursor-positioning sequences.
    const text = () => raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    let screen = '';
    const until = async (re: RegExp, ms = 20_000) => {
      const end = Date.now() + ms;
      while (!re.test((screen = text()))) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${re}; screen so far:\n${screen}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until(/alice> $/);
      child.stdin.write('request web31 --template web-small\r');
      await until(/is waiting for 1 approval[\s\S]*alice> $/);
      child.stdin.write('sta'); // typed, not sent, when the notice arrives
      await until(/expired before it was approved\.[\s\S]*alice> sta/);
      const after = screen.slice(screen.lastIndexOf('expired before it was approved.'));
      // The notice line was started at the left edge (prompt line cleared), then the prompt came back with the typing.
      expect(raw).toMatch(/\r\x1b\[K\[to alice\] Your request r-[a-z2-9]{6} for web31 expired before it was approved\./);
      expect(after).toMatch(/alice> sta$/);
      child.stdin.write('\x15/quit\r'); // Ctrl-U clears "sta"
      await new Promise((r) => child.once('exit', r));
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});

describe('npm start', () => {
  test('with a current build, tools/start.js starts the chat without rebuilding', () => {
    // jest's global setup has just built dist/: the build is current.
    const r = spawnSync(process.execPath, [require.resolve('../tools/start.js')], {
      input: '/quit\n', encoding: 'utf8', timeout: 30_000,
      env: { ...envWithoutVmbot(), VMBOT_DATA_DIR: tempDir() },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('Building');
    expect(r.stdout).toContain('vmbot local chat — you are local:alice.');
  });
});
