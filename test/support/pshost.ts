import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * tools/pshost, the PowerShell engine host: the PowerShell 7.6.9 engine (System.Management.Automation
 * from NuGet) hosted by a small .NET program. It is not pwsh. `parse`, `data` and `run` (below) see
 * the engine's core cmdlets only; its shell mode (PSHOST_SHELL, driven by node-powershell in
 * test/powershell.test.ts) takes pwsh's command line and adds the real Utility and Management
 * cmdlets of the same release.
 */
const BIN = join(__dirname, '..', '..', 'tools', 'pshost', 'bin');
const APPHOST = join(BIN, process.platform === 'win32' ? 'pshost.exe' : 'pshost');
const DLL = join(BIN, 'pshost.dll');

/** The engine host's executable, started like pwsh (`-NoLogo -NoProfile -NonInteractive -NoExit -Command -`). */
export const PSHOST_SHELL = APPHOST;

export const PSHOST_MISSING =
  'tools/pshost (the PowerShell engine host: PowerShell 7.6.9, System.Management.Automation) is not built. ' +
  'Build it with `bash .ci/install-pshost.sh` (needs the .NET SDK).';

/**
 * Tests that need the engine host fail instead of skipping where it must be there: in CI
 * (CI=true; .ci/run builds it) or when VMBOT_REQUIRE_PSHOST=1.
 */
export const PSHOST_REQUIRED = process.env.CI === 'true' || process.env.VMBOT_REQUIRE_PSHOST === '1';

/** Is the pshost build present? */
export function pshostAvailable(): boolean {
  return existsSync(DLL) && (existsSync(APPHOST) || existsSync(join(BIN, 'pshost.runtimeconfig.json')));
}

function invoke(args: string[], input?: string) {
  const [cmd, argv] = existsSync(APPHOST) ? [APPHOST, args] : ['dotnet', [DLL, ...args]];
  const r = spawnSync(cmd, argv, { input: input ?? '', encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`pshost ${args[0]}: ${r.error.message}`);
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`pshost ${args[0]} exited ${r.status} without one JSON document.\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
  return { code: r.status, json };
}

export interface PsParseElement {
  type: string;
  text: string;
  /** StringConstantExpressionAst only */
  value?: string;
  stringConstantType?: 'BareWord' | 'SingleQuoted' | 'DoubleQuoted' | 'SingleQuotedHereString' | 'DoubleQuotedHereString';
  /** CommandParameterAst only */
  parameterName?: string;
}

export interface PsParse {
  errors: { message: string; line: number; column: number; errorId: string }[];
  /** Every CommandAst in the tree (nested ones too). */
  commands: { name: string | null; text: string; invocationOperator: string; elements: PsParseElement[] }[];
  /** Distinct AST node type names in the whole tree. */
  nodeTypes: string[];
}

/** Parse a script with the real PowerShell parser (Parser.ParseInput). */
export function psParse(script: string): PsParse {
  return invoke(['parse'], script).json as PsParse;
}

/** Import-PowerShellDataFile: the file's one hashtable as JSON (script blocks as text), or why not. */
export function psData(file: string): { value: Record<string, unknown>; error?: undefined } | { error: string; value?: undefined } {
  const { code, json } = invoke(['data', file]);
  if (code === 0) return { value: json as Record<string, unknown> };
  return { error: (json as { error?: string }).error ?? `pshost data exited ${code}` };
}

export interface PsRunError {
  fqid: string;
  category: string;
  message: string;
}

/** Run a script in a runspace from InitialSessionState.CreateDefault2(): output as strings, errors (terminating ones too). */
export function psRun(script: string): { output: (string | null)[]; errors: PsRunError[] } {
  return invoke(['run'], script).json as { output: (string | null)[]; errors: PsRunError[] };
}

let warned = false;

/**
 * `describe` when pshost is built. Otherwise: in CI (PSHOST_REQUIRED) one failing test that says
 * why, so a broken build cannot pass as skipped tests; elsewhere a skipped block that says how
 * to get it.
 */
export function describePshost(name: string, fn: () => void): void {
  if (pshostAvailable()) return describe(`${name} (PowerShell 7.6.9 engine via tools/pshost)`, fn);
  missingPshost(name, fn);
}

/** The block for a missing engine host: failing where it is required, skipped (with why) elsewhere. */
export function missingPshost(name: string, fn: () => void): void {
  if (PSHOST_REQUIRED) {
    describe(name, () => {
      test('the PowerShell engine host is built', () => {
        throw new Error(PSHOST_MISSING);
      });
    });
    return;
  }
  describe.skip(`${name} — ${PSHOST_MISSING}`, fn);
  if (!warned) console.warn(PSHOST_MISSING);
  warned = true;
}
