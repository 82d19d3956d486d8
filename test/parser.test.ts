import { ALL_COMMANDS } from '../commands/index';
import { VmbotError } from '../src/core/errors';
import { parseCommand, tokenize } from '../src/core/parser';
import { openTestApp, type TestApp } from './support/app';

const parse = (text: string) => parseCommand(text, ALL_COMMANDS);

/** The usage error a line produces (fails the test if it parses). */
function usageError(text: string): VmbotError {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(VmbotError);
    return e as VmbotError;
  }
  throw new Error(`"${text}" parsed, but it should have been rejected`);
}

describe('parser: command forms', () => {
  test.each(['/vm start web01', 'vm start web01', 'start web01', 'START web01', '/VM Start web01', '  start   web01  '])('"%s" is start web01', (text) => {
    const p = parse(text)!;
    expect(p.command.name).toBe('start');
    expect(p.args).toEqual({ vm: 'web01' });
  });

  test('empty text (or only "/vm") parses to nothing, so the caller shows help', () => {
    expect(parse('')).toBeNull();
    expect(parse('   ')).toBeNull();
    expect(parse('/vm')).toBeNull();
  });

  test('a boolean flag is read: stop web01 --turnoff', () => {
    expect(parse('stop web01 --turnoff')!.args).toEqual({ vm: 'web01', turnoff: true });
    expect(parse('stop web01')!.args).toEqual({ vm: 'web01', turnoff: false });
  });

  test('a number flag is read, inline or as the next word', () => {
    expect(parse('console web01 --minutes 15')!.args).toMatchObject({ vm: 'web01', minutes: 15 });
    expect(parse('console web01 --minutes=20')!.args).toMatchObject({ vm: 'web01', minutes: 20 });
  });
});

describe('parser: quotes', () => {
  test.each([
    ['straight double', 'request web03 --template web-small --reason "new shop front"'],
    ['straight single', "request web03 --template web-small --reason 'new shop front'"],
    ['typographic double', 'request web03 --template web-small --reason \u201Cnew shop front\u201D'],
    ['typographic single', 'request web03 --template web-small --reason \u2018new shop front\u2019'],
    ['German low-high', 'request web03 --template web-small --reason \u201Enew shop front\u201C'],
  ])('%s quotes group words', (_kind, text) => {
    expect(parse(text)!.args).toMatchObject({ name: 'web03', template: 'web-small', reason: 'new shop front' });
  });

  test('tokenize keeps quoted spaces and drops the quotes', () => {
    expect(tokenize('a "b c" d')).toEqual(['a', 'b c', 'd']);
    expect(tokenize('x=\u201Cy z\u201D')).toEqual(['x=y z']);
  });
});

describe('parser: usage errors name the command usage', () => {
  test.each([
    ['an unknown option', 'start web01 --force', /Unknown option --force/, 'Usage: start <vm>'],
    ['an option missing its value', 'console web01 --minutes', /--minutes needs a value/, 'Usage: console [<vm>]'],
    ['an option followed by another option', 'request web03 --template --reason x', /--template needs a value/, 'Usage: request <name>'],
    ['a value given to a boolean option', 'stop web01 --turnoff=yes', /--turnoff takes no value/, 'Usage: stop <vm>'],
    ['too many words', 'start web01 web02', /Too many words/, 'Usage: start <vm>'],
    ['a missing VM', 'start', /^start needs the VM name\./, 'Usage: start <vm>'],
    ['a missing VM for stop', 'stop --turnoff', /^stop needs the VM name\./, 'Usage: stop <vm>'],
    ['a non-number where a number belongs', 'console web01 --minutes ten', /minutes/, 'Usage: console [<vm>]'],
  ])('%s', (_what, text, message, usage) => {
    const e = usageError(text);
    expect(e.code).toBe('usage');
    expect(e.message).toMatch(message);
    expect(e.message).toContain(usage);
  });

  test('an unclosed quote is a usage error with the usage line', () => {
    const e = usageError('start "web01');
    expect(e.code).toBe('usage');
    expect(e.message).toMatch(/Unclosed quote/);
    expect(e.message).toContain('Usage: start <vm>');
  });

  test('control characters are a usage error with the usage line', () => {
    const e = usageError('start web01\u0007');
    expect(e.code).toBe('usage');
    expect(e.message).toMatch(/control characters/);
    expect(e.message).toContain('Usage: start <vm>');
  });

  test.each(['\u0000', '\u001B[31m', '\u007F', '\u0008'])('control character %j is rejected', (c) => {
    expect(usageError(`start web${c}01`).code).toBe('usage');
  });

  test('an unknown command is its own error code', () => {
    const e = usageError('reboot web01');
    expect(e.code).toBe('unknown_command');
    expect(e.message).toContain('reboot');
  });
});

