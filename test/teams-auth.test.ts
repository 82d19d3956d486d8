import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readAuditRecords } from './support/audit';
import { activities, personalChatId, startTeamsRig, TENANT, type TeamsRig } from './support/teams';

/**
 * With an app id, botbuilder checks every request's Bot Framework token. The Bot Framework's
 * OpenID metadata and signing keys are served here by a stand-in on 127.0.0.1 (botbuilder's own
 * ToBotFromChannelOpenIdMetadataUrl setting points at it), so the test signs tokens with a key
 * it owns, and shows that anything else is refused before a command runs.
 */

const APP_ID = '6d1f3a2b-1c4e-4f5a-9b8c-7d6e5f4a3b2c';
const ISSUER = 'https://api.botframework.com';

const b64url = (x: Buffer | string) => Buffer.from(x).toString('base64url');

function sign(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const body = b64url(JSON.stringify({ iss: ISSUER, aud: APP_ID, nbf: now - 60, iat: now - 60, exp: now + 3600, ...claims }));
  const s = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key);
  return `${head}.${body}.${b64url(s)}`;
}

const trusted = generateKeyPairSync('rsa', { modulusLength: 2048 });
const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });

let metadata: Server;
let metadataUrl: string;
let rig: TeamsRig;
let act: ReturnType<typeof activities>;
let errors: jest.SpyInstance;

beforeAll(async () => {
  // Only the trusted key is published, with the endorsement Teams' keys carry.
  const jwk = { ...trusted.publicKey.export({ format: 'jwk' }), kid: 'trusted-1', use: 'sig', endorsements: ['msteams'] };
  metadata = createServer((req, res) => {
    const base = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v1/.well-known/openidconfiguration') res.end(JSON.stringify({ issuer: ISSUER, jwks_uri: `${base}/v1/keys`, id_token_signing_alg_values_supported: ['RS256'] }));
    else if (req.url === '/v1/keys') res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => metadata.listen(0, '127.0.0.1', r));
  metadataUrl = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}/v1/.well-known/openidconfiguration`;
});
afterAll(async () => {
  metadata.closeAllConnections();
  await new Promise<void>((r) => metadata.close(() => r()));
});

beforeEach(async () => {
  // botbuilder logs each refused token with console.error; the assertions below are on responses.
  errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  rig = await startTeamsRig({
    settings: { mode: 'authenticated', appId: APP_ID, password: 'test-secret-not-used-offline', tenantId: TENANT },
    options: { openIdMetadataUrl: metadataUrl },
  });
  act = activities(rig.connector.url);
});
afterEach(async () => {
  await rig.close();
  errors.mockRestore();
});

describe('Teams with an app id: every request needs a valid Bot Framework token', () => {
  const refusedAndNothingRan = async (headers: Record<string, string>) => {
    const before = readAuditRecords(rig.app.config.VMBOT_DATA_DIR).length;
    const res = await rig.post(act.personal('alice', 'start web01'), headers);
    expect(res.status).toBe(401);
    expect(await rig.app.backend.get('web01')).toMatchObject({ state: 'Off' });
    expect(readAuditRecords(rig.app.config.VMBOT_DATA_DIR).length).toBe(before);
    expect(rig.connector.calls).toEqual([]);
    expect(rig.logs.map((l) => `${l.level} ${l.msg}`)).toEqual(expect.arrayContaining([expect.stringMatching(/^warn Teams: request refused/)]));
    // The operator log never carries the token.
    expect(JSON.stringify(rig.logs)).not.toContain(headers.authorization?.split(' ')[1] ?? '\u0000');
  };

  it('no token: 401, nothing executed or audited', () => refusedAndNothingRan({}));

  it('a malformed token: 401', () => refusedAndNothingRan({ authorization: 'Bearer not-a-jwt' }));

  it('a token signed by an unknown key: 401', () =>
    refusedAndNothingRan({ authorization: `Bearer ${sign(foreign.privateKey, 'someone-else', { serviceurl: rig.connector.url })}` }));

  it('a token naming the trusted key id but signed by another key: 401', () =>
    refusedAndNothingRan({ authorization: `Bearer ${sign(foreign.privateKey, 'trusted-1', { serviceurl: rig.connector.url })}` }));

  it('a genuine token for another bot (audience): 401', () =>
    refusedAndNothingRan({ authorization: `Bearer ${sign(trusted.privateKey, 'trusted-1', { aud: '00000000-1111-4222-8333-444444444444', serviceurl: rig.connector.url })}` }));

  it('an expired token: 401', () =>
    refusedAndNothingRan({ authorization: `Bearer ${sign(trusted.privateKey, 'trusted-1', { serviceurl: rig.connector.url, nbf: 1_600_000_000, iat: 1_600_000_000, exp: 1_600_003_600 })}` }));

  it('a token for another service URL than the activity names: 401', () =>
    refusedAndNothingRan({ authorization: `Bearer ${sign(trusted.privateKey, 'trusted-1', { serviceurl: 'https://smba.example.invalid/' })}` }));

  it('control: a token signed with the published key is accepted and the command runs', async () => {
    // expectReplies: the answer comes back in the HTTP body, so no outbound call needs an Entra token offline.
    const activity = { ...act.personal('alice', 'status web01'), deliveryMode: 'expectReplies' };
    const res = await rig.post(activity, { authorization: `Bearer ${sign(trusted.privateKey, 'trusted-1', { serviceurl: rig.connector.url })}` });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body.activities)).toContain('web01');
    expect(readAuditRecords(rig.app.config.VMBOT_DATA_DIR).at(-1)).toMatchObject({ command: 'status web01', user: 'alice', channel: `teams:${personalChatId('alice')}` });
  });

  it('a genuine token, but an activity from another tenant: refused, audited as a denial, nothing runs', async () => {
    const activity = { ...act.personal('alice', 'start web01'), deliveryMode: 'expectReplies' } as any;
    activity.conversation.tenantId = '11111111-2222-4333-8444-555555555555';
    activity.channelData.tenant.id = '11111111-2222-4333-8444-555555555555';
    const res = await rig.post(activity, { authorization: `Bearer ${sign(trusted.privateKey, 'trusted-1', { serviceurl: rig.connector.url })}` });
    expect(res.status).toBe(200);
    expect(await rig.app.backend.get('web01')).toMatchObject({ state: 'Off' });
    const rec = readAuditRecords(rig.app.config.VMBOT_DATA_DIR).at(-1)!;
    expect(rec).toMatchObject({ decision: 'deny', outcome: 'denied', reason: expect.stringContaining('tenant 11111111-2222-4333-8444-555555555555 is not MicrosoftAppTenantId') });
    expect(readAuditRecords(rig.app.config.VMBOT_DATA_DIR).some((r) => r.kind === 'intent')).toBe(false);
    expect(res.body.activities.map((x: any) => x.text)).toEqual(['This vmbot serves one Microsoft 365 organisation; it does not take requests from yours.']);
  });
});
