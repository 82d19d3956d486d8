import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/core/config';
import { VmbotError } from '../src/core/errors';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { CLI, vmbot, envWithoutVmbot } from './support/cli';

// Issue 7 item 9: configuration mistakes stop start-up with one clear message: no silent
// default for an empty setting, no stack trace, no hang.

function configError(env: Record<string, string>): VmbotError {
  try {
    loadConfig(env);
  } catch (e) {
    return e as VmbotError;
  }
  throw new Error('the configuration was accepted');
}

/** `vmbot exec … whoami`: the cheapest command that opens the data directory. */
const exec = (env: Record<string, string>) => vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], { VMBOT_POLICY: EXAMPLE_POLICY, ...env });

/** One message on stderr, no stack trace, exit 1, nothing on stdout. */
function expectOneMessage(r: { code: number | null; stdout: string; stderr: string }, ...parts: (string | RegExp)[]) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  expect(r.stderr).not.toMatch(/^\w*Error: /m);
  for (const p of parts) expect(r.stderr).toMatch(p);
}

describe('empty settings are mistakes, not defaults', () => {
  test.each(['VMBOT_POLICY', 'VMBOT_DATA_DIR', 'VMBOT_BACKEND', 'VMBOT_SIM_INVENTORY'])('%s set but empty (or blank) names the setting', (name) => {
    for (const value of ['', '  ']) {
      const e = configError({ [name]: value });
      expect(e.code).toBe('config');
      expect(e.message).toContain(`${name}: is set but empty`);
    }
  });

  test('from the command line: VMBOT_DATA_DIR= (an unset variable substituted) stops start-up, nothing is written to ./data', () => {
    const cwd = tempDir();
    const base = envWithoutVmbot();
    const r = spawnSync(process.execPath, [CLI, 'exec', '--as', 'local:alice', '--', 'whoami'], { cwd, env: { ...base, VMBOT_DATA_DIR: '', VMBOT_POLICY: EXAMPLE_POLICY }, encoding: 'utf8', timeout: 30_000 });
    expectOneMessage({ code: r.status, stdout: r.stdout, stderr: r.stderr }, /VMBOT_DATA_DIR: is set but empty/);
    expect(spawnSync('ls', [cwd], { encoding: 'utf8' }).stdout).toBe('');
  });
});

describe('a data directory vmbot cannot use stops start-up with one message', () => {
  test.each([
    ['under /proc (recursive mkdir there never returns)', '/proc/vmbot-data', /VMBOT_DATA_DIR \(\/proc\/vmbot-data\): .*kernel/],
    ['under /proc through a symlink', 'LINK', /VMBOT_DATA_DIR \(.*\): .*kernel/],
    ['under /sys', '/sys/kernel/vmbot-data', /VMBOT_DATA_DIR \(\/sys\/kernel\/vmbot-data\): .*kernel/],
    ['below a file', '/etc/hostname/data', /VMBOT_DATA_DIR \(\/etc\/hostname\/data\): cannot be created: \/etc\/hostname is a file/],
    ['a file', 'FILE', /VMBOT_DATA_DIR \(.*\): is a file, not a directory/],
  ])('%s', (_what, dir, message) => {
    let path = dir;
    if (dir === 'LINK') {
      const link = join(tempDir(), 'data');
      spawnSync('ln', ['-s', '/proc/self', link]);
      path = join(link, 'vmbot');
    }
    if (dir === 'FILE') {
      path = join(tempDir(), 'data');
      writeFileSync(path, 'not a directory');
    }
    const r = exec({ VMBOT_DATA_DIR: path }); // spawnSync's 30 s timeout turns a hang into a failure
    expectOneMessage(r, message);
  });

  const nobody = process.getuid?.() === 0 ? test : test.skip;
  nobody('not writable for the account vmbot runs as (a service account without rights on it)', () => {
    const dir = tempDir();
    chmodSync(dir, 0o755); // root's; the service account (nobody) may read it, not write it
    const base = envWithoutVmbot();
    const r = spawnSync(process.execPath, [CLI, 'exec', '--as', 'local:alice', '--', 'whoami'], {
      env: { ...base, HOME: '/tmp', VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_SIM_LATENCY_MS: '0' },
      encoding: 'utf8', timeout: 30_000, uid: 65534, gid: 65534,
    });
    expectOneMessage({ code: r.status, stdout: r.stdout, stderr: r.stderr }, new RegExp(`VMBOT_DATA_DIR \\(${dir}\\): not writable`));
  });
});

describe('a simulator inventory that is missing or not JSON stops start-up with one message', () => {
  test('missing file', () => {
    const file = join(tempDir(), 'nope.json');
    expectOneMessage(exec({ VMBOT_DATA_DIR: tempDir(), VMBOT_SIM_INVENTORY: file }), new RegExp(`VMBOT_SIM_INVENTORY \\(${file}\\): no such file`));
  });

  test('not JSON', () => {
    const file = join(tempDir(), 'inv.json');
    writeFileSync(file, '- name: web01\n  host: hv01\n');
    expectOneMessage(exec({ VMBOT_DATA_DIR: tempDir(), VMBOT_SIM_INVENTORY: file }), /VMBOT_SIM_INVENTORY .*not valid JSON/);
  });
});
