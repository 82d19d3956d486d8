#!/usr/bin/env bash
# Install PowerShell (pwsh) as a .NET tool into .tools/ for the PowerShell-backend tests.
# Tries versions whose target runtime the installed .NET can run, newest first. If none can be
# installed (on our machines the registry copy does not hold the PowerShell tool package), say
# exactly why and exit 0: the pwsh tests then skip with a message instead of failing the run.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -x .tools/pwsh ]; then echo "pwsh: $(.tools/pwsh -NoProfile -Command '$PSVersionTable.PSVersion.ToString()')"; exit 0; fi
if ! command -v dotnet >/dev/null; then
  echo "pwsh: not installed (no .NET SDK on this machine); PowerShell-backend tests will skip"
  exit 0
fi
runtime="$(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ {print $2}' | sort -V | tail -1)"
# PowerShell 7.6 targets .NET 10 (the runtime here); 7.5/7.4 need .NET 9/8 runtimes beside it.
versions="7.6.1 7.6.0 7.5.4 7.5.3 7.5.2 7.4.11 7.4.6"
for v in $versions; do
  if out="$(dotnet tool install --tool-path .tools PowerShell --version "$v" 2>&1)"; then
    echo "pwsh: installed PowerShell $v as a .NET tool ($(.tools/pwsh -NoProfile -Command '$PSVersionTable.PSVersion.ToString()'))"
    exit 0
  fi
  last="$out"
  echo "pwsh: PowerShell $v not installable: $(echo "$out" | tail -1)"
done
echo "pwsh: not installed; PowerShell-backend tests will skip. Last error (.NET runtime $runtime):"
echo "$last" | tail -3
exit 0
