import { createHash } from 'node:crypto';
import { VmbotError } from '../../core/errors';
import { grantOperation } from '../../policy/lint';
import { VM_OPERATIONS } from '../../policy/operations';
import { ID_RE, named, WINDOWS_ACCOUNT_RE, type Operation, type Policy } from '../../policy/schema';
import { psQuote } from './quote';

/**
 * `vmbot policy export jea`: a JEA role capability (.psrc) and session configuration (.pssc)
 * that make the Hyper-V host enforce what the policy allows, whatever the bot's account sends.
 *
 * The .psrc exposes no Hyper-V cmdlet. It defines nine wrapper functions (the names
 * VmbotRunner.psm1 imports through implicit remoting), each an advanced function whose
 * parameters are Mandatory and validated ([ValidatePattern] / [ValidateSet]) and which acts on
 * the one VM with exactly that name through module-qualified cmdlets (`Hyper-V\Get-VM`).
 *
 * Every string taken from the policy (patterns, accounts, template names, switch names, the
 * group, the source file) is written as a single-quoted PowerShell literal (`psQuote`): no
 * policy value ever becomes PowerShell code.
 */

export const JEA_ROLE_NAME = 'VmbotGuestAdmin';
export const JEA_DEFAULT_SERVICE_GROUP = 'CONTOSO\\vmbot-svc';
export const JEA_DEFAULT_TRANSCRIPT_DIRECTORY = 'C:\\ProgramData\\vmbot\\JEA\\Transcripts';

/** The wrapper contract: VmbotRunner.psm1 (Get-JeaCommand) imports exactly these names. */
export const JEA_FUNCTIONS = [
  'Get-VmbotVM',
  'Get-VmbotVMList',
  'Start-VmbotVM',
  'Stop-VmbotVM',
  'Grant-VmbotConsole',
  'Revoke-VmbotConsole',
  'Get-VmbotConsoleAccess',
  'Get-VmbotConsoleAccessList',
  'New-VmbotVM',
] as const;

export interface JeaOptions {
  /** Role capability name = the .psrc file's base name (default VmbotGuestAdmin). */
  roleName?: string;
  /** The bot's service account group, `DOMAIN\group` (default CONTOSO\vmbot-svc). */
  serviceGroup?: string;
  /** Where the policy came from, for the header comment (a file path). */
  source?: string;
  transcriptDirectory?: string;
}

export interface JeaExport {
  psrc: string;
  pssc: string;
}


/** One VM-name character, as in VM_NAME_RE (src/hyperv/backend.ts) and scope patterns. */
const NAME_CHAR = '[A-Za-z0-9._-]';
/**
 * The whole name, checked case-sensitively so that IgnoreCase cannot stretch the ASCII classes
 * to look-alikes (U+212A KELVIN SIGN ~ k): letters, digits, . _ - only, which also rules out
 * the wildcard characters * ? [ ] that Hyper-V's -Name would expand.
 */
const NAME_GUARD = `(?=(?-i:[A-Za-z0-9]${NAME_CHAR}{0,99})\\z)`;
/** A .NET regex that matches nothing: for a function no scope of the policy reaches. */
const NEVER = '(?!)';

/** One admin-written scope glob to a .NET regex fragment: `*`, `?` are wildcards, the rest literal. */
export function globToPsRegex(glob: string): string {
  let out = '';
  for (const c of glob) {
    if (c === '*') out += `${NAME_CHAR}*`;
    else if (c === '?') out += NAME_CHAR;
    else if (/[A-Za-z0-9_-]/.test(c)) out += c;
    else out += `\\${c}`; // . and any other punctuation: literal (never a letter: \d etc. are classes)
  }
  return out;
}

/**
 * The anchored ValidatePattern for a set of scope globs. ValidatePattern and -match are
 * case-insensitive, like Hyper-V names. `\z`, not `$`: `$` also matches before a final newline.
 */
export function vmNamePattern(globs: readonly string[]): string {
  const alternatives = [...new Map(globs.map((g) => [g.toLowerCase(), globToPsRegex(g)])).values()];
  if (!alternatives.length) return NEVER;
  return `^${NAME_GUARD}(?:${alternatives.join('|')})\\z`;
}

const CONSOLE_OPS: readonly Operation[] = ['Allow Input to Virtual Machine', 'Allow Output from Virtual Machine'];
const VM_OPS: ReadonlySet<Operation> = new Set(VM_OPERATIONS);

