import { randomBytes } from 'node:crypto';

// No 0/o, 1/l/i: ids are read aloud and typed by people.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A short id such as `r-7k2mq`: 31^6 ≈ 887 million values. */
export function shortId(prefix: string, length = 6): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `${prefix}-${s}`;
}

export const REQUEST_ID_RE = /^r-[a-z2-9]{6}$/;
export const GRANT_ID_RE = /^g-[a-z2-9]{6}$/;
