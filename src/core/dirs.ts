import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`, one level at a time. Node's `mkdirSync(dir, { recursive: true })` retries forever
 * where an existing parent answers ENOENT for a new entry (/proc): an `--out` typo there hung the
 * CLI. Here that is the plain error, and a file in the way is EEXIST on that path (syscall mkdir).
 */
export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.unshift(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  if (existsSync(d) && !statSync(d).isDirectory()) mkdirSync(d); // throws EEXIST naming the file in the way
  for (const m of missing) {
    try {
      mkdirSync(m, mode === undefined ? undefined : { mode });
    } catch (e) {
      // Made meanwhile by someone else: fine, if it is a directory.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(m).isDirectory()) throw e;
    }
  }
}
