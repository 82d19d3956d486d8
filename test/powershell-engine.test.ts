/**
 * The PowerShell side checked by the real PowerShell engine (7.6.9, System.Management.Automation,
 * hosted by tools/pshost) — which runs wherever the .NET SDK does:
 *  - the line the bot sends parses to exactly one Invoke-Vmbot call whose only argument is one
 *    single-quoted constant, for every injection-corpus value (the PowerShell tokenizer decides,
 *    typographic quotes included);
 *  - VmbotRunner.psm1's operations (validation, exact-VM resolution, state checks) run against
 *    stub Hyper-V functions. JSON framing (ConvertTo-Json) is not in the bare engine `run` uses:
 *    test/powershell.test.ts covers it end to end, on pwsh and on the engine host's shell mode.
 */
import { join } from 'node:path';
import { RUNNER_MODULE } from '../src/hyperv/powershell/backend';
import { asciiJson, invocation, psQuote } from '../src/hyperv/powershell/quote';
import { REPO } from './support/app';
import { injectionCorpus } from './support/injection';
import { describePshost, psParse, psRun } from './support/pshost';

/** Everything a harmless `Invoke-Vmbot -Request '<literal>'` line is made of. */
const SAFE_NODES = ['CommandAst', 'CommandParameterAst', 'NamedBlockAst', 'PipelineAst', 'ScriptBlockAst', 'StringConstantExpressionAst'];

describePshost('the bot\'s PowerShell parses as intended', () => {
  test.each([RUNNER_MODULE, join(REPO, 'test', 'fixtures', 'powershell', 'Hyper-V', 'Hyper-V.psm1')])('%s has no parse errors', (file) => {
    const r = psRun(`$errors = $null; [void][System.Management.Automation.Language.Parser]::ParseFile(${psQuote(file)}, [ref]$null, [ref]$errors); $errors.Count`);
    expect(r.errors).toEqual([]);
    expect(r.output).toEqual(['0']);
  });

  test('every corpus value, in every field, reaches the parser as one single-quoted constant of one command', () => {
    const corpus = injectionCorpus('/tmp/vmbot-canary');
    const requests = corpus.flatMap((v) => [
      { op: 'get', host: 'hv01', name: v },
      { op: 'grantConsole', host: v, id: '11111111-1111-4111-8111-111111111111', name: 'web01', account: v },
    ]);
    for (const request of requests) {
      const line = invocation('Invoke-Vmbot', request);
      const ast = psParse(line);
      expect(ast.errors).toEqual([]);
      expect([...ast.nodeTypes].sort()).toEqual(SAFE_NODES);
      expect(ast.commands).toHaveLength(1);
      const [cmd] = ast.commands;
      expect(cmd!.name).toBe('Invoke-Vmbot');
      expect(cmd!.elements.map((e) => e.type)).toEqual(['StringConstantExpressionAst', 'CommandParameterAst', 'StringConstantExpressionAst']);
      const arg = cmd!.elements[2]!;
      expect(arg.stringConstantType).toBe('SingleQuoted');
      expect(arg.value).toBe(asciiJson(request));
      expect(JSON.parse(arg.value!)).toEqual(request);
    }
  });

  test('control: the same check catches a value built into command text the naive way', () => {
    // Double quotes expand $(...): this is what node-powershell's $ template tag would produce.
    const ast = psParse(`Invoke-Vmbot -Request "${'$(New-Item -Path x)'}"`);
    expect(ast.nodeTypes).toContain('SubExpressionAst');
    expect(ast.commands.map((c) => c.name)).toEqual(['Invoke-Vmbot', 'New-Item']);
  });
});

