import { closeSync, fsyncSync, mkdirSync, openSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fsReason, VmbotError } from '../core/errors';

/** Kernel and device file systems: nothing written there is data (and mkdir -p under /proc never returns). */
const KERNEL_FS = ['/proc', '/sys', '/dev'];

const under = (path: string, root: string) => path === root || path.startsWith(root + sep);

/**
 * Make sure VMBOT_DATA_DIR can hold the audit log and state before anything is written there:
 * create it if needed and prove it writable. Every problem is one config error naming the
 * setting and the path, never a stack trace, and nothing here can hang.
 */
export function prepareDataDir(dir: string): void {
  const path = resolve(dir);
  const fail = (why: string) => new VmbotError('config', `VMBOT_DATA_DIR (${dir}): ${why}. Set VMBOT_DATA_DIR to a directory vmbot may write to.`);
  // Where it would really be: the nearest existing ancestor with its links resolved.
  let existing = path;
  for (;;) {
    try {
      statSync(existing);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        // Some ancestor is a file: name it.
        let p = dirname(existing);
        while (p !== dirname(p)) {
          try {
            if (!statSync(p).isDirectory()) throw fail(`cannot be created: ${p} is a file`);
            break;
          } catch (err) {
            if (err instanceof VmbotError) throw err;
          }
          p = dirname(p);
        }
        throw fail('cannot be created: a part of the path is not a directory');
      }
      if (code !== 'ENOENT') throw fail(`cannot be inspected (${describe(e)})`);
      const up = dirname(existing);
      if (up === existing) break;
      existing = up;
    }
  }
  let real: string;
  try {
    real = join(realpathSync(existing), relative(existing, path));
  } catch {
    real = path;
  }
  if (process.platform !== 'win32' && KERNEL_FS.some((root) => under(path, root) || under(real, root)))
    throw fail(`is on a kernel or device file system (${real}), which cannot hold data`);
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw fail('is a file, not a directory');
    throw fail(`cannot be created (${describe(e)})`);
  }
  if (!statSync(path).isDirectory()) throw fail('is a file, not a directory');
  // Prove it: create, write, fsync and remove a file (permissions, read-only mounts, full disks).
  const probe = join(path, `.vmbot-write-test-${process.pid}`);
  try {
    const fd = openSync(probe, 'w', 0o600);
    try {
      writeSync(fd, 'vmbot');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (e) {
    throw fail(`not writable (${describe(e)})`);
  }
}

const describe = (e: unknown): string => fsReason(e) ?? (e instanceof Error ? e.message : String(e));
