/** The injection corpus for the PowerShell backend: every entry tries to run New-Item on a canary path. */
export function injectionCorpus(canary: string): string[] {
  const hit = `New-Item -ItemType File -Path '${canary}'`;
  const hitEnv = 'New-Item -ItemType File -Path $env:CANARY';
  return [
    `web01; ${hitEnv}`,
    `web01; ${hit}`,
    `$(${hitEnv})`,
    `web01$(${hitEnv})`,
    `web01\`; ${hitEnv}`,
    `web01 | ${hitEnv}`,
    `web01\n${hitEnv}`,
    `web01\r\n${hitEnv}`,
    `web01' ; ${hitEnv} ; '`,
    `web01'; ${hit}; '`,
    `web01\u2019; ${hitEnv}; \u2018`,
    `web01\u2018; ${hitEnv}; \u2019`,
    `web01\u201A; ${hitEnv}; \u201B`,
    `web01\u201B\u201B; ${hitEnv}`,
    `web01"; ${hitEnv}; "`,
    `\u201C$(${hitEnv})\u201D`,
    `@(${hitEnv})`,
    `\${env:CANARY}`,
    `& ${hitEnv}`,
    `. { ${hitEnv} }`,
    `--% ${hitEnv}`,
    `<# #> ${hitEnv}`,
    `web*`,
    `web?1`,
    `[w]eb01`,
    `web01\u0000; ${hitEnv}`,
    `web01\u2028${hitEnv}`,
    `${'a'.repeat(100_000)}'; ${hitEnv}; '`,
  ];
}

