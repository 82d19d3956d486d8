import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchNumber, envNumber, readJson } from '../bench/report';
import { tempDir } from './support/app';

// The benches' settings (BENCH_*) and saved results are input too: a typo is said in one line
// naming the setting or file, never run on as NaN or shown as a stack trace.

describe('bench settings', () => {
  test('unset or empty: the default; a number: that number', () => {
    expect(benchNumber('BENCH_N', undefined, 200)).toBe(200);
    expect(benchNumber('BENCH_N', ' ', 200)).toBe(200);
    expect(benchNumber('BENCH_PER_ROUND', undefined, undefined)).toBeUndefined();
    expect(benchNumber('BENCH_N', '50', 200, { min: 1, integer: true })).toBe(50);
    expect(benchNumber('BENCH_QUIET_STEAL', '2.5', 2)).toBe(2.5);
  });

  test.each([
    ['abc', {}, 'BENCH_X must be a number; "abc" is not one'],
    ['-1', {}, 'BENCH_X must be at least 0'],
    ['0', { min: 1, integer: true }, 'BENCH_X must be at least 1'],
    ['2.5', { min: 1, integer: true }, 'BENCH_X must be a whole number; "2.5" is not one'],
    ['Infinity', {}, 'BENCH_X must be a number; "Infinity" is not one'],
    ['0x10', {}, 'BENCH_X must be a number; "0x10" is not one'],
    ['1e999', {}, 'BENCH_X must be a number; "1e999" is not one'],
  ])('%s is refused, naming the setting and what it may be', (raw, rule, error) => {
    expect(benchNumber('BENCH_X', raw, 5, rule)).toEqual({ error });
  });
});

describe('a bench stops on bad input with one plain line', () => {
  let exit: jest.SpyInstance;
  let said: jest.SpyInstance;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    said = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    exit.mockRestore();
    said.mockRestore();
    delete process.env.BENCH_TEST_SETTING;
  });

  test('a setting that is not a number', () => {
    process.env.BENCH_TEST_SETTING = '5x';
    expect(() => envNumber('BENCH_TEST_SETTING', 1)).toThrow('exit 2');
    expect(said).toHaveBeenCalledWith('bench: BENCH_TEST_SETTING must be a number; "5x" is not one');
  });

  test('a saved result that is missing or not JSON', () => {
    const dir = tempDir();
    const missing = join(dir, 'none.json');
    expect(() => readJson(missing)).toThrow('exit 2');
    expect(said.mock.calls[0][0]).toMatch(new RegExp(`^bench: cannot read ${missing}: ENOENT`));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"runs": ');
    expect(() => readJson(broken)).toThrow('exit 2');
    expect(said.mock.calls[1][0]).toMatch(new RegExp(`^bench: cannot read ${broken}: .*JSON`));
  });

  test('a good setting and a good file are read as they are', () => {
    process.env.BENCH_TEST_SETTING = '7';
    expect(envNumber('BENCH_TEST_SETTING', 1)).toBe(7);
    const file = join(tempDir(), 'ok.json');
    writeFileSync(file, '{"runs":{"sham":[],"real":[]}}');
    expect(readJson(file)).toEqual({ runs: { sham: [], real: [] } });
    expect(exit).not.toHaveBeenCalled();
  });
});
