import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { numberSetting, type NumberRule } from '../src/core/number-setting';

/** Rounded to one decimal, for printing. */
export const oneDecimal = (x: number) => Math.round(x * 10) / 10;

/** A fraction as a percentage rounded to one decimal (0.1234 -> 12.3), for printing. */
export const percentOneDecimal = (x: number) => Math.round(x * 1000) / 10;

/**
 * A BENCH_* setting's value (`raw` as the environment has it), or `fallback` when unset or empty;
 * `{ error }` naming the setting and saying what is wrong when it is not a number the bench can
 * use (not NaN run on). Checked as the bot checks its own settings (numberSetting).
 */
export function benchNumber<F extends number | undefined>(name: string, raw: string | undefined, fallback: F, rule: NumberRule = {}): number | F | { error: string } {
  if (raw === undefined || raw.trim() === '') return fallback;
  const x = numberSetting(rule).safeParse(raw);
  return x.success ? x.data : { error: `${name} ${x.error.issues[0]!.message}` };
}

/** Stop the bench with one plain line (exit 2): bad input is said, not shown as a stack trace. */
export function refuse(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

/** A BENCH_* setting from the environment, or `fallback` when unset; anything else stops the bench (refuse()). */
export function envNumber<F extends number | undefined>(name: string, fallback: F, rule: NumberRule = {}): number | F {
  const x = benchNumber(name, process.env[name], fallback, rule);
  return typeof x === 'object' ? refuse(x.error) : x;
}

/** A saved result (JSON) read for re-analysis; a missing or unreadable file stops the bench (refuse()). */
export function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    return refuse(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Median of a sample (copied, then sorted). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * CPU time the hypervisor gave to other guests while ours wanted it ("steal", /proc/stat), in
 * jiffies, beside all CPU time: the noise of a shared VM, measured rather than guessed. Null where
 * the kernel does not say (not Linux).
 */
export function cpuSteal(): { steal: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { steal: f[7] ?? 0, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

/** Share of CPU time stolen between two cpuSteal() readings, in percent (null if unknown or no time passed). */
export function stealPercent(from: ReturnType<typeof cpuSteal>, to: ReturnType<typeof cpuSteal>): number | null {
  if (!from || !to || to.total <= from.total) return null;
  return percentOneDecimal((to.steal - from.steal) / (to.total - from.total));
}

/** Print a bench's figures and write them to bench/results/<name>.json with the machine. */
export function writeResult(name: string, data: Record<string, unknown>): void {
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  const out = {
    bench: name,
    at: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    ...data,
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
  console.log(`\n== ${name} ==`);
  console.log(JSON.stringify(data, null, 2));
}
