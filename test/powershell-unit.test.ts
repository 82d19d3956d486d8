/**
 * The PowerShell backend's pure parts, which need no pwsh: how values are quoted for the
 * PowerShell tokenizer, how Hyper-V errors map to replies, and a missing pwsh.
 */
import { mapPsFailure } from '../src/hyperv/powershell/errors';
import { PwshPool, stripTerminalControls } from '../src/hyperv/powershell/pool';
import { asciiJson, invocation, psQuote } from '../src/hyperv/powershell/quote';
import { injectionCorpus } from './support/injection';

/** PowerShell's single-quoted string rule (about_Quoting_Rules; CharTraits.IsSingleQuote). */
const PS_SINGLE_QUOTES = new Set(["'", '\u2018', '\u2019', '\u201A', '\u201B']);

/** Read one single-quoted literal the way the PowerShell tokenizer does; returns value and where it ended. */
function readLiteral(text: string, start: number): { value: string; end: number } {
  if (!PS_SINGLE_QUOTES.has(text[start]!)) throw new Error('not a single-quoted literal');
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (!PS_SINGLE_QUOTES.has(c)) value += c;
    else if (PS_SINGLE_QUOTES.has(text[i + 1] ?? '')) value += text[++i];
    else return { value, end: i + 1 };
  }
  throw new Error('unterminated literal');
}

describe('quoting values for PowerShell', () => {
  test.each(["it's", '\u2018a\u2019', '\u201Ab\u201B', "''", '\u2019\u2019; Remove-Item x'])('psQuote(%j) reads back as exactly that value', (s) => {
    const q = psQuote(s);
    expect(readLiteral(q, 0)).toEqual({ value: s, end: q.length });
  });

  test('every corpus value becomes one single-line, printable-ASCII literal that ends where the line ends', () => {
    for (const value of injectionCorpus('/tmp/CANARY')) {
      const line = invocation('Invoke-Vmbot', { op: 'get', host: 'hv01', name: value });
      expect(line).toMatch(/^[\x20-\x7E]+$/);
      expect(line.startsWith("Invoke-Vmbot -Request '")).toBe(true);
      const lit = readLiteral(line, 'Invoke-Vmbot -Request '.length);
      expect(lit.end).toBe(line.length); // nothing after the literal: no second statement
      expect(JSON.parse(lit.value)).toEqual({ op: 'get', host: 'hv01', name: value });
    }
  });

  test('asciiJson escapes everything outside printable ASCII, including line separators', () => {
    expect(asciiJson({ a: 'x\u2028y\u2019z\n' })).toBe('{"a":"x\\u2028y\\u2019z\\n"}');
  });
});

describe('Hyper-V errors map by error id and category, not by (localised) text', () => {
  const call = { action: 'start', vm: 'web01', host: 'hv01' };
  test.each([
    ['InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM', 'InvalidArgument', 'not_found'],
    ['ObjectNotFound,Microsoft.HyperV.PowerShell.Commands.StopVM', 'ObjectNotFound', 'not_found'],
    ['InvalidState,Microsoft.HyperV.PowerShell.Commands.SetVM', 'InvalidOperation', 'invalid_state'],
    ['VmbotInvalidState', 'InvalidOperation', 'invalid_state'],
    ['VmbotAlreadyExists', 'ResourceExists', 'already_exists'],
    ['Unspecified,Microsoft.HyperV.PowerShell.Commands.GetVM', 'ConnectionError', 'host_unreachable'],
    ['PSSessionOpenFailed', 'OpenError', 'host_unreachable'],
    ['AccessDenied,Microsoft.HyperV.PowerShell.Commands.StartVM', 'PermissionDenied', 'access_denied'],
    ['OperationFailed,Microsoft.HyperV.PowerShell.Commands.StopVM', 'NotSpecified', 'failed'],
  ])('%s (%s) -> %s', (fqid, category, code) => {
    const e = mapPsFailure({ fqid, category, message: 'Texte localisé quelconque' }, call);
    expect(e.code).toBe(code);
    expect(e.message).not.toMatch(/localisé/); // raw host text stays out of chat...
    expect(e.detail).toContain(fqid); // ...and goes to the audit detail
  });

  test('a create that Hyper-V answers with "not found" names the template, not a missing VM', () => {
    // New-VM -SwitchName <unknown switch>: the VM being created cannot be "gone"; what is missing is
    // something the template names on that host.
    const e = mapPsFailure({ fqid: 'InvalidParameter,Microsoft.HyperV.PowerShell.Commands.NewVM', category: 'InvalidArgument', message: 'x' }, { action: 'create', vm: 'web-x1', host: 'hv01' });
    expect(e.code).toBe('failed');
    expect(e.message).toBe('Hyper-V could not create web-x1 on hv01: something its template names (virtual switch, folder) does not exist there. An administrator must check the template.');
  });

  test('the invalid-state reply reads like the simulator one', () => {
    expect(mapPsFailure({ fqid: 'VmbotInvalidState', category: 'InvalidOperation', message: 'Running' }, call).message).toBe('Cannot start web01: it is already running.');
  });
});

test('terminal control sequences around a reply are removed, the reply is untouched', () => {
  // What pwsh 7.6.9 on Linux writes around each command when TERM is unset or names a real terminal.
  const raw = '\x1b[?1h\x1b[?1l{"ok":true,"result":"caf\u00e9 \\u001b"}\n\x1b[?1h\x1b=\x1b[?1l\x1b>';
  expect(stripTerminalControls(raw)).toBe('{"ok":true,"result":"caf\u00e9 \\u001b"}\n');
  expect(stripTerminalControls('\x1b]0;title\x07\x1b[32;1mName\x1b[0m')).toBe('Name');
});

test('a pwsh that cannot be started is a clear configuration error', async () => {
  const err = await PwshPool.open({ size: 1, executable: '/nonexistent/pwsh', timeoutMs: 5000, setup: ['1'] }).then(
    () => null,
    (e: unknown) => e as { code: string; message: string },
  );
  expect(err?.code).toBe('config');
  expect(err?.message).toMatch(/PowerShell was not found \("\/nonexistent\/pwsh"\)/);
});