/** What the policy grants per scope, from its assignments (a scope no assignment binds grants nothing). */
function grantsByScope(policy: Policy) {
  const ops = new Map<string, Set<Operation>>();
  const turnOff = new Set<string>();
  for (const a of policy.assignments) {
    const role = named(policy.roles, a.role);
    if (!role || !named(policy.scopes, a.scope)) continue;
    const set = ops.get(a.scope) ?? new Set<Operation>();
    for (const g of role.operations) set.add(grantOperation(g));
    ops.set(a.scope, set);
    if (role.allowTurnOff && role.operations.some((g) => grantOperation(g) === 'Stop Virtual Machine')) turnOff.add(a.scope);
  }
  return { ops, turnOff };
}

/** Indent every non-empty line of `text` by `n` spaces. */
function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
}

/**
 * `$PSCmdlet.ThrowTerminatingError(...)` with a stable error id (the backend maps ids, not
 * messages). `message` is a PowerShell expression; only $Name/$Template may be expanded in it.
 */
function fail(id: string, category: string, message: string, target = '$Name'): string {
  return (
    `$PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(` +
    `[System.Exception]::new(${message}), '${id}', [System.Management.Automation.ErrorCategory]::${category}, ${target}))`
  );
}

/** The one VM with exactly this name (Get-VM -Name is case-insensitive; the name holds no wildcard). */
const EXACT_VM = [
  `$vm = @(Hyper-V\\Get-VM -Name $Name | Where-Object Name -eq $Name)`,
  `if ($vm.Count -eq 0) { ${fail('VmbotNotFound', 'ObjectNotFound', `"There is no VM named $Name on this host."`)} }`,
  `if ($vm.Count -gt 1) { ${fail('VmbotAmbiguousName', 'InvalidResult', `"More than one VM is named $Name on this host."`)} }`,
  `$vm = $vm[0]`,
].join('\n');

function nameParam(pattern: string): string {
  return `[Parameter(Mandatory = $true)]\n[ValidatePattern(${psQuote(pattern)})]\n[string] $Name`;
}

/** [ValidateSet(...)], or a pattern matching nothing when the policy names no value (an empty set is invalid). */
function setAttribute(values: readonly string[]): string {
  const unique = [...new Map(values.map((v) => [v.toLowerCase(), v])).values()];
  return unique.length ? `[ValidateSet(${unique.map(psQuote).join(', ')})]` : `[ValidatePattern(${psQuote(NEVER)})]`;
}

function advancedFunction(params: string[], body: string): string {
  const param = params.length ? `param(\n${indent(params.join(',\n\n'), 4)}\n)` : 'param()';
  return `[CmdletBinding()]\n${param}\n\n$ErrorActionPreference = 'Stop'\n${body}`;
}

function psrcFunction(name: string, script: string): string {
  return `@{\n    Name        = ${psQuote(name)}\n    ScriptBlock = {\n${indent(script, 8)}\n    }\n}`;
}

