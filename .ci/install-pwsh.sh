#!/usr/bin/env bash
# Install PowerShell 7.6.9 (pwsh) as a .NET tool into .tools/ for the PowerShell-backend tests.
# 7.6.9 is the engine release tools/pshost hosts, so both passes run one PowerShell. The NuGet
# copy we reach serves 7.6.9, 7.6.10 and 7.7.0 (which does not install on .NET 10); earlier
# 7.6.x/7.5.x/7.4.x are not served. It targets .NET 10, the runtime CI has. If it cannot be
# installed, say why and exit 0: the backend suite still runs on the PowerShell engine host
# (tools/pshost), and skips only the pwsh pass.
set -uo pipefail
cd "$(dirname "$0")/.."
# No telemetry, no update checks: from dotnet, pwsh or the engine host.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off

VERSION=7.6.9
if [ -x .tools/pwsh ]; then echo "pwsh: $(.tools/pwsh -NoProfile -Command '$PSVersionTable.PSVersion.ToString()') in .tools/"; exit 0; fi
if ! command -v dotnet >/dev/null; then
  echo "pwsh: not installed (no .NET SDK on this machine); the backend tests run on the engine host only"
  exit 0
fi
if out="$(dotnet tool install --tool-path .tools PowerShell --version "$VERSION" 2>&1)"; then
  echo "pwsh: installed PowerShell $VERSION as a .NET tool in .tools/ ($(.tools/pwsh -NoProfile -Command '$PSVersionTable.PSVersion.ToString()'))"
  exit 0
fi
echo "pwsh: PowerShell $VERSION not installable; the backend tests run on the engine host only. Last lines:"
echo "$out" | tail -3
exit 0