/** Stub Hyper-V module (same module name, so `Hyper-V\Get-VM` resolves to it) recording every call. */
const STUB_HYPERV = `
$global:HvCalls = [System.Collections.Generic.List[string]]::new()
New-Module -Name Hyper-V -ScriptBlock {
  $script:vms = @(
    [pscustomobject]@{ Name = 'web01'; Id = [guid]'11111111-1111-4111-8111-111111111111'; State = 'Off'; Generation = 2; ProcessorCount = 2; MemoryStartup = 2GB; Uptime = [timespan]::Zero; ComputerName = 'HV01' },
    [pscustomobject]@{ Name = 'web02'; Id = [guid]'22222222-2222-4222-8222-222222222222'; State = 'Running'; Generation = 2; ProcessorCount = 4; MemoryStartup = 4GB; Uptime = [timespan]::FromSeconds(90); ComputerName = 'HV01' }
  )
  function Get-VM { param([string[]]$Name, [guid]$Id, [string[]]$ComputerName)
    $global:HvCalls.Add("Get-VM id=$Id name=$Name")
    if ($PSBoundParameters.ContainsKey('Id')) { return $script:vms | Where-Object { $_.Id -eq $Id } }
    if ($Name) { return $script:vms | Where-Object { $_.Name -like $Name[0] } }
    $script:vms }
  function Start-VM { param($VM) $global:HvCalls.Add("Start-VM $($VM.Id)"); $VM.State = 'Running' }
  function Stop-VM { param($VM, [switch]$TurnOff, [switch]$Force) $global:HvCalls.Add("Stop-VM $($VM.Id) TurnOff=$([bool]$TurnOff)"); $VM.State = 'Off' }
  function Grant-VMConnectAccess { param([guid[]]$VMId, [string[]]$UserName, [string[]]$ComputerName) $global:HvCalls.Add("Grant $VMId $UserName") }
  function Revoke-VMConnectAccess { param([guid[]]$VMId, [string[]]$UserName, [string[]]$ComputerName) $global:HvCalls.Add("Revoke $VMId $UserName") }
  function Get-VMConnectAccess { param([guid[]]$VMId, [string[]]$ComputerName) }
  function New-VM { param([string]$Name, [int]$Generation, [long]$MemoryStartupBytes, [string]$SwitchName, [string]$NewVHDPath, [uint64]$NewVHDSizeBytes, [string[]]$ComputerName)
    $global:HvCalls.Add("New-VM $Name gen=$Generation mem=$MemoryStartupBytes switch=$SwitchName vhd=$NewVHDPath size=$NewVHDSizeBytes on=$ComputerName")
    $vm = [pscustomobject]@{ Name = $Name; Id = [guid]'55555555-5555-4555-8555-555555555555'; State = 'Off'; Generation = $Generation; ProcessorCount = 1; MemoryStartup = $MemoryStartupBytes; Uptime = $null; ComputerName = 'HV01' }
    $script:vms += $vm
    $vm }
  function Set-VMProcessor { param($VM, [long]$Count) $global:HvCalls.Add("Set-VMProcessor $($VM.Name) $Count"); $VM.ProcessorCount = $Count }
  function Set-VMNetworkAdapterVlan { param($VM, [switch]$Access, [int]$VlanId) $global:HvCalls.Add("Set-VMNetworkAdapterVlan $($VM.Name) access=$([bool]$Access) $VlanId") }
  Export-ModuleMember -Function *
} | Import-Module
Import-Module -Name ${psQuote(RUNNER_MODULE)}
`;

/** Run runner operations (inside its module scope) on pscustomobject requests; then print the Hyper-V calls. */
function runOps(requests: Record<string, unknown>[], format = '$r | ForEach-Object { if ($_ -is [System.Collections.IDictionary]) { "$($_.name)|$($_.state)|$($_.host)|$($_.cpuCount)|$($_.memoryMB)|$($_.uptimeSec)" } else { "$_" } }') {
  const literal = (v: unknown): string =>
    typeof v === 'number' ? String(v) : psQuote(String(v));
  const objs = requests.map((r) => `[pscustomobject]@{ ${Object.entries(r).map(([k, v]) => `${k} = ${literal(v)}`).join('; ')} }`);
  const script = `${STUB_HYPERV}
$runner = Get-Module VmbotRunner
foreach ($req in @(${objs.join(', ')})) {
  try { $r = & $runner { param($q) Invoke-VmbotOperation $q } $req; ${format} } catch { "ERR $($_.FullyQualifiedErrorId) $($_.Exception.Message)" }
}
"CALLS $($global:HvCalls -join ' ; ')"`;
  const out = psRun(script);
  expect(out.errors).toEqual([]);
  return out.output as string[];
}

