#!/usr/bin/env bash
# Build tools/pshost, the PowerShell engine host: the PowerShell 7.6.9 engine (NuGet
# System.Management.Automation, plus the Utility and Management cmdlets of the same release) in
# a small .NET program; it is not pwsh. The backend suite drives it through node-powershell like
# pwsh; the JEA and engine tests parse and run PowerShell with it. Without the .NET SDK, or if the
# build fails, say why and exit 0 so the run still reports: in CI (CI=true, or
# VMBOT_REQUIRE_PSHOST=1, which .ci/run sets) those tests then FAIL saying why; elsewhere they skip.
set -uo pipefail
cd "$(dirname "$0")/.."
# No telemetry, no update checks: from dotnet, pwsh or the engine host.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off

if ! command -v dotnet >/dev/null; then
  echo "pshost: not built (no .NET SDK on this machine: dotnet not found); the engine-host tests will fail in CI, skip elsewhere"
  exit 0
fi
if out="$(dotnet build tools/pshost/pshost.csproj -c Release -o tools/pshost/bin --nologo 2>&1)"; then
  echo "pshost: built tools/pshost/bin, the PowerShell engine host (PowerShell 7.6.9 engine, on .NET $(dotnet --version))"
  exit 0
fi
echo "pshost: build failed; the engine-host tests will fail in CI, skip elsewhere. Last lines of the build output:"
echo "$out" | tail -5
exit 0
