import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { missingPshost, pshostAvailable, PSHOST_SHELL } from './pshost';

/**
 * The PowerShells the backend suite (test/powershell.test.ts) runs on, each through node-powershell
 * exactly as production drives pwsh:
 *  - pwsh: $VMBOT_TEST_PWSH, else the one .ci/install-pwsh.sh puts in .tools/, else pwsh on PATH.
 *    Optional (its pass is skipped, with a message, when none runs), unless VMBOT_TEST_PWSH names
 *    one: then it must run.
 *  - the PowerShell engine host (tools/pshost in shell mode): the same 7.6.9 engine in a host of
 *    our own. Required in CI (see PSHOST_REQUIRED).
 */
// pwsh (and the engine) send telemetry and check for updates unless told not to: never from tests.
// Every PowerShell a test starts inherits this environment.
process.env.POWERSHELL_TELEMETRY_OPTOUT = '1';
process.env.POWERSHELL_UPDATECHECK = 'Off';

const LOCAL_PWSH = join(__dirname, '..', '..', '.tools', process.platform === 'win32' ? 'pwsh.exe' : 'pwsh');
export const PWSH = process.env.VMBOT_TEST_PWSH ?? (existsSync(LOCAL_PWSH) ? LOCAL_PWSH : 'pwsh');

/** `$PSVersionTable.PSVersion` of a PowerShell started as pwsh is, or null if it does not run. */
export function psVersion(executable: string): string | null {
  const r = spawnSync(executable, ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

export const pwshVersion: string | null = psVersion(PWSH);

export const PWSH_MISSING =
  `pwsh not found ("${PWSH}"): the pwsh pass of the PowerShell-backend tests is skipped (the engine-host pass still runs). ` +
  'Install PowerShell 7.6.9 as a .NET tool with `bash .ci/install-pwsh.sh` (into .tools/), or set VMBOT_TEST_PWSH to a pwsh executable.';

export interface PowerShellUnderTest {
  kind: 'pwsh' | 'engine host';
  /** What the pool starts (VMBOT_PS_EXECUTABLE). */
  executable: string;
  version: string;
}

let warned = false;
/** Probed once per test file ('' = not built or does not run). */
let engineHostVersion: string | undefined;

/** One `describe` per PowerShell the suite runs on; `fn` gets which one. */
export function describePowerShell(name: string, fn: (ps: PowerShellUnderTest) => void): void {
  if (pwshVersion) {
    const ps: PowerShellUnderTest = { kind: 'pwsh', executable: PWSH, version: pwshVersion };
    describe(`${name} (pwsh ${pwshVersion})`, () => fn(ps));
  } else if (process.env.VMBOT_TEST_PWSH) {
    describe(`${name} (pwsh)`, () => {
      test('the pwsh named by VMBOT_TEST_PWSH runs', () => {
        throw new Error(`VMBOT_TEST_PWSH=${process.env.VMBOT_TEST_PWSH} does not run as pwsh.`);
      });
    });
  } else {
    describe.skip(`${name} — ${PWSH_MISSING}`, () => fn({ kind: 'pwsh', executable: PWSH, version: '' }));
    if (!warned) console.warn(PWSH_MISSING);
    warned = true;
  }

  engineHostVersion ??= pshostAvailable() ? psVersion(PSHOST_SHELL) ?? '' : '';
  const hostVersion = engineHostVersion || null;
  const label = `${name} (PowerShell engine host ${hostVersion ?? ''}, tools/pshost)`;
  if (hostVersion) describe(label, () => fn({ kind: 'engine host', executable: PSHOST_SHELL, version: hostVersion }));
  else missingPshost(label, () => fn({ kind: 'engine host', executable: PSHOST_SHELL, version: '' }));
}
