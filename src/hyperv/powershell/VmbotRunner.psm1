# vmbot's side of each pwsh session. The bot sends exactly one kind of line:
#     Invoke-Vmbot -Request '<JSON, printable ASCII, single quotes doubled>'
# so nothing a user types is ever PowerShell code: the request is parsed as JSON here, every
# value is validated again, and each operation acts on one exact VM (by Id, never by a -Name
# pattern: Hyper-V's -Name accepts wildcards). Output is one compressed JSON line per call;
# errors are returned as data (error id + category, which are not localised) so that nothing
# reaches stderr.
Set-StrictMode -Version 3.0

# Same rules as src/hyperv/backend.ts (VM_NAME_RE) and src/policy/schema.ts.
$script:NamePattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'
$script:HostPattern = '^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$'
$script:AccountPattern = '^[A-Za-z0-9][A-Za-z0-9.-]{0,14}\\[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$'
$script:GuidPattern = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
$script:SwitchPattern = '^[^\x00-\x1F*?\[\]]{1,100}$'

function New-VmbotError([string]$Id, [string]$Message, [string]$Category = 'InvalidArgument') {
    [System.Management.Automation.ErrorRecord]::new(
        [System.Exception]::new($Message), $Id, [System.Management.Automation.ErrorCategory]$Category, $null)
}

# A field of the request, or $null (strict mode would throw on a missing property).
function Get-Field($Request, [string]$Field) {
    $property = $Request.PSObject.Properties[$Field]
    if ($null -eq $property) { return $null }
    $property.Value
}

function Get-Checked($Request, [string]$Field, [string]$Pattern) {
    $value = Get-Field $Request $Field
    if ($value -isnot [string] -or $value -cnotmatch $Pattern) {
        throw (New-VmbotError 'VmbotInvalidArgument' "invalid $Field")
    }
    $value
}

function Get-Number($Request, [string]$Field, [long]$Min, [long]$Max) {
    $value = Get-Field $Request $Field
    if ($value -isnot [long] -and $value -isnot [int]) { throw (New-VmbotError 'VmbotInvalidArgument' "invalid $Field") }
    if ($value -lt $Min -or $value -gt $Max) { throw (New-VmbotError 'VmbotInvalidArgument' "invalid $Field") }
    [long]$value
}

function ConvertTo-VmbotVm($Vm, [string]$ComputerName) {
    $uptime = 0
    if ($null -ne $Vm.Uptime) { $uptime = [int][math]::Floor($Vm.Uptime.TotalSeconds) }
    [ordered]@{
        id         = [string]$Vm.Id
        name       = [string]$Vm.Name
        host       = $ComputerName
        state      = [string]$Vm.State
        generation = [int]$Vm.Generation
        cpuCount   = [int]$Vm.ProcessorCount
        memoryMB   = [int][math]::Floor([long]$Vm.MemoryStartup / 1MB)
        uptimeSec  = $uptime
    }
}

# --- Transport: the Hyper-V module on the host (-ComputerName), or, when a JEA endpoint is
# configured, the wrapper functions that `vmbot policy export jea` generated for it, imported
# through implicit remoting (NoLanguage endpoints take parameters as data, not script text).
$script:JeaConfiguration = $null
$script:JeaModules = @{}

function Set-VmbotJeaEndpoint {
    [CmdletBinding()]
    param([Parameter(Mandatory)][ValidatePattern('^[A-Za-z0-9._-]{1,64}$')][string]$ConfigurationName)
    $script:JeaConfiguration = $ConfigurationName
}

