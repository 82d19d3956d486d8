import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';

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
