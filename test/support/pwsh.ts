import { spawnSync } from 'node:child_process';

/** The pwsh the PowerShell-backend tests drive: $VMBOT_TEST_PWSH, else pwsh on PATH (.ci/run adds .tools/). */
export const PWSH = process.env.VMBOT_TEST_PWSH ?? 'pwsh';

export const pwshVersion: string | null = (() => {
  const r = spawnSync(PWSH, ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : null;
})();

export const PWSH_MISSING =
  `pwsh not found ("${PWSH}"): PowerShell-backend tests skipped. Install PowerShell 7 as a .NET tool ` +
  '(bash .ci/install-pwsh.sh, which tries `dotnet tool install --tool-path .tools PowerShell`) and put .tools on PATH, ' +
  'or set VMBOT_TEST_PWSH to a pwsh executable.';

let warned = false;

/** `describe` when a real pwsh runs here, else a skipped block that says why and how to get it. */
export function describePwsh(name: string, fn: () => void): void {
  if (pwshVersion) return describe(`${name} (pwsh ${pwshVersion})`, fn);
  describe.skip(`${name} — ${PWSH_MISSING}`, fn);
  if (!warned) console.warn(PWSH_MISSING);
  warned = true;
}
