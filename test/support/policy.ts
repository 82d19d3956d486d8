import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { PolicyInput } from '../../src/policy/schema';
import { EXAMPLE_POLICY, tempDir } from './app';

/** The example policy as a plain object, to derive variants from. */
export const examplePolicy = (): PolicyInput => parse(readFileSync(EXAMPLE_POLICY, 'utf8')) as PolicyInput;

/** Write a variant of the example policy to a temp file and return its path. */
export function policyVariant(change: (p: PolicyInput) => void): string {
  const p = examplePolicy();
  change(p);
  const file = join(tempDir('vmbot-policy-'), 'policy.json');
  writeFileSync(file, JSON.stringify(p, null, 2));
  return file;
}

/** A clock tests move by hand. */
export function manualClock(start = new Date('2026-11-23T09:00:00Z')) {
  let t = start.getTime();
  const clock = () => new Date(t);
  return Object.assign(clock, { advance: (ms: number) => void (t += ms), minutes: (m: number) => void (t += m * 60_000) });
}