/** Deterministic GUID for a role/configuration name: re-exporting keeps the same identity. */
function stableGuid(kind: string, name: string): string {
  const h = createHash('sha256').update(`vmbot-jea:${kind}:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5 layout (name-based)
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** sha256 of the validated policy, so a host's file can be traced to the policy it came from. */
function policyDigest(policy: Policy): string {
  return createHash('sha256').update(JSON.stringify(policy)).digest('hex');
}

/** A value for a `#` comment line: printable ASCII only, so it cannot end the comment. */
function commentSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

export function exportJea(policy: Policy, opts: JeaOptions = {}): JeaExport {
  const roleName = opts.roleName ?? JEA_ROLE_NAME;
  const serviceGroup = opts.serviceGroup ?? JEA_DEFAULT_SERVICE_GROUP;
  if (!ID_RE.test(roleName)) throw new VmbotError('usage', `The JEA role name "${roleName}" must be letters, digits, . _ - (max 64).`);
  if (!WINDOWS_ACCOUNT_RE.test(serviceGroup)) throw new VmbotError('usage', `The service group "${serviceGroup}" must be written DOMAIN\\group.`);

  const templates = Object.entries(policy.templates);
  const seen = new Map<string, string>();
  for (const [name] of templates) {
    const other = seen.get(name.toLowerCase());
    // ValidateSet and -eq ignore case: web-small and Web-Small would be one template on the host.
    if (other) throw new VmbotError('policy', `Templates "${other}" and "${name}" differ only in case; JEA cannot tell them apart. Rename one.`);
    seen.set(name.toLowerCase(), name);
  }

  const { ops, turnOff } = grantsByScope(policy);
  const globsOf = (scopes: Iterable<string>) => [...new Set(scopes)].flatMap((s) => named(policy.scopes, s)?.vms ?? []);
  const scopesWhere = (pred: (held: ReadonlySet<Operation>) => boolean) =>
    Object.keys(policy.scopes).filter((s) => pred(ops.get(s) ?? new Set()));
  const templateScopes = templates.map(([, t]) => t.scope);

  // Each wrapper accepts the VMs of the scopes in which some assignment grants what it does.
  // The estate-wide scope of the example ("*", auditors only, no VM operation) widens nothing.
  const managed = vmNamePattern(globsOf([...scopesWhere((h) => [...h].some((o) => VM_OPS.has(o))), ...templateScopes]));
  const startable = vmNamePattern(globsOf(scopesWhere((h) => h.has('Start Virtual Machine'))));
  const stoppable = vmNamePattern(globsOf(scopesWhere((h) => h.has('Stop Virtual Machine'))));
  const consoleable = vmNamePattern(globsOf(scopesWhere((h) => CONSOLE_OPS.every((o) => h.has(o)))));
  const creatable = vmNamePattern(globsOf(templateScopes));
  const turnOffPattern = turnOff.size ? vmNamePattern(globsOf(turnOff)) : null;
  const accounts = Object.values(policy.users).flatMap((u) => (u.windowsAccount ? [u.windowsAccount] : []));
  const userNameParam = `[Parameter(Mandatory = $true)]\n${setAttribute(accounts)}\n[string] $UserName`;

  const stopBody = turnOffPattern
    ? [
        `if ($TurnOff -and $Name -notmatch ${psQuote(turnOffPattern)}) { ${fail('VmbotTurnOffNotAllowed', 'PermissionDenied', `"No role in the vmbot policy may turn off $Name."`)} }`,
        EXACT_VM,
        `if ($TurnOff) { Hyper-V\\Stop-VM -VM $vm -TurnOff -Force }`,
        `else { Hyper-V\\Stop-VM -VM $vm -Force }`,
      ].join('\n')
    : [EXACT_VM, `Hyper-V\\Stop-VM -VM $vm -Force`].join('\n');

  const templateBranches = templates.map(([name, t]) => {
    const lines = [
      `if ($Name -notmatch ${psQuote(vmNamePattern(named(policy.scopes, t.scope)?.vms ?? []))}) { ${fail('VmbotInvalidArgument', 'InvalidArgument', `($Name + ${psQuote(` is not a name for template ${name}.`)})`)} }`,
      `$vm = Hyper-V\\New-VM -Name $Name -Generation ${t.generation} -MemoryStartupBytes ${t.memoryMB}MB -SwitchName ${psQuote(t.switch)} -NewVHDPath ($Name + '.vhdx') -NewVHDSizeBytes ${t.diskGB}GB`,
      `Hyper-V\\Set-VMProcessor -VM $vm -Count ${t.cpuCount}`,
      ...(t.vlan !== undefined ? [`Hyper-V\\Set-VMNetworkAdapterVlan -VM $vm -Access -VlanId ${t.vlan}`] : []),
      `$vm`,
    ];
    return `if ($Template -eq ${psQuote(name)}) {\n${indent(lines.join('\n'), 4)}\n}`;
  });
  const newBody = [
    `if (@(Hyper-V\\Get-VM | Where-Object Name -eq $Name).Count -gt 0) { ${fail('VmbotAlreadyExists', 'ResourceExists', `"A VM named $Name already exists on this host."`)} }`,
    ...(templateBranches.length
      ? [`${templateBranches.join(' else')} else {\n    ${fail('VmbotInvalidArgument', 'InvalidArgument', `"There is no template $Template."`, '$Template')}\n}`]
      : [fail('VmbotInvalidArgument', 'InvalidArgument', `"The vmbot policy has no templates."`, '$Template')]),
  ].join('\n');

  const functions: Record<(typeof JEA_FUNCTIONS)[number], string> = {
    'Get-VmbotVM': advancedFunction([nameParam(managed)], `Hyper-V\\Get-VM -Name $Name | Where-Object Name -eq $Name`),
    'Get-VmbotVMList': advancedFunction([], `Hyper-V\\Get-VM | Where-Object { $_.Name -match ${psQuote(managed)} }`),
    'Start-VmbotVM': advancedFunction([nameParam(startable)], `${EXACT_VM}\nHyper-V\\Start-VM -VM $vm`),
    'Stop-VmbotVM': advancedFunction([nameParam(stoppable), ...(turnOffPattern ? ['[switch] $TurnOff'] : [])], stopBody),
    'Grant-VmbotConsole': advancedFunction([nameParam(consoleable), userNameParam], `${EXACT_VM}\nHyper-V\\Grant-VMConnectAccess -VMId $vm.Id -UserName $UserName`),
    'Revoke-VmbotConsole': advancedFunction([nameParam(managed), userNameParam], `${EXACT_VM}\nHyper-V\\Revoke-VMConnectAccess -VMId $vm.Id -UserName $UserName`),
    'Get-VmbotConsoleAccess': advancedFunction([nameParam(managed)], `${EXACT_VM}\nHyper-V\\Get-VMConnectAccess -VMId $vm.Id`),
    // Every grant on the host in one call (the reconcile pass), filtered here, on the host, to
    // the VMs the role manages as Get-VmbotVMList is: the bot never sees grants on other VMs.
    'Get-VmbotConsoleAccessList': advancedFunction([], `Hyper-V\\Get-VMConnectAccess | Where-Object { $_.VMName -match ${psQuote(managed)} }`),
    'New-VmbotVM': advancedFunction(
      [nameParam(creatable), `[Parameter(Mandatory = $true)]\n${setAttribute(templates.map(([n]) => n))}\n[string] $Template`],
      newBody,
    ),
  };

  const source = opts.source ?? 'a vmbot policy';
  const digest = policyDigest(policy);
  const psrc = [
    `# ${roleName}.psrc: JEA role capability generated by \`vmbot policy export jea\` from`,
    `#   ${commentSafe(source)} (policy sha256 ${digest}).`,
    `# Do not edit: change the policy and export again whenever its scopes, users or templates change.`,
    `# Install: copy this file into the RoleCapabilities folder of a module on $env:PSModulePath, e.g.`,
    `#   $env:ProgramFiles\\WindowsPowerShell\\Modules\\Vmbot\\RoleCapabilities\\${roleName}.psrc (the module folder`,
    `#   needs a manifest: New-ModuleManifest ...\\Vmbot\\Vmbot.psd1), then register ${roleName}.pssc.`,
    `# It exposes no Hyper-V cmdlet: only the wrapper functions below, whose parameters are mandatory and`,
    `# validated against the policy (VM name patterns per operation, the policy's Windows accounts, its`,
    `# templates). Not enforced here: the hosts of scopes and templates; vmbot checks those itself.`,
    `@{`,
    `    GUID = ${psQuote(stableGuid('psrc', roleName))}`,
    `    Author = 'vmbot'`,
    `    Description = ${psQuote(`vmbot guest administration wrappers, generated from ${source} (policy sha256 ${digest})`)}`,
    `    VisibleFunctions = @(${JEA_FUNCTIONS.map(psQuote).join(', ')})`,
    `    FunctionDefinitions = @(`,
    indent(JEA_FUNCTIONS.map((n) => psrcFunction(n, functions[n])).join(',\n'), 8),
    `    )`,
    `}`,
    ``,
  ].join('\n');

  const transcripts = opts.transcriptDirectory ?? JEA_DEFAULT_TRANSCRIPT_DIRECTORY;
  const pssc = [
    `# ${roleName}.pssc: JEA session configuration generated by \`vmbot policy export jea\` from`,
    `#   ${commentSafe(source)} (policy sha256 ${digest}).`,
    `# ${roleName}.psrc must be in the RoleCapabilities folder of a module on $env:PSModulePath first.`,
    `# Check, then register on each Hyper-V host (registering restarts WinRM):`,
    `#   Test-PSSessionConfigurationFile -Path .\\${roleName}.pssc`,
    `#   Register-PSSessionConfiguration -Path .\\${roleName}.pssc -Name vmbot -Force`,
    `# and point the bot at it: VMBOT_JEA_ENDPOINT=vmbot.`,
    `@{`,
    `    SchemaVersion = '2.0.0.0'`,
    `    GUID = ${psQuote(stableGuid('pssc', roleName))}`,
    `    Author = 'vmbot'`,
    `    Description = ${psQuote(`vmbot JEA endpoint, generated from ${source} (policy sha256 ${digest})`)}`,
    `    SessionType = 'RestrictedRemoteServer'`,
    `    TranscriptDirectory = ${psQuote(transcripts)}`,
    `    RunAsVirtualAccount = $true`,
    `    RunAsVirtualAccountGroups = 'Hyper-V Administrators'`,
    `    RoleDefinitions = @{`,
    `        ${psQuote(serviceGroup)} = @{ RoleCapabilities = ${psQuote(roleName)} }`,
    `    }`,
    `}`,
    ``,
  ].join('\n');

  return { psrc, pssc };
}
