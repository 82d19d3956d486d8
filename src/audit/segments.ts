import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT_RE = /^audit-(\d{8})\.jsonl$/;
export const segmentName = (n: number) => `audit-${String(n).padStart(8, '0')}.jsonl`;

/** Segment files of a log directory, oldest first. */
export function listSegments(dir: string): { n: number; file: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((name) => ({ m: SEGMENT_RE.exec(name), name }))
    .filter((x): x is { m: RegExpExecArray; name: string } => x.m !== null)
    .map(({ m, name }) => ({ n: Number(m[1]), file: join(dir, name) }))
    .sort((a, b) => a.n - b.n);
}
