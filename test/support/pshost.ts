import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * tools/pshost: the PowerShell 7.6.9 engine (System.Management.Automation from NuGet) hosted by
 * a small .NET program. It is not pwsh: parser, language and core cmdlets only (no
 * ConvertTo-Json, Get-Content, Write-Output, Import-PowerShellDataFile …).
 */
const BIN = join(__dirname, '..', '..', 'tools', 'pshost', 'bin');
const APPHOST = join(BIN, process.platform === 'win32' ? 'pshost.exe' : 'pshost');
const DLL = join(BIN, 'pshost.dll');

export const PSHOST_MISSING =
  'tools/pshost is not built: the JEA tests that use the PowerShell 7.6.9 engine (System.Management.Automation) are skipped. ' +
  'Build it with `bash .ci/install-pshost.sh` (needs the .NET SDK).';

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

/** `describe` when pshost is built, else a skipped block that says why and how to get it. */
export function describePshost(name: string, fn: () => void): void {
  if (pshostAvailable()) return describe(`${name} (PowerShell 7.6.9 engine via tools/pshost)`, fn);
  describe.skip(`${name} — ${PSHOST_MISSING}`, fn);
  if (!warned) console.warn(PSHOST_MISSING);
  warned = true;
}
