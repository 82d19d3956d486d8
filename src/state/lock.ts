import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VmbotError } from '../core/errors';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One writer per data directory: two processes appending to one audit log would fork its
 * hash chain, and lowdb does not support several processes. A lock left by a dead process is
 * taken over.
 */
export function acquireDataLock(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'vmbot.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new VmbotError('conflict', `Another vmbot (pid ${pid}) is using ${dir}. Stop it first, or set VMBOT_DATA_DIR to another directory.`);
      unlinkSync(file); // stale: its process is gone
    }
  }
  throw new VmbotError('conflict', `Could not lock ${dir}.`);
}
