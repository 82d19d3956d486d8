import { isAbsolute } from 'node:path';
import { loadConfig } from '../src/core/config';
import { VmbotError } from '../src/core/errors';

function configError(env: Record<string, string>): VmbotError {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(VmbotError);
    return e as VmbotError;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  test('defaults: simulator backend, example policy, absolute data dir', () => {
    const c = loadConfig({});
    expect(c.VMBOT_BACKEND).toBe('simulator');
    expect(c.VMBOT_POLICY).toMatch(/policies[\\/]example\.yaml$/);
    expect(isAbsolute(c.VMBOT_DATA_DIR)).toBe(true);
  });

  test('values are read and coerced', () => {
    const c = loadConfig({ VMBOT_SIM_LATENCY_MS: '25', VMBOT_HYPERV_HOSTS: 'hv01, hv02,', VMBOT_LOCAL_USER: 'bob' });
    expect(c.VMBOT_SIM_LATENCY_MS).toBe(25);
    expect(c.VMBOT_HYPERV_HOSTS).toEqual(['hv01', 'hv02']);
    expect(c.VMBOT_LOCAL_USER).toBe('bob');
  });

  test('variables outside VMBOT_ are ignored; an empty VMBOT_ value is an error, not the default (issue 7 item 9)', () => {
    expect(loadConfig({ PATH: '/bin', HOME: '/root', OTHER: '' }).VMBOT_BACKEND).toBe('simulator');
    expect(configError({ VMBOT_BACKEND: '' }).message).toContain('VMBOT_BACKEND: is set but empty');
  });

  test('VMBOT_BACKEND=nonsense names the variable', () => {
    const e = configError({ VMBOT_BACKEND: 'nonsense' });
    expect(e.code).toBe('config');
    expect(e.message).toContain('VMBOT_BACKEND');
  });

  test('an unknown VMBOT_ variable is an error naming it (a typo must not fall back to a default)', () => {
    const e = configError({ VMBOT_TYPO: '1' });
    expect(e.message).toContain('VMBOT_TYPO');
    expect(e.message).toMatch(/not a vmbot setting/);
  });

  test.each([
    ['VMBOT_SIM_LATENCY_MS', '-1'],
    ['VMBOT_SIM_LATENCY_MS', 'fast'],
    ['VMBOT_ACTION_TIMEOUT_MS', '10'],
    ['VMBOT_LOCAL_USER', 'alice; rm -rf /'],
    ['VMBOT_JEA_ENDPOINT', 'a b'],
    ['VMBOT_LOG_LEVEL', 'verbose'],
  ])('%s=%j is rejected, naming the variable', (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });

  test('a whole number too long to be a number is refused in words, as any other (not zod\'s "expected number, received Infinity")', () => {
    const e = configError({ VMBOT_HTTP_PORT: '9'.repeat(400) });
    expect(e.message).toContain('VMBOT_HTTP_PORT: must be a whole number');
    expect(e.message).not.toMatch(/Infinity|expected number/);
  });

  test('every problem is reported at once', () => {
    const e = configError({ VMBOT_BACKEND: 'x', VMBOT_TYPO: '1', VMBOT_LOG_LEVEL: 'loud' });
    for (const n of ['VMBOT_BACKEND', 'VMBOT_TYPO', 'VMBOT_LOG_LEVEL']) expect(e.message).toContain(n);
  });
});
