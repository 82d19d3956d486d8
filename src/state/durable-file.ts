import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/**
 * Crash-safe whole-file replace: write a temp file, fsync it, rename over the target, fsync
 * the directory. After a crash the file holds either the old or the new content, never a mix,
 * and a completed write survives power loss (which lowdb's own adapter does not promise).
 */
export function writeFileDurable(file: string, data: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  writeSynced(tmp, 'w', data);
  renameSync(tmp, file);
  fsyncDir(dir);
}

/**
 * writeFileDurable off the event loop (`data` may come in pieces): the same temp + fsync +
 * rename + directory fsync, with the writes and fsyncs on libuv's thread pool, so a server keeps
 * answering (acking Slack within its 3 s) while state reaches the disk. Callers must not run two
 * for one file at once (same temp name). `syncDir: false` skips the directory fsync, for a file
 * whose older content after a power loss is harmless (never a torn one either way).
 */
export async function writeFileDurableAsync(file: string, data: string | AsyncIterable<string>, opts: { syncDir?: boolean } = {}): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  await writeSyncedAsync(tmp, 'w', data);
  await rename(tmp, file);
  if (opts.syncDir === false) return;
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // As fsyncDir: some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}

/** appendFileDurable off the event loop (the write and the fsync on libuv's thread pool). */
export async function appendFileDurableAsync(file: string, data: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeSyncedAsync(file, 'a', data);
}

/** Append to a file (owner-only when created) and fsync before returning: the line survives power loss. */
export function appendFileDurable(file: string, data: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeSynced(file, 'a', data);
}

/** writeSynced off the event loop; pieces are written one after another, never joined into one string. */
async function writeSyncedAsync(file: string, flags: 'w' | 'a', data: string | AsyncIterable<string>): Promise<void> {
  const fh = await open(file, flags, 0o600);
  try {
    if (typeof data === 'string') await fh.writeFile(data);
    else for await (const piece of data) await fh.write(piece);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function writeSynced(file: string, flags: 'w' | 'a', data: string): void {
  const fd = openSync(file, flags, 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}

export function readFileIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