function Get-JeaCommand([string]$ComputerName, [string]$Name) {
    if (-not $script:JeaModules.ContainsKey($ComputerName)) {
        $session = New-PSSession -ComputerName $ComputerName -ConfigurationName $script:JeaConfiguration -ErrorAction Stop
        $module = Import-PSSession -Session $session -CommandName 'Get-VmbotVM', 'Get-VmbotVMList', 'Start-VmbotVM', 'Stop-VmbotVM', 'Grant-VmbotConsole', 'Revoke-VmbotConsole', 'Get-VmbotConsoleAccess', 'Get-VmbotConsoleAccessList', 'New-VmbotVM' `
            -AllowClobber -DisableNameChecking -ErrorAction Stop
        $script:JeaModules[$ComputerName] = $module
    }
    Get-Command -Module $script:JeaModules[$ComputerName].Name -Name $Name -ErrorAction Stop
}

function Get-HvVmList([string]$ComputerName) {
    if ($script:JeaConfiguration) { return & (Get-JeaCommand $ComputerName 'Get-VmbotVMList') }
    Hyper-V\Get-VM -ComputerName $ComputerName -ErrorAction Stop
}

function Get-HvVm([string]$ComputerName, [string]$Id, [string]$Name) {
    if ($script:JeaConfiguration) { return & (Get-JeaCommand $ComputerName 'Get-VmbotVM') -Name $Name | Where-Object { [string]$_.Id -eq $Id } }
    Hyper-V\Get-VM -ComputerName $ComputerName -Id ([guid]$Id) -ErrorAction Stop
}

function Start-HvVm([string]$ComputerName, $Vm) {
    if ($script:JeaConfiguration) { return & (Get-JeaCommand $ComputerName 'Start-VmbotVM') -Name $Vm.Name | Out-Null }
    Hyper-V\Start-VM -VM $Vm -ErrorAction Stop -WarningAction SilentlyContinue
}

function Stop-HvVm([string]$ComputerName, $Vm, [bool]$TurnOff) {
    if ($script:JeaConfiguration) {
        $stop = Get-JeaCommand $ComputerName 'Stop-VmbotVM'
        if ($TurnOff) { return & $stop -Name $Vm.Name -TurnOff | Out-Null }
        return & $stop -Name $Vm.Name | Out-Null
    }
    if ($TurnOff) { return Hyper-V\Stop-VM -VM $Vm -TurnOff -Force -ErrorAction Stop -WarningAction SilentlyContinue }
    Hyper-V\Stop-VM -VM $Vm -Force -ErrorAction Stop -WarningAction SilentlyContinue
}

function Get-HvConsoleAccess([string]$ComputerName, $Vm) {
    if ($script:JeaConfiguration) { return & (Get-JeaCommand $ComputerName 'Get-VmbotConsoleAccess') -Name $Vm.Name }
    Hyper-V\Get-VMConnectAccess -ComputerName $ComputerName -VMId $Vm.Id -ErrorAction Stop
}

# Every grant on the host in one call: without -VMName/-VMId, Get-VMConnectAccess lists the
# grants on every VM (VMConnectAce: VMId, VMName, UserName). The JEA wrapper lists only the
# VMs its role manages.
function Get-HvConsoleAccessList([string]$ComputerName) {
    if ($script:JeaConfiguration) { return & (Get-JeaCommand $ComputerName 'Get-VmbotConsoleAccessList') }
    Hyper-V\Get-VMConnectAccess -ComputerName $ComputerName -ErrorAction Stop
}

function Grant-HvConsole([string]$ComputerName, $Vm, [string]$Account) {
    if ($script:JeaConfiguration) { return & (Get-JeaCommand $ComputerName 'Grant-VmbotConsole') -Name $Vm.Name -UserName $Account | Out-Null }
    Hyper-V\Grant-VMConnectAccess -ComputerName $ComputerName -VMId $Vm.Id -UserName $Account -ErrorAction Stop | Out-Null
}

function Revoke-HvConsole([string]$ComputerName, $Vm, [string]$Account) {
    if ($script:JeaConfiguration) { return & (Get-JeaCommand $ComputerName 'Revoke-VmbotConsole') -Name $Vm.Name -UserName $Account | Out-Null }
    Hyper-V\Revoke-VMConnectAccess -ComputerName $ComputerName -VMId $Vm.Id -UserName $Account -ErrorAction Stop | Out-Null
}

# --- Operations

# The one VM with this Id on this host, and it must still carry the expected name.
function Get-ExactVm([string]$ComputerName, [string]$Id, [string]$Name) {
    $vm = @(Get-HvVm $ComputerName $Id $Name)
    if ($vm.Count -ne 1 -or $vm[0].Name -ne $Name) {
        throw (New-VmbotError 'VmbotNotFound' "no VM with this id and name" 'ObjectNotFound')
    }
    $vm[0]
}

function Assert-State($Vm, [string[]]$Allowed) {
    if ([string]$Vm.State -notin $Allowed) {
        throw (New-VmbotError 'VmbotInvalidState' ([string]$Vm.State) 'InvalidOperation')
    }
}

function Invoke-VmbotOperation($Request) {
    $op = Get-Field $Request 'op'
    switch -CaseSensitive ($op) {
        'list' {
            $h = Get-Checked $Request 'host' $script:HostPattern
            , @(Get-HvVmList $h | ForEach-Object { ConvertTo-VmbotVm $_ $h })
        }
        'get' {
            # Every VM, compared by -eq: the name is never handed to -Name (a pattern there).
            $h = Get-Checked $Request 'host' $script:HostPattern
            $n = Get-Checked $Request 'name' $script:NamePattern
            , @(Get-HvVmList $h | Where-Object { $_.Name -eq $n } | ForEach-Object { ConvertTo-VmbotVm $_ $h })
        }
        'start' {
            $h = Get-Checked $Request 'host' $script:HostPattern
            $vm = Get-ExactVm $h (Get-Checked $Request 'id' $script:GuidPattern) (Get-Checked $Request 'name' $script:NamePattern)
            Assert-State $vm @('Off', 'Saved')
            Start-HvVm $h $vm
            ConvertTo-VmbotVm (Get-ExactVm $h $vm.Id $vm.Name) $h
        }
        'stop' {
            $h = Get-Checked $Request 'host' $script:HostPattern
            $mode = Get-Field $Request 'mode'
            if ($mode -cnotin @('turnoff', 'shutdown')) { throw (New-VmbotError 'VmbotInvalidArgument' 'invalid mode') }
            $vm = Get-ExactVm $h (Get-Checked $Request 'id' $script:GuidPattern) (Get-Checked $Request 'name' $script:NamePattern)
            if ($mode -ceq 'turnoff') {
                Assert-State $vm @('Running', 'Paused', 'Starting', 'Stopping', 'Saving', 'Pausing', 'Resuming')
                Stop-HvVm $h $vm $true
            } else {
                Assert-State $vm @('Running')
                Stop-HvVm $h $vm $false
            }
            ConvertTo-VmbotVm (Get-ExactVm $h $vm.Id $vm.Name) $h
        }
        'grantConsole' {
            $h = Get-Checked $Request 'host' $script:HostPattern
            $account = Get-Checked $Request 'account' $script:AccountPattern
            $vm = Get-ExactVm $h (Get-Checked $Request 'id' $script:GuidPattern) (Get-Checked $Request 'name' $script:NamePattern)
            Grant-HvConsole $h $vm $account
            $true
        }
        'revokeConsole' {
            $h = Get-Checked $Request 'host' $script:HostPattern
            $account = Get-Checked $Request 'account' $script:AccountPattern
            $vm = Get-ExactVm $h (Get-Checked $Request 'id' $script:GuidPattern) (Get-Checked $Request 'name' $script:NamePattern)
            $held = @(Get-HvConsoleAccess $h $vm | Where-Object { $_.UserName -eq $account })
            if ($held.Count -gt 0) { Revoke-HvConsole $h $vm $account }
            $true
        }
        'consoleAccess' {
            $h = Get-Checked $Request 'host' $script:HostPattern
            $vm = Get-ExactVm $h (Get-Checked $Request 'id' $script:GuidPattern) (Get-Checked $Request 'name' $script:NamePattern)
            , @(Get-HvConsoleAccess $h $vm | ForEach-Object { [string]$_.UserName })
        }
        'consoleAccessAll' {
            # The reconcile pass: one remote call per host instead of one per VM. Grouped by VM
            # Id here so that the reply is one entry per VM ({id, name, accounts}).
            $h = Get-Checked $Request 'host' $script:HostPattern
            $byVm = [ordered]@{}
            foreach ($ace in @(Get-HvConsoleAccessList $h)) {
                $id = [string]$ace.VMId
                if (-not $byVm.Contains($id)) { $byVm[$id] = [ordered]@{ id = $id; name = [string]$ace.VMName; accounts = [System.Collections.Generic.List[string]]::new() } }
                $byVm[$id].accounts.Add([string]$ace.UserName)
            }
            , @($byVm.Values | ForEach-Object { [ordered]@{ id = $_.id; name = $_.name; accounts = $_.accounts.ToArray() } })
        }
        'create' {
            $h = Get-Checked $Request 'host' $script:HostPattern
            $n = Get-Checked $Request 'name' $script:NamePattern
            $switchName = Get-Checked $Request 'switch' $script:SwitchPattern
            $generation = Get-Number $Request 'generation' 1 2
            $cpu = Get-Number $Request 'cpuCount' 1 64
            $memoryMB = Get-Number $Request 'memoryMB' 32 1048576
            $diskGB = Get-Number $Request 'diskGB' 1 65536
            if (@(Get-HvVmList $h | Where-Object { $_.Name -eq $n }).Count -gt 0) {
                throw (New-VmbotError 'VmbotAlreadyExists' 'a VM with this name exists' 'ResourceExists')
            }
            if ($script:JeaConfiguration) {
                # The endpoint's wrapper holds the template's values; only its name goes over.
                $template = Get-Checked $Request 'template' '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
                & (Get-JeaCommand $h 'New-VmbotVM') -Name $n -Template $template | Out-Null
                $created = @(Get-HvVmList $h | Where-Object { $_.Name -eq $n })
                if ($created.Count -ne 1) { throw (New-VmbotError 'VmbotNotFound' 'created VM not found' 'ObjectNotFound') }
                return ConvertTo-VmbotVm $created[0] $h
            }
            $vm = Hyper-V\New-VM -ComputerName $h -Name $n -Generation $generation -MemoryStartupBytes ($memoryMB * 1MB) `
                -SwitchName $switchName -NewVHDPath "$n.vhdx" -NewVHDSizeBytes ([uint64]$diskGB * 1GB) -ErrorAction Stop
            Hyper-V\Set-VMProcessor -VM $vm -Count $cpu -ErrorAction Stop
            if ($null -ne (Get-Field $Request 'vlan')) {
                $vlan = Get-Number $Request 'vlan' 1 4094
                Hyper-V\Set-VMNetworkAdapterVlan -VM $vm -Access -VlanId $vlan -ErrorAction Stop
            }
            ConvertTo-VmbotVm (Get-ExactVm $h $vm.Id $n) $h
        }
        'ping' { $PSVersionTable.PSVersion.ToString() }
        # Returns the value it was sent: proves data arrives verbatim (tests, health checks).
        'echo' { , (Get-Field $Request 'value') }
        default { throw (New-VmbotError 'VmbotInvalidArgument' 'unknown operation') }
    }
}

function Invoke-Vmbot {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string]$Request)
    $ErrorActionPreference = 'Stop'
    try {
        $parsed = ConvertFrom-Json -InputObject $Request -ErrorAction Stop
        $result = Invoke-VmbotOperation $parsed
        [ordered]@{ ok = $true; result = $result } | ConvertTo-Json -Depth 6 -Compress -WarningAction SilentlyContinue
    } catch {
        $record = $_
        [ordered]@{
            ok       = $false
            fqid     = [string]$record.FullyQualifiedErrorId
            category = [string]$record.CategoryInfo.Category
            message  = [string]$record.Exception.Message
        } | ConvertTo-Json -Compress
    }
}

Export-ModuleMember -Function Invoke-Vmbot, Set-VmbotJeaEndpoint
