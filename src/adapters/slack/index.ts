import type { Config } from '../../core/config';
import { VmbotError } from '../../core/errors';
import type { FrontEndFactory } from '../frontend';
import { SlackFrontEnd } from './frontend';

const FORMATS = {
  SLACK_BOT_TOKEN: [/^xoxb-[A-Za-z0-9-]{10,}$/, 'a bot token starting with xoxb- (OAuth & Permissions → Bot User OAuth Token)'],
  SLACK_APP_TOKEN: [/^xapp-[A-Za-z0-9-]{10,}$/, 'an app-level token starting with xapp- with the connections:write scope (Basic Information → App-Level Tokens)'],
  SLACK_SIGNING_SECRET: [/^[0-9a-f]{32}$/, 'the 32-character hex Signing Secret (Basic Information → App Credentials)'],
} as const;

/**
 * Slack is enabled by SLACK_BOT_TOKEN. With SLACK_APP_TOKEN it uses Socket Mode; otherwise HTTP,
 * which needs SLACK_SIGNING_SECRET. A missing or malformed value stops start-up with one message
 * naming the variable (never its value).
 */
export const slackFrontEnd: FrontEndFactory = (env, config: Config) => {
  const get = (k: keyof typeof FORMATS) => (env[k] ?? '').trim() || undefined;
  const bot = get('SLACK_BOT_TOKEN');
  const appToken = get('SLACK_APP_TOKEN');
  const secret = get('SLACK_SIGNING_SECRET');
  if (!bot) {
    if (appToken || secret) throw new VmbotError('config', `SLACK_BOT_TOKEN: missing; it is needed with ${appToken ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET'}`);
    return null;
  }
  const check = (k: keyof typeof FORMATS, v: string) => {
    if (!FORMATS[k][0].test(v)) throw new VmbotError('config', `${k}: malformed; expected ${FORMATS[k][1]}`);
  };
  check('SLACK_BOT_TOKEN', bot);
  if (appToken) check('SLACK_APP_TOKEN', appToken);
  else if (!secret) throw new VmbotError('config', 'SLACK_SIGNING_SECRET: missing; HTTP mode needs it to verify requests (or set SLACK_APP_TOKEN for Socket Mode)');
  else check('SLACK_SIGNING_SECRET', secret);
  return new SlackFrontEnd({
    botToken: bot, appToken, signingSecret: appToken ? undefined : secret, apiUrl: config.VMBOT_SLACK_API_URL,
    teamIds: config.VMBOT_SLACK_TEAM_IDS ?? [], approvalsChannel: config.VMBOT_SLACK_APPROVALS_CHANNEL,
    auditChannel: config.VMBOT_SLACK_AUDIT_CHANNEL,
  });
};
