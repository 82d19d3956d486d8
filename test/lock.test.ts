import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VmbotError } from '../src/core/errors';
import { acquireDataLock } from '../src/state/lock';
import { EXAMPLE_POLICY, REPO, tempDir } from './support/app';
import { vmbot } from './support/cli';

// Issue 7 item 1: one writer per data directory, for real. (The many-process barrier test is
// test/lock-race.test.ts.)

function refusal(f: () => unknown): VmbotError {
  try {
    f();
  } catch (e) {
    return e as VmbotError;
  }
  throw new Error('the lock was granted twice');
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * A separate process that holds the data-dir lock until killed; resolves once it holds it. It
 * drops the release function and forces a GC, so a lock that depended on that reference would
 * be lost here.
 */
function holder(dir: string): Promise<{ pid: number; kill: (signal: NodeJS.Signals) => Promise<void> }> {
  const code = `require(${JSON.stringify(join(REPO, 'dist', 'src', 'state', 'lock.js'))}).acquireDataLock(${JSON.stringify(dir)}); global.gc(); console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--expose-gc', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve({ pid: child.pid!, kill: async (s) => void (child.kill(s), await exited) }));
    child.on('exit', (c) => reject(new Error(`holder exited with ${c}`)));
  });
}

describe('data directory lock', () => {
  test('a second acquire while the first holds is refused, naming the directory and the holder', () => {
    const dir = tempDir();
    const release = acquireDataLock(dir);
    const e = refusal(() => acquireDataLock(dir));
    expect(e.code).toBe('locked');
    expect(e.message).toEqual(
      expect.stringMatching(new RegExp(`^The data directory ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another vmbot \\(pid ${process.pid} on .+, since .+ UTC\\): one data directory has one writer\\.`)),
    );
    release();
  });

  test('what the holder left on disk does not matter: emptied lock files are not mistaken for a stale lock', () => {
    // The old lock created its file and wrote the pid in two steps: anyone reading in between saw
    // an empty pid, took it for stale, deleted it and held the lock too.
    const dir = tempDir();
    const release = acquireDataLock(dir);
    for (const f of readdirSync(dir)) if (statSync(join(dir, f)).isFile()) writeFileSync(join(dir, f), '');
    expect(refusal(() => acquireDataLock(dir)).code).toBe('locked');
    release();
  });

  test('released, the lock is free again; a second release is harmless and frees nothing of a later holder', () => {
    const dir = tempDir();
    const first = acquireDataLock(dir);
    first();
    const second = acquireDataLock(dir);
    first();
    expect(refusal(() => acquireDataLock(dir)).code).toBe('locked');
    second();
    acquireDataLock(dir)();
  });

  test('a holder in another process is respected, and its crash (SIGKILL) leaves no stale lock behind', async () => {
    const dir = tempDir();
    const h = await holder(dir);
    const e = refusal(() => acquireDataLock(dir));
    expect(e.message).toContain(`pid ${h.pid}`);
    await h.kill('SIGKILL');
    const release = acquireDataLock(dir); // at once: the kernel released it with the process
    release();
  });

  test('vmbot exec against a directory in use exits 5 with one line saying so, and does nothing', async () => {
    const dir = tempDir();
    const h = await holder(dir);
    try {
      const r = vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY });
      expect(r.code).toBe(5);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`is in use by another vmbot (pid ${h.pid}`)]);
      expect(readdirSync(dir)).not.toContain('audit'); // nothing was opened, let alone written
    } finally {
      await h.kill('SIGTERM');
    }
  });
});