describe('parser: VM names', () => {
  test('a 100-character name is accepted, 101 is rejected', () => {
    const ok = 'a'.repeat(100);
    expect(parse(`start ${ok}`)!.args).toEqual({ vm: ok });
    const e = usageError(`start ${'a'.repeat(101)}`);
    expect(e.code).toBe('usage');
    expect(e.message).toMatch(/100/);
    expect(e.message).toContain('Usage: start <vm>');
  });

  test.each([
    ['star wildcard', 'start web*'],
    ['question-mark wildcard', 'start web0?'],
    ['bracket wildcard', 'start web[01]'],
    ['closing bracket', 'start web01]'],
    ['quote inside the name', `start "web'01"`],
    ['double quote inside the name', `start 'web"01'`],
    ['typographic left single quote inside', 'start "web\u201801"'],
    ['typographic right single quote', 'start web\u201901'],
    ['typographic left double quote inside', 'start "web\u201C01"'],
    ['typographic right double quote', 'start web\u201D01'],
    ['semicolon', 'start web01;Remove-VM'],
    ['command substitution', 'start $(whoami)'],
    ['dollar paren in a name', 'start web$(x)01'],
    ['backtick', 'start web`01'],
    ['pipe', 'start web01|Stop-VM'],
    ['space (quoted)', 'start "web 01"'],
    ['leading hyphen', 'start -web01'],
    ['leading dot', 'start .web01'],
    ['ampersand', 'start web01&calc'],
    ['slash', 'start ../web01'],
    ['non-ASCII lookalike', 'start w\u0435b01'],
  ])('rejects a VM name with a %s', (_what, text) => {
    const e = usageError(text);
    expect(e.code).toBe('usage');
    expect(e.message).toContain('Usage: start <vm>');
  });

  test('names with dots, underscores and hyphens are accepted', () => {
    expect(parse('start web-01.prod_a')!.args).toEqual({ vm: 'web-01.prod_a' });
  });
});

describe('pipeline: unknown and invalid commands', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await openTestApp();
  });
  afterAll(() => app.cleanup());

  test('an unknown command replies invalid with a pointer to help, not the whole help', async () => {
    const r = await app.say('alice', 'reboot web01');
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(/^Unknown command "reboot"\./);
    expect(r.text).toContain('Type "help" for the commands you can use.');
    expect(r.text).not.toContain('Commands you can use:');
  });

  test('a usage error replies invalid with the usage line, and starts nothing', async () => {
    const r = await app.say('alice', 'start web01 --force');
    expect(r.status).toBe('invalid');
    expect(r.code).toBe('usage');
    expect(r.text).toContain('Usage: start <vm>');
    expect((await app.backend.get('web01'))!.state).toBe('Off');
  });

  test('an unknown command from an unknown user shows only what they can use', async () => {
    const r = await app.say('local:eve', 'frobnicate');
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(/not known to vmbot/);
    expect(r.text).not.toContain('start <vm>');
  });

  test('empty text replies with help', async () => {
    const r = await app.say('alice', '/vm');
    expect(r.status).toBe('done');
    expect(r.text).toContain('Commands you can use:');
  });
});
