import { z } from 'zod';

/** What a numeric setting may be: at least `min` (default 0), at most `max`, whole if `integer`. */
export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

const WHOLE = /^-?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
// (Finite too: "1e999" has the shape of a number and is Infinity.)

/**
 * A number given as text (an environment variable), checked with messages in words: zod's own
 * ("expected number, received NaN") never shows. The bot's VMBOT_* settings and the benches'
 * BENCH_* ones are read through it alike.
 */
export function numberSetting({ min = 0, max, integer = false }: NumberRule = {}) {
  const n = z.number().min(min, `must be at least ${min}`);
  return z
    .string()
    .trim()
    .refine((s) => (integer ? WHOLE : DECIMAL).test(s) && Number.isFinite(Number(s)), { error: (i) => `must be ${integer ? 'a whole number' : 'a number'}; "${String(i.input).slice(0, 40)}" is not one` })
    .transform(Number)
    .pipe(max === undefined ? n : n.max(max, `must be at most ${max}`));
}
