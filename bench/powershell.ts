/**
 * Per-command overhead of the PowerShell backend: one call through a warm pool session
 * (node-powershell, as in production) against a fresh PowerShell process per call, in the same
 * run, doing the same work (import the runner, answer one request). Target: warm <= 1/10 of cold.
 *
 * Measured on the PowerShell engine host (tools/pshost, always built by .ci/run) and on pwsh
 * when one runs ($VMBOT_TEST_PWSH, .tools/pwsh from .ci/install-pwsh.sh, or pwsh on PATH).
 * Env: BENCH_PS_WARM (calls, default 200), BENCH_PS_COLD (processes, default 10).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../src/core/config';
import { PowerShellBackend, RUNNER_MODULE } from '../src/hyperv/powershell/backend';
import { invocation, psQuote } from '../src/hyperv/powershell/quote';
import { envNumber, median, percentile, writeResult } from './report';

// No telemetry or update check from the PowerShells the bench starts (they inherit this).
process.env.POWERSHELL_TELEMETRY_OPTOUT = '1';
process.env.POWERSHELL_UPDATECHECK = 'Off';

const WARM_CALLS = envNumber('BENCH_PS_WARM', 200, { min: 1, integer: true });
const COLD_CALLS = envNumber('BENCH_PS_COLD', 10, { min: 1, integer: true });
const exe = (dir: string, name: string) => join(packageRoot(), dir, process.platform === 'win32' ? `${name}.exe` : name);

interface Figures {
  calls: number;
  medianMs: number;
  p99Ms: number;
}

export interface ShellResult {
  shell: string;
  executable: string;
  version?: string;
  skipped?: string;
  warm?: Figures;
  cold?: Figures;
  /** warm median / cold median; target <= 0.1 */
  ratio?: number;
  pass: boolean | null;
}

export interface PowerShellBenchResult {
  shells: ShellResult[];
  /** The engine host's verdict (always measured in CI); null if it could not run. */
  target: { ratio?: number; pass: boolean | null };
}

const round = (x: number) => Math.round(x * 100) / 100;
const figures = (xs: number[]): Figures => ({ calls: xs.length, medianMs: round(median(xs)), p99Ms: round(percentile(xs, 99)) });

function version(executable: string): { version?: string; error?: string } {
  const r = spawnSync(executable, ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return { version: r.stdout.trim() };
  return { error: r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`) };
}

async function measure(shell: string, executable: string, missing: string): Promise<ShellResult> {
  try {
    return await measureOrThrow(shell, executable, missing);
  } catch (e) {
    return { shell, executable, skipped: `failed: ${String(e)}`, pass: false };
  }
}

async function measureOrThrow(shell: string, executable: string, missing: string): Promise<ShellResult> {
  const probe = version(executable);
  if (!probe.version) return { shell, executable, skipped: `${missing} (${probe.error})`, pass: null };
  const request = { op: 'echo', value: 'web01' };

  const backend = await PowerShellBackend.open({ hosts: [], pool: { size: 1, executable, timeoutMs: 60_000 } });
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
    const r = spawnSync(executable, ['-NoProfile', '-NonInteractive', '-Command', script], { encoding: 'utf8', timeout: 120_000 });
    cold.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!r.stdout.includes('"ok":true')) throw new Error(`${shell}: cold call failed: ${r.stdout}${r.stderr}`);
  }

  const w = figures(warm);
  const c = figures(cold);
  const ratio = Math.round((w.medianMs / c.medianMs) * 10_000) / 10_000;
  return { shell, executable, version: probe.version, warm: w, cold: c, ratio, pass: ratio <= 0.1 };
}

export async function main(): Promise<PowerShellBenchResult> {
  const shells: ShellResult[] = [
    await measure('PowerShell engine host (tools/pshost)', exe(join('tools', 'pshost', 'bin'), 'pshost'), 'not built: run bash .ci/install-pshost.sh'),
  ];
  const localPwsh = exe('.tools', 'pwsh');
  const pwsh = process.env.VMBOT_TEST_PWSH ?? (existsSync(localPwsh) ? localPwsh : 'pwsh');
  shells.push(await measure('pwsh', pwsh, 'pwsh not runnable: run bash .ci/install-pwsh.sh or set VMBOT_TEST_PWSH'));
  const host = shells[0]!;
  const out: PowerShellBenchResult = { shells, target: { ratio: host.ratio, pass: host.pass } };
  writeResult('powershell', { warmCalls: WARM_CALLS, coldCalls: COLD_CALLS, ...out });
  return out;
}

if (require.main === module)
  void main().then(
    (r) => process.exit(r.shells.some((s) => s.pass === false) ? 1 : 0),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
