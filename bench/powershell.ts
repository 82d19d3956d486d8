/**
 * Per-command overhead of the PowerShell backend: one warm pool session vs a fresh pwsh per
 * command, in the same run, doing the same work (import the runner, answer one request).
 * Target: warm <= 1/10 of cold. Without pwsh it records that it was skipped, and why.
 */
import { spawnSync } from 'node:child_process';
import { PowerShellBackend, RUNNER_MODULE } from '../src/hyperv/powershell/backend';
import { invocation, psQuote } from '../src/hyperv/powershell/quote';
import { z } from 'zod';
import { median, percentile, writeResult } from './report';

const PWSH = process.env.VMBOT_TEST_PWSH ?? 'pwsh';
const WARM_CALLS = Number(process.env.BENCH_PS_WARM ?? 200);
const COLD_CALLS = Number(process.env.BENCH_PS_COLD ?? 10);

export interface PowerShellBenchResult {
  skipped?: string;
  warm?: { calls: number; medianMs: number; p99Ms: number };
  cold?: { calls: number; medianMs: number; p99Ms: number };
  target: { ratio?: number; pass: boolean | null };
}

export async function main(): Promise<PowerShellBenchResult> {
  const probe = spawnSync(PWSH, ['-NoProfile', '-Command', '$PSVersionTable.PSVersion.ToString()'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const out: PowerShellBenchResult = { skipped: `pwsh not runnable ("${PWSH}": ${probe.error?.message ?? probe.stderr}); run .ci/install-pwsh.sh or set VMBOT_TEST_PWSH`, target: { pass: null } };
    writeResult('powershell', { ...out });
    return out;
  }
  const request = { op: 'echo', value: 'web01' };
  const backend = await PowerShellBackend.open({ hosts: [], pool: { size: 1, executable: PWSH, timeoutMs: 60_000 } });
  const warm: number[] = [];
  try {
    for (let i = 0; i < 5; i++) await backend.call(request, z.string(), { action: 'echo' }); // JIT, first-call costs
    for (let i = 0; i < WARM_CALLS; i++) {
      const t = process.hrtime.bigint();
      await backend.call(request, z.string(), { action: 'echo' });
      warm.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    await backend.close();
  }
  const cold: number[] = [];
  const script = `Import-Module -Name ${psQuote(RUNNER_MODULE)}; ${invocation('Invoke-Vmbot', request)}`;
  for (let i = 0; i < COLD_CALLS; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(PWSH, ['-NoProfile', '-NonInteractive', '-Command', script], { encoding: 'utf8' });
    cold.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!r.stdout.includes('"ok":true')) throw new Error(`cold call failed: ${r.stdout}${r.stderr}`);
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  const w = { calls: warm.length, medianMs: round(median(warm)), p99Ms: round(percentile(warm, 99)) };
  const c = { calls: cold.length, medianMs: round(median(cold)), p99Ms: round(percentile(cold, 99)) };
  const ratio = round(w.medianMs / c.medianMs);
  const out: PowerShellBenchResult = { warm: w, cold: c, target: { ratio, pass: ratio <= 0.1 } };
  writeResult('powershell', { pwsh: probe.stdout.trim(), ...out });
  return out;
}

if (require.main === module) void main();
