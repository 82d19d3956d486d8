#!/usr/bin/env bash
# Build tools/pshost, the small test host for the PowerShell 7.6.9 engine (the NuGet package
# System.Management.Automation: parser, language and core cmdlets; it is not pwsh). The JEA
# export tests use it to parse the generated .psrc/.pssc as data files and to run the wrapper
# functions against a stub Hyper-V module. Without the .NET SDK, or if the build fails, say why
# and exit 0: those tests then skip with a message instead of failing the run.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null; then
  echo "pshost: not built (no .NET SDK on this machine: dotnet not found); the JEA engine tests will skip"
  exit 0
fi
if out="$(dotnet build tools/pshost/pshost.csproj -c Release -o tools/pshost/bin --nologo 2>&1)"; then
  echo "pshost: built tools/pshost/bin (PowerShell 7.6.9 engine, System.Management.Automation, on .NET $(dotnet --version))"
  exit 0
fi
echo "pshost: build failed; the JEA engine tests will skip. Last lines of the build output:"
echo "$out" | tail -5
exit 0
