import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJea, JEA_FUNCTIONS, vmNamePattern } from '../src/hyperv/powershell/jea';
import { psQuote } from '../src/hyperv/powershell/quote';
import { loadPolicyFile, validatePolicy } from '../src/policy/loader';
import type { Policy } from '../src/policy/schema';
import { vmbot } from './support/cli';
import { describePshost, psData, psParse, psRun, type PsRunError } from './support/pshost';

const REPO = join(__dirname, '..');
const EXAMPLE = join(REPO, 'policies', 'example.yaml');
const NO_STACK = /\n\s+at .+\(?.*:\d+:\d+\)?/;

const dirs: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-jea-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const example = (): Policy => loadPolicyFile(EXAMPLE).policy;

/** The example policy, changed by `edit` on a plain copy, validated again. */
function variant(edit: (p: Record<string, any>) => void): Policy {
  const raw = JSON.parse(JSON.stringify(example())) as Record<string, any>;
  edit(raw);
  return validatePolicy('variant', raw).policy;
}

/** Write both files of an export to a fresh directory. */
function writeExport(policy: Policy, opts: Parameters<typeof exportJea>[1] = {}) {
  const dir = tmp();
  const { psrc, pssc } = exportJea(policy, opts);
  const files = { dir, psrc: join(dir, 'VmbotGuestAdmin.psrc'), pssc: join(dir, 'VmbotGuestAdmin.pssc') };
  writeFileSync(files.psrc, psrc);
  writeFileSync(files.pssc, pssc);
  return files;
}

describe('psQuote', () => {
  test('wraps in single quotes and doubles all five single-quote characters', () => {
    expect(psQuote('web01')).toBe("'web01'");
    expect(psQuote("a'b\u2018c\u2019d\u201Ae\u201Bf")).toBe("'a''b\u2018\u2018c\u2019\u2019d\u201A\u201Ae\u201B\u201Bf'");
    expect(psQuote('$(Remove-Item x) `n "q"')).toBe('\'$(Remove-Item x) `n "q"\'');
    expect(psQuote('')).toBe("''");
  });
});

describe('exportJea (text)', () => {
  const { psrc, pssc } = exportJea(example(), { source: 'policies/example.yaml' });

  test('the .psrc defines every wrapper, lists it in VisibleFunctions and exposes no cmdlet', () => {
    for (const f of JEA_FUNCTIONS) expect(psrc).toContain(`Name        = '${f}'`);
    expect(psrc).toMatch(/VisibleFunctions = @\('Get-VmbotVM', 'Get-VmbotVMList', 'Start-VmbotVM', 'Stop-VmbotVM', 'Grant-VmbotConsole', 'Revoke-VmbotConsole', 'Get-VmbotConsoleAccess', 'Get-VmbotConsoleAccessList', 'New-VmbotVM'\)/);
    expect(psrc).not.toMatch(/VisibleCmdlets|VisibleExternalCommands|VisibleProviders/);
    // Every Hyper-V cmdlet call is module-qualified.
    expect(psrc.match(/(?<![\\\w-])(Get|Start|Stop|New|Set|Grant|Revoke)-VM\w*/g)).toBeNull();
  });

  test('name patterns come from the scopes with VM operations: the auditors\' "*" scope widens nothing', () => {
    expect(psrc).toContain(`[ValidatePattern('${vmNamePattern(['web*', 'db*'])}')]`);
    expect(psrc).not.toContain('(?:[A-Za-z0-9._-]*');
    expect(vmNamePattern(['web*', 'db?', 'a.b'])).toBe('^(?=(?-i:[A-Za-z0-9][A-Za-z0-9._-]{0,99})\\z)(?:web[A-Za-z0-9._-]*|db[A-Za-z0-9._-]|a\\.b)\\z');
    expect(vmNamePattern([])).toBe('(?!)');
  });

  test('the .pssc: restricted endpoint, virtual account in Hyper-V Administrators, the role for the bot group', () => {
    expect(pssc).toContain(`SessionType = 'RestrictedRemoteServer'`);
    expect(pssc).toContain('RunAsVirtualAccount = $true');
    expect(pssc).toContain(`RunAsVirtualAccountGroups = 'Hyper-V Administrators'`);
    expect(pssc).toMatch(/TranscriptDirectory = '.+'/);
    expect(pssc).toContain(`'CONTOSO\\vmbot-svc' = @{ RoleCapabilities = 'VmbotGuestAdmin' }`);
    expect(pssc).toContain('policies/example.yaml');
    expect(pssc).toContain('Register-PSSessionConfiguration -Path');
    expect(pssc).toMatch(/RoleCapabilities folder/);
  });

  test('-TurnOff exists only when an assigned role with allowTurnOff may stop VMs', () => {
    expect(psrc).toContain('[switch] $TurnOff');
    const none = exportJea(variant((p) => (p.roles['guest-admin-turnoff'].allowTurnOff = false)));
    expect(none.psrc).not.toContain('TurnOff');
  });

  test('the output is deterministic', () => {
    expect(exportJea(example(), { source: 'policies/example.yaml' })).toEqual({ psrc, pssc });
  });

  test('an invalid group or role name is refused', () => {
    expect(() => exportJea(example(), { serviceGroup: "CONTOSO\\x'; evil" })).toThrow(/DOMAIN\\group/);
    expect(() => exportJea(example(), { serviceGroup: 'vmbot-svc' })).toThrow(/DOMAIN\\group/);
    expect(() => exportJea(example(), { roleName: '../x' })).toThrow(/role name/);
  });

  test('templates differing only in case are refused (ValidateSet ignores case)', () => {
    const p = variant((x) => (x.templates['Web-Small'] = { ...x.templates['web-small'] }));
    expect(() => exportJea(p)).toThrow(/differ only in case/);
  });
});

