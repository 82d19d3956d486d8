import pino from 'pino';
import { isLoopback, readTeamsSettings } from '../src/adapters/teams/settings';
import { serversStoppedAfterEach } from './support/server';

const APP = '6d1f3a2b-1c4e-4f5a-9b8c-7d6e5f4a3b2c';
const TENANT = '72f988bf-0000-4000-8000-00000000cafe';
const read = (env: Record<string, string>, host = '127.0.0.1') => {
  try {
    return readTeamsSettings(env, host);
  } catch (e) {
    return (e as Error).message;
  }
};

describe('Teams configuration (botbuilder variable names, SingleTenant)', () => {
  it('not configured: nothing set means no Teams front-end', () => {
    expect(read({})).toBeNull();
  });

  it('SingleTenant with app id, secret and tenant', () => {
    expect(read({ MicrosoftAppId: APP, MicrosoftAppPassword: 's3cret', MicrosoftAppTenantId: TENANT, MicrosoftAppType: 'SingleTenant' }, '0.0.0.0')).toEqual({
      mode: 'authenticated', appId: APP, password: 's3cret', tenantId: TENANT,
    });
  });

  it('each missing or wrong value stops start-up with a message naming the variable', () => {
    expect(read({ MicrosoftAppId: APP, MicrosoftAppTenantId: TENANT })).toMatch(/MicrosoftAppPassword .* is required/);
    expect(read({ MicrosoftAppId: APP, MicrosoftAppPassword: 's' })).toMatch(/MicrosoftAppTenantId .* is required for a SingleTenant bot/);
    expect(read({ MicrosoftAppId: 'my-bot', MicrosoftAppPassword: 's', MicrosoftAppTenantId: TENANT })).toMatch(/MicrosoftAppId must be the Azure Bot's app id \(a GUID\)/);
    expect(read({ MicrosoftAppId: APP, MicrosoftAppPassword: 's', MicrosoftAppTenantId: TENANT, MicrosoftAppType: 'MultiTenant' })).toMatch(/MicrosoftAppType must be SingleTenant/);
    expect(read({ MicrosoftAppPassword: 's' })).toMatch(/MicrosoftAppPassword set but MicrosoftAppId is not/);
  });

  it('VMBOT_TEAMS_DEV=1 runs without authentication only on a loopback address, loudly', () => {
    expect(read({ VMBOT_TEAMS_DEV: '1' }, '127.0.0.1')).toEqual({ mode: 'dev' });
    expect(read({ VMBOT_TEAMS_DEV: '1' }, '::1')).toEqual({ mode: 'dev' });
    expect(read({ VMBOT_TEAMS_DEV: '1' }, '0.0.0.0')).toMatch(/only allowed on a loopback address; VMBOT_HTTP_HOST is 0\.0\.0\.0/);
    expect(read({ VMBOT_TEAMS_DEV: '1' }, '10.0.0.5')).toMatch(/loopback/);
    expect(read({ VMBOT_TEAMS_DEV: '1', MicrosoftAppId: APP })).toMatch(/turns authentication off, but MicrosoftAppId is set/);
    expect(read({ VMBOT_TEAMS_DEV: 'yes' })).toMatch(/VMBOT_TEAMS_DEV must be 1/);
  });

  it('loopback means 127.0.0.0/8, ::1 and localhost, nothing else', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'vmbot.contoso.com', '128.0.0.1', 'localhost.evil.com']) expect(isLoopback(h)).toBe(false);
  });
});

describe('vmbot serving with Teams configured', () => {
  const serve = serversStoppedAfterEach();

  it('VMBOT_TEAMS_DEV=1 on 127.0.0.1: /api/messages is served by the registered Teams front-end, with a loud warning', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const s = await serve({ frontEnds: undefined, env: {}, log }, { VMBOT_TEAMS_DEV: '1' });
    expect(s.frontEnds.map((f) => f.name)).toEqual(['teams']);
    expect(lines.join('')).toMatch(/TEAMS DEV MODE \(VMBOT_TEAMS_DEV=1\): POST \/api\/messages accepts requests WITHOUT authentication/);
    const res = await fetch(`${s.http!.address().url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'typing', channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', conversation: { id: 'a:x' }, from: { id: '29:x' }, recipient: { id: '28:b' } }) });
    expect(res.status).toBe(200);
  });

  it('VMBOT_TEAMS_DEV=1 on a non-loopback address stops start-up with a message naming both settings', async () => {
    await expect(serve({ frontEnds: undefined, env: {} }, { VMBOT_TEAMS_DEV: '1', VMBOT_HTTP_HOST: '0.0.0.0' })).rejects.toThrow(/VMBOT_TEAMS_DEV=1 .* only allowed on a loopback address; VMBOT_HTTP_HOST is 0\.0\.0\.0/);
  });

  it('with an app id, a POST without a token is refused by the registered front-end', async () => {
    const s = await serve({ frontEnds: undefined, env: { MicrosoftAppId: APP, MicrosoftAppPassword: 'x', MicrosoftAppTenantId: TENANT } });
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await fetch(`${s.http!.address().url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', text: 'start web01', channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', conversation: { id: 'a:x' }, from: { id: '29:x', aadObjectId: '0a1ce000-0000-4000-8000-000000000001' }, recipient: { id: '28:b' } }) });
      expect(res.status).toBe(401);
    } finally {
      errors.mockRestore();
    }
    expect(await s.app.backend.get('web01')).toMatchObject({ state: 'Off' });
  });
});
