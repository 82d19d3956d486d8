// A local OpenID Connect provider for the web view's browser test (oidc-provider, dev login
// form: any password). Plain Node ESM, started by the test as a child process:
//   node test/support/oidc-idp.mjs <port> <redirect uri> <client id> <client secret>
// Prints "ready <issuer>" once listening on 127.0.0.1. Accounts are the fixture's users, with
// the Entra-style `oid` claim set to their teams: identity in policies/example.yaml.
import Provider from 'oidc-provider';

const [port, redirectUri, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const OID = {
  dave: '0da0e000-0000-4000-8000-000000000004',
  alice: '0a1ce000-0000-4000-8000-000000000001',
};

const provider = new Provider(issuer, {
  clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'oid'] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ['test-only-cookie-key'] },
  async findAccount(_ctx, id) {
    return { accountId: id, claims: () => ({ sub: id, name: `${id[0].toUpperCase()}${id.slice(1)} (test IdP)`, preferred_username: id, ...(OID[id] ? { oid: OID[id] } : {}) }) };
  },
  // No consent screen: the test signs in, it does not click through grants.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
const server = provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
// Stop with the test: on SIGTERM, or when the parent goes away (stdin closes).
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