describePshost('VmbotRunner.psm1 operations in the PowerShell engine (stub Hyper-V module)', () => {
  const WEB01 = '11111111-1111-4111-8111-111111111111';
  const WEB02 = '22222222-2222-4222-8222-222222222222';

  test('get lists every VM and compares names exactly; it never passes the name to -Name', () => {
    const out = runOps([{ op: 'get', host: 'hv01', name: 'WEB01' }, { op: 'get', host: 'hv01', name: 'web0' }]);
    expect(out[0]).toBe('web01|Off|hv01|2|2048|0');
    expect(out[1]).toBe('CALLS Get-VM id= name= ; Get-VM id= name=');
  });

  test('a wildcard or any non-plain name is refused before Hyper-V is asked', () => {
    const out = runOps([{ op: 'get', host: 'hv01', name: 'web*' }, { op: 'start', host: 'hv01', id: WEB01, name: "web01'; Remove-Item x" }]);
    expect(out[0]).toMatch(/^ERR VmbotInvalidArgument invalid name$/);
    expect(out[1]).toMatch(/^ERR VmbotInvalidArgument/);
    expect(out[2]).toBe('CALLS ');
  });

  test('start acts on the VM by Id after checking name and state', () => {
    const out = runOps([
      { op: 'start', host: 'hv01', id: WEB01, name: 'web01' },
      { op: 'start', host: 'hv01', id: WEB02, name: 'web02' },
      { op: 'start', host: 'hv01', id: WEB01, name: 'web02' },
    ]);
    expect(out[0]).toBe('web01|Running|hv01|2|2048|0');
    expect(out[1]).toBe('ERR VmbotInvalidState Running');
    expect(out[2]).toMatch(/^ERR VmbotNotFound/);
    expect(out[3]).toContain(`Start-VM ${WEB01}`);
    expect(out[3]!.match(/Start-VM/g)).toHaveLength(1);
  });

  test('stop: graceful needs Running, turn off pulls the power; an unknown mode is refused', () => {
    const out = runOps([
      { op: 'stop', host: 'hv01', id: WEB02, name: 'web02', mode: 'turnoff' },
      { op: 'stop', host: 'hv01', id: WEB01, name: 'web01', mode: 'shutdown' },
      { op: 'stop', host: 'hv01', id: WEB01, name: 'web01', mode: 'TurnOff; Remove-Item x' },
    ]);
    expect(out[0]).toBe('web02|Off|hv01|4|4096|90');
    expect(out[1]).toBe('ERR VmbotInvalidState Off');
    expect(out[2]).toMatch(/^ERR VmbotInvalidArgument invalid mode/);
    expect(out[3]).toContain(`Stop-VM ${WEB02} TurnOff=True`);
    expect(out[3]!.match(/Get-VM/g)).toHaveLength(3); // turnoff: before and after; shutdown: before; bad mode: none
  });

  test('console grants go to exactly the validated account; a hostile account is refused', () => {
    const out = runOps([
      { op: 'grantConsole', host: 'hv01', id: WEB01, name: 'web01', account: 'CONTOSO\\alice' },
      { op: 'grantConsole', host: 'hv01', id: WEB01, name: 'web01', account: 'CONTOSO\\alice; Add-LocalGroupMember' },
      { op: 'grantConsole', host: 'hv01', id: WEB01, name: 'web01', account: '*' },
    ]);
    expect(out[0]).toBe('True');
    expect(out[1]).toMatch(/^ERR VmbotInvalidArgument invalid account/);
    expect(out[2]).toMatch(/^ERR VmbotInvalidArgument invalid account/);
    expect(out[3]).toBe(`CALLS Get-VM id=${WEB01} name= ; Grant ${WEB01} CONTOSO\\alice`);
  });

  test('create passes exactly the template values, checks the name is free, and refuses bad numbers', () => {
    const spec = { op: 'create', host: 'hv01', name: 'web-new01', generation: 2, cpuCount: 4, memoryMB: 4096, diskGB: 60, switch: 'vSwitch-Guest', vlan: 120 };
    const out = runOps([spec, { ...spec, name: 'web01' }, { ...spec, name: 'web-new02', cpuCount: 0 }, { ...spec, name: 'web-new03', switch: 'sw*' }]);
    expect(out[0]).toBe('web-new01|Off|hv01|4|4096|0');
    expect(out[1]).toMatch(/^ERR VmbotAlreadyExists/);
    expect(out[2]).toMatch(/^ERR VmbotInvalidArgument invalid cpuCount/);
    expect(out[3]).toMatch(/^ERR VmbotInvalidArgument invalid switch/);
    const calls = out[4]!.replace(/^CALLS /, '').split(' ; ').filter((c) => !c.startsWith('Get-VM'));
    expect(calls).toEqual([
      `New-VM web-new01 gen=2 mem=${4096 * 1024 ** 2} switch=vSwitch-Guest vhd=web-new01.vhdx size=${60 * 1024 ** 3} on=hv01`,
      'Set-VMProcessor web-new01 4',
      'Set-VMNetworkAdapterVlan web-new01 access=True 120',
    ]);
  });
});
