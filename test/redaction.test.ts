import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAudit } from '../src/audit/verify';
import { REDACTED, REDACTION_RULES, redactSecrets, secretKinds } from '../src/core/redact';
import { appsClosedAfterEach, collectNotices } from './support/app';
import { readAuditText } from './support/audit';

/**
 * Issue 7 item 3: secrets never in clear. One redaction function; a credential typed into chat
 * reaches neither state.json, nor a notice to approvers or the requester, nor a reply, nor
 * the audit log. The examples are made up, shaped as the real ones are.
 */

// One example per family the issue names, and per further shape the module covers.
const SECRETS: Array<[family: string, secret: string]> = [
  ['Slack bot token xoxb-', 'xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
  ['Slack user token xoxp-', 'xoxp-1234567890-1234567890-1234567890-0123456789abcdef0123456789abcdef'],
  ['Slack workspace token xoxa-', 'xoxa-2-1234567890-abcdefABCDEF'],
  ['Slack refresh token xoxr-', 'xoxr-1234567890-abcdefghij'],
  ['Slack rotating/config token xoxe-', 'xoxe-1-My0xLTEyMzQ1Njc4OTAtYWJjZGVm'],
  ['Slack config access token xoxe.xoxp-', 'xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAtYWJj'],
  ['Slack client token xoxc-', 'xoxc-1234567890-1234567890-abcdef'],
  ['Slack session token xoxs-', 'xoxs-1234567890-1234567890-abcdef'],
  ['a short Slack token', 'xoxb-12ab'],
  ['Slack app-level token xapp-', 'xapp-1-A0123456789-1234567890123-abcdef0123456789'],
  ['Slack webhook URL', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
  ['Bearer, long', 'Bearer abcdefghijklmnopqrstuvwxyz0123456789._~+/-='],
  ['Bearer, short', 'Bearer s3cr3t'],
  ['Basic credential (user:password)', `Basic ${Buffer.from('svc-vmbot:Winter2026!').toString('base64')}`],
  ['Basic credential, tiny', `Basic ${Buffer.from('u:p').toString('base64')}`],
  ['Authorization header, any scheme', 'Authorization: NTLM TlRMTVNTUAABAAAAB4IIog'],
  ['JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ'],
  ['unsigned JWT', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.'],
  ['GitHub classic PAT', 'ghp_0123456789abcdefghijABCDEFGHIJ012345'],
  ['GitHub OAuth token', 'gho_0123456789abcdefghijABCDEFGHIJ012345'],
  ['GitHub app token', 'ghs_0123456789abcdefghijABCDEFGHIJ012345'],
  ['GitHub fine-grained PAT', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV'],
  ['GitLab PAT', 'glpat-0123456789abcdefABCD'],
  ['Azure AD / Entra client secret (MicrosoftAppPassword)', 'abc8Q~0123456789abcdefghijABCDEFGHIJ.-_~'],
  ['Azure storage connection string', 'DefaultEndpointsProtocol=https;AccountName=vmbot;AccountKey=bXlrZXlteWtleW15a2V5bXlrZXk=;EndpointSuffix=core.windows.net'],
  ['Azure SAS signature', 'https://vmbot.blob.core.windows.net/c/b?sv=2022-11-02&sig=abcdEFGH1234%2Bxyz%3D'],
  ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
  ['AWS secret access key (as a pair)', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['password= pair', 'password=hunter2'],
  ['pwd: pair', 'pwd: Sommer2026'],
  ['quoted password with spaces', 'db_password="correct horse battery"'],
  ['client_secret pair', 'client_secret=Zm9vYmFyYmF6'],
  ['api key pair', 'X-Api-Key: 0123456789abcdef'],
  ['token pair', 'token=abc123def456'],
  ['password in a URL', 'https://admin:S3cret!@hv01.contoso.local/'],
  ['PEM private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0123\n-----END RSA PRIVATE KEY-----'],
  ['Google API key', 'AIzaSyA0123456789abcdefghijklmnopqrstuv'],
  ['Google OAuth client secret', 'GOCSPX-0123456789abcdefghijklmnop'],
  ['npm token', 'npm_0123456789abcdefghijklmnopqrstuvwxyz'],
  ['OpenAI project key', 'sk-proj-0123456789abcdefghijklmnop'],
  ['Anthropic key', 'sk-ant-api03-0123456789abcdefghijklmnop'],
  ['Stripe secret key', 'sk_live_0123456789abcdefghij'],
];

/** The part of each example that must never survive (the key of a pair may stay). */
const secretPart = (s: string) =>
  s.startsWith('https://admin:') ? 'S3cret!'
  : /^(password|pwd|db_password|client_secret|token|aws_secret_access_key)\b|X-Api-Key/.test(s) ? s.replace(/^[^=:]+[=:]\s*"?/, '').replace(/"$/, '')
  : s.includes('AccountKey=') ? 'bXlrZXlteWtleW15a2V5bXlrZXk='
  : s.includes('sig=') ? 'abcdEFGH1234'
  : s.replace(/^(Bearer|Basic|Authorization: NTLM) /, '');

describe('redactSecrets', () => {
  test.each(SECRETS)('%s is redacted, alone and inside a sentence', (_family, secret) => {
    const hidden = secretPart(secret);
    for (const text of [secret, `please use ${secret} for the deploy`, `"${secret}"`, `(${secret}),`]) {
      const out = redactSecrets(text);
      expect(out).not.toContain(hidden);
      expect(out).toContain(REDACTED);
    }
  });

  test.each([
    'start web01',
    'stop db01 --turnoff',
    'request web05 --template web-small --reason "new shop front for the basic plan"',
    'deny r-7k2mqx no budget this quarter; password reset is a separate ticket',
    'console sk-prod-database-01 --minutes 30',
    'status akia-web-01',
    'Basic web server',
    'approve r-abcdef',
    'CONTOSO\\alice',
  ])('ordinary text is left alone: %s', (text) => {
    expect(redactSecrets(text)).toBe(text);
  });

  test('the key of a pair stays readable for the auditor; only the value goes', () => {
    expect(redactSecrets('password=hunter2 and token: abc123')).toBe(`password=${REDACTED} and token: ${REDACTED}`);
    expect(redactSecrets('Authorization: Bearer abc')).toBe(`Authorization: ${REDACTED}`);
    expect(redactSecrets('use Bearer abc now')).toBe(`use Bearer ${REDACTED} now`);
  });

  test('a redacted command still parses: quotes around a redacted reason stay balanced', () => {
    expect(redactSecrets('request web05 --template web-small --reason "token=xoxb-1-2"')).toBe(`request web05 --template web-small --reason "token=${REDACTED}"`);
    expect(redactSecrets('deny r-abcdef see “password: hunter2”')).toBe(`deny r-abcdef see “password: ${REDACTED}”`);
  });

  test('every rule has an example above', () => {
    const found = new Set(SECRETS.flatMap(([, s]) => secretKinds(s)));
    expect(REDACTION_RULES.filter((id) => !found.has(id))).toEqual([]);
  });
});

describe('a secret typed into chat reaches no state, notice, reply or audit record', () => {
  const open = appsClosedAfterEach();
  const slack = 'xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
  const bearer = 'Bearer abcdefghijklmnopqrstuvwxyz0123456789';
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const clear = [slack.slice(5), 'abcdefghijklmnopqrstuvwxyz0123456789', jwt.slice(0, 30), 'hunter2'];

  test('a reason holding tokens: state.json, the approvers\' notice, the requester\'s notices, replies and the audit log', async () => {
    const app = await open();
    const notices = collectNotices(app);
    const r = await app.say('alice', `request web05 --template web-small --reason "deploy key ${slack}, header ${bearer}, id ${jwt}"`);
    expect(r.status).toBe('pending');
    const id = r.data?.requestId as string;
    const denied = await app.say('carol', `deny ${id} do not paste password=hunter2 or ${slack} in chat`);
    expect(denied.status).toBe('done');

    const dataDir = app.config.VMBOT_DATA_DIR;
    const state = readFileSync(join(dataDir, 'state.json'), 'utf8');
    const audit = readAuditText(dataDir);
    const sent = JSON.stringify(notices);
    const replies = JSON.stringify([r, denied]);
    for (const where of [state, audit, sent, replies]) {
      for (const s of clear) expect(where).not.toContain(s);
      expect(where).toContain(REDACTED);
    }
    // The approvers saw the request with its reason redacted, the requester the deny reason.
    expect(notices.find((n) => n.to.includes('carol'))!.reply.text).toContain(`deploy key ${REDACTED}`);
    expect(notices.find((n) => n.to.includes('alice') && n.reply.status === 'denied')!.reply.text).toContain(`password=${REDACTED}`);
    expect(app.store.data.approvals[id]!.reason).toBe(`deploy key ${REDACTED}, header Bearer ${REDACTED}, id ${REDACTED}`);
    expect((await verifyAudit(join(dataDir, 'audit'))).ok).toBe(true);
  });

  test('a token in an invalid command, a denied command and a replayed one is redacted too', async () => {
    const app = await open();
    const bad = await app.say('alice', `start web01 --force ${slack}`);
    expect(bad.status).toBe('invalid');
    const denied = await app.say('mallory', `console db01 ${slack}`);
    const idem = await app.pipeline.handle({ principal: 'local:alice', text: `status web01 ${slack}`, channel: { kind: 'local', id: 't' }, idempotencyKey: 'k' });
    const all = JSON.stringify([bad, denied, idem]) + readAuditText(app.config.VMBOT_DATA_DIR) + readFileSync(join(app.config.VMBOT_DATA_DIR, 'state.json'), 'utf8');
    expect(all).not.toContain(slack.slice(5));
  });
});

describe('the operator log runs the same redaction', () => {
  test('a secret shape in a message, in a logged string field or in an error is written as [redacted]', async () => {
    const { createLogger } = await import('../src/log/logger');
    const lines: string[] = [];
    const log = createLogger('debug', { write: (s: string) => void lines.push(s) });
    const token = 'xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOp';
    log.warn(`Slack refused ${token}`);
    log.info({ text: `status web01 password=hunter2`, user: 'alice' }, 'request received');
    log.error({ err: new Error(`invalid_auth for ${token}`) }, 'delivery failed');
    log.error(new Error(`Bearer abcdefghijklmnopqrstuvwxyz`));
    const out = lines.join('');
    expect(lines).toHaveLength(4);
    for (const s of [token.slice(5), 'hunter2', 'abcdefghijklmnopqrstuvwxyz']) expect(out).not.toContain(s);
    expect(JSON.parse(lines[1]!)).toMatchObject({ text: `status web01 password=${REDACTED}`, user: 'alice', msg: 'request received' });
    expect(JSON.parse(lines[2]!).err).toMatchObject({ message: `invalid_auth for ${REDACTED}`, type: 'Error' });
  });
});