describePshost('JEA files read as PowerShell data files', () => {
  const files = writeExport(example(), { source: 'policies/example.yaml' });

  test('the .psrc: VisibleFunctions, FunctionDefinitions as script blocks, no VisibleCmdlets', () => {
    const r = psData(files.psrc);
    expect(r.error).toBeUndefined();
    const v = r.value!;
    expect(v.VisibleFunctions).toEqual([...JEA_FUNCTIONS]);
    expect(v).not.toHaveProperty('VisibleCmdlets');
    expect(v).not.toHaveProperty('VisibleExternalCommands');
    const defs = v.FunctionDefinitions as { Name: string; ScriptBlock: string }[];
    expect(defs.map((d) => d.Name)).toEqual([...JEA_FUNCTIONS]);
    for (const d of defs) expect(d.ScriptBlock).toMatch(/^\{\s*\[CmdletBinding\(\)\]/);
    expect(v.GUID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  test('the .pssc: SessionType, virtual account, transcripts, RoleDefinitions', () => {
    const r = psData(files.pssc);
    expect(r.error).toBeUndefined();
    expect(r.value).toMatchObject({
      SessionType: 'RestrictedRemoteServer',
      RunAsVirtualAccount: true,
      RunAsVirtualAccountGroups: 'Hyper-V Administrators',
      RoleDefinitions: { 'CONTOSO\\vmbot-svc': { RoleCapabilities: 'VmbotGuestAdmin' } },
    });
    expect(r.value!.TranscriptDirectory).toEqual(expect.any(String));
  });

  test('the only commands in the .psrc are Hyper-V\\ cmdlets and Where-Object', () => {
    const parsed = psParse(readFileSync(files.psrc, 'utf8'));
    expect(parsed.errors).toEqual([]);
    const names = new Set(parsed.commands.map((c) => c.name));
    expect([...names].sort()).toEqual([
      'Hyper-V\\Get-VM', 'Hyper-V\\Get-VMConnectAccess', 'Hyper-V\\Grant-VMConnectAccess', 'Hyper-V\\New-VM', 'Hyper-V\\Revoke-VMConnectAccess',
      'Hyper-V\\Set-VMNetworkAdapterVlan', 'Hyper-V\\Set-VMProcessor', 'Hyper-V\\Start-VM', 'Hyper-V\\Stop-VM', 'Where-Object',
    ]);
  });

  test('hostile policy strings stay single-quoted constants: a switch name and the source path', () => {
    const evil = "Tenant'Web\u2019 $(Remove-Item C:\\x) `\"; Stop-Computer #";
    const source = "p'\u2018olicy.yaml\n$(Stop-Computer)\r\n}; Remove-Item x #";
    const f = writeExport(variant((p) => (p.templates['web-small'].switch = evil)), { source });
    const psrc = psData(f.psrc);
    expect(psrc.error).toBeUndefined();
    expect(psrc.value!.Description).toContain(source);
    expect(psData(f.pssc).value!.Description).toContain(source);
    const parsed = psParse(readFileSync(f.psrc, 'utf8'));
    expect(parsed.errors).toEqual([]);
    expect(parsed.commands.map((c) => c.name)).not.toContain('Remove-Item');
    expect(parsed.commands.map((c) => c.name)).not.toContain('Stop-Computer');
    const newVm = parsed.commands.filter((c) => c.name === 'Hyper-V\\New-VM');
    const switches = newVm.map((c) => c.elements[c.elements.findIndex((e) => e.parameterName === 'SwitchName') + 1]!);
    expect(switches).toContainEqual(expect.objectContaining({ type: 'StringConstantExpressionAst', stringConstantType: 'SingleQuoted', value: evil }));
  });
});

/** A module named Hyper-V whose cmdlets record their calls, so `Hyper-V\Start-VM` resolves to it. */
const STUB_HYPERV = String.raw`
$global:VmbotCalls = [System.Collections.Generic.List[string]]::new()
New-Module -Name Hyper-V -ScriptBlock {
    $script:vms = @(
        [pscustomobject]@{ Name = 'web01'; Id = [guid]'00000000-0000-4000-8000-000000000001' }
        [pscustomobject]@{ Name = 'web02'; Id = [guid]'00000000-0000-4000-8000-000000000002' }
        [pscustomobject]@{ Name = 'db01'; Id = [guid]'00000000-0000-4000-8000-000000000003' }
        [pscustomobject]@{ Name = 'dc01'; Id = [guid]'00000000-0000-4000-8000-000000000004' }
        [pscustomobject]@{ Name = 'webdup'; Id = [guid]'00000000-0000-4000-8000-000000000005' }
        [pscustomobject]@{ Name = 'webdup'; Id = [guid]'00000000-0000-4000-8000-000000000006' }
    )
    function Get-VM {
        [CmdletBinding()] param([Parameter(Position = 0)][string[]]$Name)
        $global:VmbotCalls.Add('Get-VM ' + ($Name -join ','))
        # Like Hyper-V: -Name is a wildcard pattern.
        if ($Name) { $script:vms | Where-Object { $_.Name -like $Name[0] } } else { $script:vms }
    }
    function Start-VM { [CmdletBinding()] param([Parameter(Mandatory)][object]$VM) $global:VmbotCalls.Add("Start-VM -VM $($VM.Name) $($VM.Id)") }
    function Stop-VM {
        [CmdletBinding()] param([Parameter(Mandatory)][object]$VM, [switch]$TurnOff, [switch]$Force)
        $global:VmbotCalls.Add("Stop-VM -VM $($VM.Name) TurnOff=$TurnOff Force=$Force")
    }
    function Grant-VMConnectAccess { [CmdletBinding()] param([guid[]]$VMId, [string[]]$UserName) $global:VmbotCalls.Add("Grant-VMConnectAccess -VMId $VMId -UserName $UserName") }
    function Revoke-VMConnectAccess { [CmdletBinding()] param([guid[]]$VMId, [string[]]$UserName) $global:VmbotCalls.Add("Revoke-VMConnectAccess -VMId $VMId -UserName $UserName") }
    function Get-VMConnectAccess {
        [CmdletBinding()] param([guid[]]$VMId)
        if ($VMId) { $global:VmbotCalls.Add("Get-VMConnectAccess -VMId $VMId"); return [pscustomobject]@{ UserName = 'CONTOSO\alice' } }
        # Like Hyper-V without -VMName/-VMId: every grant on the host, managed VMs or not.
        $global:VmbotCalls.Add('Get-VMConnectAccess')
        [pscustomobject]@{ VMId = [guid]'00000000-0000-4000-8000-000000000001'; VMName = 'web01'; UserName = 'CONTOSO\alice' }
        [pscustomobject]@{ VMId = [guid]'00000000-0000-4000-8000-000000000004'; VMName = 'dc01'; UserName = 'CONTOSO\alice' }
        [pscustomobject]@{ VMId = [guid]'00000000-0000-4000-8000-000000000003'; VMName = 'db01'; UserName = 'CONTOSO\bob' }
    }
    function New-VM {
        [CmdletBinding()] param([string]$Name, [int]$Generation, [long]$MemoryStartupBytes, [string]$SwitchName, [string]$NewVHDPath, [uint64]$NewVHDSizeBytes)
        $global:VmbotCalls.Add("New-VM -Name $Name -Generation $Generation -MemoryStartupBytes $MemoryStartupBytes -SwitchName $SwitchName -NewVHDPath $NewVHDPath -NewVHDSizeBytes $NewVHDSizeBytes")
        [pscustomobject]@{ Name = $Name; Id = [guid]'00000000-0000-4000-8000-0000000000ff' }
    }
    function Set-VMProcessor { [CmdletBinding()] param([Parameter(Mandatory)][object]$VM, [long]$Count) $global:VmbotCalls.Add("Set-VMProcessor -VM $($VM.Name) -Count $Count") }
    function Set-VMNetworkAdapterVlan {
        [CmdletBinding()] param([Parameter(Mandatory)][object]$VM, [switch]$Access, [int]$VlanId)
        $global:VmbotCalls.Add("Set-VMNetworkAdapterVlan -VM $($VM.Name) -Access=$Access -VlanId $VlanId")
    }
    Export-ModuleMember -Function *
} | Import-Module
`;

interface CallResult {
  output: (string | null)[];
  /** What reached the stub Hyper-V module, in order. */
  calls: string[];
  /** Everything that landed in $Error during the call, oldest first (terminating errors too). */
  errors: PsRunError[];
}

describePshost('JEA wrapper functions run by the PowerShell 7.6.9 engine against a stub Hyper-V module', () => {
  // One engine process runs every case (opening a runspace takes about a second): the stub
  // module and the wrappers are defined once, and each case starts with no calls and no errors.
  const invocations: string[] = [];
  let results: CallResult[] = [];

  /** Register a wrapper invocation (PowerShell text); its result is there once beforeAll ran. */
  function call(invocation: string): () => CallResult {
    const i = invocations.push(invocation) - 1;
    return () => results[i]!;
  }

  beforeAll(() => {
    const { psrc } = writeExport(example(), { source: 'policies/example.yaml' });
    const data = psData(psrc);
    if (data.value === undefined) throw new Error(data.error);
    // What JEA does with FunctionDefinitions: each script block becomes a function of that name.
    const definitions = (data.value.FunctionDefinitions as { Name: string; ScriptBlock: string }[]).map((d) => `function ${d.Name} ${d.ScriptBlock}`);
    const cases = invocations.map(
      (inv, i) =>
        `$global:VmbotCalls.Clear(); $Error.Clear(); 'VMBOT-CASE ${i}'\n` +
        `try {\n${inv}\n} catch { }\n` +
        `$global:VmbotCalls | ForEach-Object { 'VMBOT-CALL ' + $_ }\n` +
        `[array]::Reverse($Error); $Error | ForEach-Object { 'VMBOT-ERR ' + $_.FullyQualifiedErrorId + [char]9 + $_.CategoryInfo.Category + [char]9 + $_.Exception.Message }`,
    );
    const run = psRun([STUB_HYPERV, ...definitions, ...cases].join('\n'));
    expect(run.errors).toEqual([]);
    results = [];
    for (const line of run.output) {
      const m = /^VMBOT-(CASE|CALL|ERR) ([^]*)$/.exec(line ?? '');
      if (m?.[1] === 'CASE') results.push({ output: [], calls: [], errors: [] });
      else if (m?.[1] === 'CALL') results.at(-1)!.calls.push(m[2]!);
      else if (m?.[1] === 'ERR') {
        const [fqid, category, ...message] = m[2]!.split('\t');
        results.at(-1)!.errors.push({ fqid: fqid!, category: category!, message: message.join('\t') });
      } else results.at(-1)!.output.push(line);
    }
    expect(results).toHaveLength(invocations.length);
  });

  const rejected = (errors: PsRunError[], fn: string) =>
    expect(errors).toEqual([expect.objectContaining({ fqid: `ParameterArgumentValidationError,${fn}`, category: 'InvalidData' })]);

  const startWeb01 = call('Start-VmbotVM -Name web01');
  test('Start-VmbotVM -Name web01 reaches Hyper-V\\Start-VM with that exact VM', () => {
    const r = startWeb01();
    expect(r.errors).toEqual([]);
    expect(r.calls).toEqual(['Get-VM web01', 'Start-VM -VM web01 00000000-0000-4000-8000-000000000001']);
  });

  const startUpper = call('Start-VmbotVM -Name WEB01');
  test('names are case-insensitive, like Hyper-V: WEB01 is web01', () => {
    const r = startUpper();
    expect(r.errors).toEqual([]);
    expect(r.calls).toContain('Start-VM -VM web01 00000000-0000-4000-8000-000000000001');
  });

  test.each(['dc01', 'evil01'].map((name) => [name, call(`Start-VmbotVM -Name ${psQuote(name)}`)] as const))(
    'Start-VmbotVM -Name %s (in no scope with Start) is rejected before any Hyper-V call',
    (_name, result) => {
      const r = result();
      rejected(r.errors, 'Start-VmbotVM');
      expect(r.calls).toEqual([]);
    },
  );

  test.each(
    [
      ['a wildcard', 'web*'],
      ['a ? wildcard', 'web?1'],
      ['a [ ] wildcard', 'web[0]1'],
      ['an injection attempt', "web01'; Remove-Item x"],
      ['a subexpression', 'web$(Remove-Item x)'],
      ['a trailing newline', 'web01\n'],
      ['a space', 'web01 '],
      ['a look-alike letter (Kelvin sign)', 'web\u212A1'],
      ['an empty name', ''],
    ].map(([what, name]) => [what!, call(`Start-VmbotVM -Name ${psQuote(name!)}`)] as const),
  )('Start-VmbotVM rejects %s', (_what, result) => {
    const r = result();
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.fqid).toMatch(/^ParameterArgumentValidationError(EmptyStringNotAllowed)?,Start-VmbotVM$/);
    expect(r.calls).toEqual([]);
  });

  const dup = call('Start-VmbotVM -Name webdup');
  test('a name shared by two VMs is refused, not acted on twice', () => {
    const r = dup();
    expect(r.errors).toEqual([expect.objectContaining({ fqid: 'VmbotAmbiguousName,Start-VmbotVM', category: 'InvalidResult' })]);
    expect(r.calls.filter((c) => c.startsWith('Start-VM'))).toEqual([]);
  });

  const missing = call('Start-VmbotVM -Name web99');
  test('a valid name with no VM is VmbotNotFound', () => {
    expect(missing().errors).toEqual([expect.objectContaining({ fqid: 'VmbotNotFound,Start-VmbotVM', category: 'ObjectNotFound' })]);
  });

  const stopWeb = call('Stop-VmbotVM -Name web01');
  const turnOffDb = call('Stop-VmbotVM -Name db01 -TurnOff');
  const turnOffWeb = call('Stop-VmbotVM -Name web01 -TurnOff');
  test('Stop-VmbotVM shuts down; -TurnOff only where a turn-off role is assigned (db, not web)', () => {
    expect(stopWeb().errors).toEqual([]);
    expect(stopWeb().calls).toContain('Stop-VM -VM web01 TurnOff=False Force=True');
    expect(turnOffDb().errors).toEqual([]);
    expect(turnOffDb().calls).toContain('Stop-VM -VM db01 TurnOff=True Force=True');
    expect(turnOffWeb().errors).toEqual([expect.objectContaining({ fqid: 'VmbotTurnOffNotAllowed,Stop-VmbotVM', category: 'PermissionDenied' })]);
    expect(turnOffWeb().calls).toEqual([]);
  });

  const grant = call(`Grant-VmbotConsole -Name web01 -UserName ${psQuote('CONTOSO\\alice')}`);
  test('Grant-VmbotConsole grants a policy account on the exact VM', () => {
    expect(grant().errors).toEqual([]);
    expect(grant().calls).toContain('Grant-VMConnectAccess -VMId 00000000-0000-4000-8000-000000000001 -UserName CONTOSO\\alice');
  });

  test.each(
    ['CONTOSO\\mallory', 'CONTOSO\\Domain Admins', '*'].map((account) => [account, call(`Grant-VmbotConsole -Name web01 -UserName ${psQuote(account)}`)] as const),
  )('Grant-VmbotConsole rejects the account %s (not in the policy)', (_account, result) => {
    rejected(result().errors, 'Grant-VmbotConsole');
    expect(result().calls).toEqual([]);
  });

  const revoke = call(`Revoke-VmbotConsole -Name db01 -UserName ${psQuote('CONTOSO\\bob')}`);
  const access = call('(Get-VmbotConsoleAccess -Name web01).UserName');
  test('Revoke-VmbotConsole and Get-VmbotConsoleAccess act on the exact VM', () => {
    expect(revoke().errors).toEqual([]);
    expect(revoke().calls).toContain('Revoke-VMConnectAccess -VMId 00000000-0000-4000-8000-000000000003 -UserName CONTOSO\\bob');
    expect(access().errors).toEqual([]);
    expect(access().calls).toContain('Get-VMConnectAccess -VMId 00000000-0000-4000-8000-000000000001');
    expect(access().output).toEqual(['CONTOSO\\alice']);
  });

  const grants = call(`Get-VmbotConsoleAccessList | ForEach-Object { $_.VMName + ' ' + $_.VMId + ' ' + $_.UserName }`);
  test('Get-VmbotConsoleAccessList lists the grants on managed VMs in one call; a grant on an unmanaged VM (dc01) is not listed', () => {
    expect(grants().errors).toEqual([]);
    expect(grants().calls).toEqual(['Get-VMConnectAccess']);
    expect(grants().output).toEqual(['web01 00000000-0000-4000-8000-000000000001 CONTOSO\\alice', 'db01 00000000-0000-4000-8000-000000000003 CONTOSO\\bob']);
  });

  const list = call('Get-VmbotVMList | ForEach-Object Name');
  test("Get-VmbotVMList returns only VMs in the policy's scopes", () => {
    expect(list().errors).toEqual([]);
    expect(list().output).toEqual(['web01', 'web02', 'db01', 'webdup', 'webdup']);
  });

  const getWeb = call('Get-VmbotVM -Name web01 | ForEach-Object { $_.Name + " " + $_.Id }');
  const getDc = call('Get-VmbotVM -Name dc01');
  test('Get-VmbotVM returns the VM with exactly that name, only inside the scopes', () => {
    expect(getWeb().output).toEqual(['web01 00000000-0000-4000-8000-000000000001']);
    rejected(getDc().errors, 'Get-VmbotVM');
    expect(getDc().calls).toEqual([]);
  });

  const noTemplate = call('New-VmbotVM -Name web03 -Template nosuch');
  test('New-VmbotVM -Template nosuch is rejected', () => {
    rejected(noTemplate().errors, 'New-VmbotVM');
    expect(noTemplate().calls).toEqual([]);
  });

  const create = call('New-VmbotVM -Name web03 -Template web-small | ForEach-Object Name');
  test("New-VmbotVM -Template web-small creates the VM with exactly the template's values", () => {
    const r = create();
    expect(r.errors).toEqual([]);
    expect(r.output).toEqual(['web03']);
    expect(r.calls).toEqual([
      'Get-VM ',
      `New-VM -Name web03 -Generation 2 -MemoryStartupBytes ${4096 * 1024 ** 2} -SwitchName Tenant-Web -NewVHDPath web03.vhdx -NewVHDSizeBytes ${60 * 1024 ** 3}`,
      'Set-VMProcessor -VM web03 -Count 2',
      'Set-VMNetworkAdapterVlan -VM web03 -Access=True -VlanId 110',
    ]);
  });

  const outside = call('New-VmbotVM -Name db03 -Template web-small');
  const exists = call('New-VmbotVM -Name web01 -Template web-ha');
  test('New-VmbotVM refuses a name outside the template scope and an existing name', () => {
    rejected(outside().errors, 'New-VmbotVM');
    expect(outside().calls).toEqual([]);
    expect(exists().errors).toEqual([expect.objectContaining({ fqid: 'VmbotAlreadyExists,New-VmbotVM', category: 'ResourceExists' })]);
    expect(exists().calls.filter((c) => c.startsWith('New-VM'))).toEqual([]);
  });

  const extra = call('New-VmbotVM -Name web03 -Template web-small -MemoryStartupBytes 1TB');
  test('the caller cannot pass the template values', () => {
    expect(extra().errors).toEqual([expect.objectContaining({ fqid: 'NamedParameterNotFound,New-VmbotVM' })]);
    expect(extra().calls).toEqual([]);
  });
});

describe('vmbot policy export jea', () => {
  test('writes both files and says so', () => {
    const out = join(tmp(), 'jea');
    const r = vmbot(['policy', 'export', 'jea', EXAMPLE, '--out', out, '--group', 'CONTOSO\\vmbot-svc']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['VmbotGuestAdmin.psrc', 'VmbotGuestAdmin.pssc']) {
      expect(existsSync(join(out, f))).toBe(true);
      expect(r.stdout).toContain(join(out, f));
    }
    expect(readFileSync(join(out, 'VmbotGuestAdmin.psrc'), 'utf8')).toBe(exportJea(example(), { source: EXAMPLE }).psrc);
  });

  test('--group sets the role definition', () => {
    const out = tmp();
    expect(vmbot(['policy', 'export', 'jea', EXAMPLE, '--out', out, '--group', 'CONTOSO\\hv-bot']).code).toBe(0);
    expect(readFileSync(join(out, 'VmbotGuestAdmin.pssc'), 'utf8')).toContain(`'CONTOSO\\hv-bot' = @{ RoleCapabilities = 'VmbotGuestAdmin' }`);
  });

  test.each([
    ['missing --out', ['policy', 'export', 'jea', EXAMPLE]],
    // The group is site-specific: no silent default (the fixture's CONTOSO\vmbot-svc).
    ['missing --group', ['policy', 'export', 'jea', EXAMPLE, '--out', '/tmp/x']],
    ['missing policy file', ['policy', 'export', 'jea', '--out', '/tmp/x']],
    ['no format', ['policy', 'export']],
    ['an unknown format', ['policy', 'export', 'azman', EXAMPLE, '--out', '/tmp/x']],
    ['an unknown option', ['policy', 'export', 'jea', EXAMPLE, '--out', '/tmp/x', '--force']],
    ['a group not written DOMAIN\\group', ['policy', 'export', 'jea', EXAMPLE, '--out', '/tmp/x', '--group', 'vmbot-svc']],
  ])('%s is a usage error (exit 2)', (_what, args) => {
    const r = vmbot(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage|usage|DOMAIN\\group/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  test('a policy that fails lint is refused and nothing is written', () => {
    const dir = tmp();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE, 'utf8').replace('      - Allow Output from Virtual Machine\n', '      - Allow Output from Virtual Machine\n      - Reconfigure Virtual Machine\n'));
    const out = join(dir, 'out');
    const r = vmbot(['policy', 'export', 'jea', bad, '--out', out, '--group', 'CONTOSO\\vmbot-svc']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Reconfigure Virtual Machine');
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(existsSync(out)).toBe(false);
  });
});
