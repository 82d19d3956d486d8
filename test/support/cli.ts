import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './app';

export const CLI = join(REPO, 'dist', 'src', 'cli.js');

/**
 * This process's environment without any VMBOT_* variable: a spawned vmbot must not inherit the
 * test run's own (VMBOT_TEST_PWSH, VMBOT_REQUIRE_PSHOST in CI), which it refuses as unknown settings.
 */
export const envWithoutVmbot = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VMBOT_')));

/** Run the built `vmbot` CLI with a clean VMBOT_* environment plus `env`. */
export function vmbot(args: string[], env: Record<string, string> = {}, input?: string) {
  const base = envWithoutVmbot();
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...base, VMBOT_SIM_LATENCY_MS: '0', ...env }, encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
