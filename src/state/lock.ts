import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { VmbotError } from '../core/errors';
import { prepareDataDir } from './datadir';
import { writeFileDurable } from './durable-file';

/** The lock itself: an (empty) SQLite file whose exclusive lock the writer holds. Never deleted. */
export const LOCK_FILE = 'writer.lock';
/** Who holds the lock, for the loser's message only; the lock never depends on it. */
export const OWNER_FILE = 'writer.owner.json';

interface Owner {
  pid: number;
  host: string;
  since: string;
  nonce: string;
}

/**
 * One writer per data directory: two processes appending to one audit log would fork its hash
 * chain, and lowdb does not support several processes.
 *
 * The lock is a kernel lock, held through SQLite (better-sqlite3, already a dependency):
 * `locking_mode=EXCLUSIVE` + `BEGIN EXCLUSIVE` takes an exclusive POSIX record lock (fcntl) on
 * Unix, `LockFileEx` on Windows, in one system call. So:
 * - acquiring is atomic: of any number of processes starting at the same instant, exactly one
 *   gets it; the others fail at once (busy timeout 0) — no pid file written in two steps;
 * - there is no stale lock to take over: the kernel releases it when the holder exits, however
 *   it exits (crash, kill -9, power loss), and the next process simply gets it;
 * - release ends only this process's lock (closing its connection); the lock file stays, so a
 *   later holder never loses its lock to an earlier holder's clean-up.
 * Alternatives rejected: proper-lockfile takes a stale lock over with stat, rmdir, mkdir (two
 * processes that both judge it stale can both end up holding it) and judges staleness by mtime,
 * so a holder whose event loop stalls loses its lock; a link/rename scheme needs its own stale
 * detection, which is where races live.
 * The data directory must be on a local file system: network file systems may not honour locks.
 */
/**
 * Connections holding a lock. Referenced here, not only by the release function, because
 * better-sqlite3 closes a connection that is garbage-collected: a caller that dropped its
 * release function would otherwise lose the lock at the next GC.
 */
const held = new Map<Database.Database, { dir: string }>();

/**
 * What the kernel does when the holding process dies: drop this process's lock on `dir`
 * without any clean-up. Only for tests that simulate a crash inside one process.
 */
export function dropDataLockAsIfCrashed(dir: string): void {
  for (const [db, h] of [...held]) if (h.dir === resolve(dir)) {
    held.delete(db);
    db.close();
  }
}

export function acquireDataLock(dir: string): () => void {
  prepareDataDir(dir);
  const file = join(dir, LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
  } catch (e) {
    throw new VmbotError('config', `Cannot open the lock file ${file}: ${errorText(e)}.`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') throw new VmbotError('locked', lockedMessage(dir, readOwner(dir)));
    throw new VmbotError('config', `Cannot lock ${file}: ${errorText(e)}.`);
  }
  held.set(db, { dir: resolve(dir) });
  const me: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), nonce: randomUUID() };
  try {
    writeFileDurable(join(dir, OWNER_FILE), JSON.stringify(me) + '\n');
  } catch {
    // Only the loser's message needs it.
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // While still holding the lock, so this can only ever remove our own owner note.
    try {
      if (readOwner(dir)?.nonce === me.nonce) unlinkSync(join(dir, OWNER_FILE));
    } catch {
      /* already gone */
    }
    if (!held.delete(db)) return; // dropped as if crashed
    db.close();
  };
}

/** The one message every process that did not get the lock prints (the CLI exits with 5). */
export function lockedMessage(dir: string, owner: Owner | null): string {
  const who = owner ? ` (pid ${owner.pid} on ${owner.host}, since ${owner.since.replace('T', ' ').slice(0, 19)} UTC)` : '';
  return `The data directory ${dir} is in use by another vmbot${who}: one data directory has one writer. Stop that one first, or set VMBOT_DATA_DIR to another directory.`;
}

function readOwner(dir: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Owner;
    if (typeof o.pid !== 'number' || typeof o.nonce !== 'string') return null;
    // A note left by a holder that was killed (the new holder has not written its own yet): say nothing.
    return o.host !== hostname() || alive(o.pid) ? o : null;
  } catch {
    return null;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
