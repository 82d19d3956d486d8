import { isIP } from 'node:net';
import { VmbotError } from '../../core/errors';

/**
 * Teams configuration, from botbuilder's own variable names (README, configuration table). Two ways to
 * run: with an app id (SingleTenant: every request's token is checked), or VMBOT_TEAMS_DEV=1
 * without authentication, which is refused unless the HTTP host is a loopback address.
 */
export type TeamsSettings =
  | { mode: 'authenticated'; appId: string; password: string; tenantId: string }
  | { mode: 'dev' };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 127.0.0.0/8, ::1 and localhost: nobody else can reach an unauthenticated endpoint there. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** null when Teams is not configured; throws a config error naming the variable otherwise. */
export function readTeamsSettings(env: NodeJS.ProcessEnv, httpHost: string): TeamsSettings | null {
  const v = (k: string) => env[k]?.trim() || undefined;
  const dev = v('VMBOT_TEAMS_DEV');
  const appId = v('MicrosoftAppId');
  const fail = (msg: string): never => {
    throw new VmbotError('config', `Configuration error (Teams): ${msg}`);
  };
  if (dev !== undefined && dev !== '1' && dev !== '0') fail(`VMBOT_TEAMS_DEV must be 1 (or unset), got "${dev}".`);
  if (dev === '1') {
    if (appId) fail('VMBOT_TEAMS_DEV=1 turns authentication off, but MicrosoftAppId is set. Unset one of them.');
    if (!isLoopback(httpHost))
      fail(`VMBOT_TEAMS_DEV=1 runs /api/messages without authentication and is only allowed on a loopback address; VMBOT_HTTP_HOST is ${httpHost}.`);
    return { mode: 'dev' };
  }
  const other = ['MicrosoftAppPassword', 'MicrosoftAppTenantId', 'MicrosoftAppType'].filter((k) => v(k));
  if (!appId) {
    if (other.length) fail(`${other.join(', ')} set but MicrosoftAppId is not: set the Azure Bot's app id to enable Teams.`);
    return null;
  }
  if (!GUID.test(appId)) fail(`MicrosoftAppId must be the Azure Bot's app id (a GUID), got "${appId}".`);
  const type = v('MicrosoftAppType') ?? 'SingleTenant';
  if (type.toLowerCase() !== 'singletenant')
    fail(`MicrosoftAppType must be SingleTenant (new multi-tenant bots can no longer be registered), got "${type}".`);
  const password = v('MicrosoftAppPassword') ?? fail('MicrosoftAppPassword (the app registration\'s client secret) is required with MicrosoftAppId.');
  const tenantId = v('MicrosoftAppTenantId') ?? fail('MicrosoftAppTenantId (your Entra tenant id) is required for a SingleTenant bot.');
  if (!GUID.test(tenantId)) fail(`MicrosoftAppTenantId must be your Entra tenant id (a GUID), got "${tenantId}".`);
  return { mode: 'authenticated', appId, password, tenantId };
}
