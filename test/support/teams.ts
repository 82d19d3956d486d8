import { rmSync } from 'node:fs';
import pino from 'pino';
import { TeamsFrontEnd, type TeamsOptions } from '../../src/adapters/teams/frontend';
import type { TeamsSettings } from '../../src/adapters/teams/settings';
import type { App } from '../../src/app';
import { startServer, type Server } from '../../src/serve';
import { testConfig } from './app';
import { ConnectorStandIn } from './teams-connector';

/** The fixture users' Entra object ids (policies/example.yaml) and the Teams ids the tests give them. */
export const AAD = {
  alice: '0a1ce000-0000-4000-8000-000000000001',
  bob: '0b0b0000-0000-4000-8000-000000000002',
  carol: '0ca10000-0000-4000-8000-000000000003',
  dave: '0da0e000-0000-4000-8000-000000000004',
  erin: '0e110000-0000-4000-8000-000000000005',
  /** Signed in to the tenant, but in no policy. */
  stranger: '05a00000-0000-4000-8000-0000000000ff',
} as const;
export type TeamsUser = keyof typeof AAD;

export const TENANT = '72f988bf-0000-4000-8000-00000000cafe';
export const BOT = { id: '28:vmbot-test', name: 'VM Bot' };
export const CHANNEL = '19:ops@thread.tacv2;messageid=1700000000000';

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface TeamsRig {
  app: App;
  server: Server;
  connector: ConnectorStandIn;
  frontEnd: TeamsFrontEnd;
  url: string;
  logs: LogLine[];
  /** POST one activity to /api/messages; resolves with the HTTP status and parsed body. */
  post(activity: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  /** Wait until the notice outbox has delivered everything queued so far. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;
const base = (user: TeamsUser, serviceUrl: string) => ({
  id: `in-${++seq}`,
  channelId: 'msteams',
  serviceUrl,
  timestamp: new Date().toISOString(),
  from: { id: `29:${user}`, name: user[0]!.toUpperCase() + user.slice(1), aadObjectId: AAD[user] },
  recipient: BOT,
  channelData: { tenant: { id: TENANT } },
});

export const personalChatId = (user: TeamsUser) => `a:personal-${user}`;

/** Activities as Teams sends them. */
export const activities = (serviceUrl: string) => ({
  personal: (user: TeamsUser, text: string) => ({
    ...base(user, serviceUrl), type: 'message', text, textFormat: 'plain',
    conversation: { id: personalChatId(user), conversationType: 'personal', tenantId: TENANT },
  }),
  /** `@VM Bot <text>` in a channel: the mention is in the text and in the entities. */
  channel: (user: TeamsUser, text: string) => ({
    ...base(user, serviceUrl), type: 'message', text: `<at>${BOT.name}</at> ${text}`, textFormat: 'plain',
    conversation: { id: CHANNEL, conversationType: 'channel', isGroup: true, tenantId: TENANT },
    entities: [{ type: 'mention', mentioned: BOT, text: `<at>${BOT.name}</at>` }],
  }),
  /** Action.Execute on a card in `conversationId`. */
  execute: (user: TeamsUser, data: unknown, replyToId: string, conversationId = personalChatId(user)) => ({
    ...base(user, serviceUrl), type: 'invoke', name: 'adaptiveCard/action', replyToId,
    conversation: { id: conversationId, conversationType: conversationId.startsWith('19:') ? 'channel' : 'personal', tenantId: TENANT },
    value: { action: { type: 'Action.Execute', verb: (data as any)?.vmbot?.refresh ? 'vmbot.refresh' : 'vmbot.command', data }, trigger: 'manual' },
  }),
  /** Action.Submit fallback: a message with the button's data as its value. */
  submit: (user: TeamsUser, value: unknown, replyToId: string, conversationId = personalChatId(user)) => ({
    ...base(user, serviceUrl), type: 'message', text: '', replyToId, value,
    conversation: { id: conversationId, conversationType: 'personal', tenantId: TENANT },
  }),
});

/**
 * vmbot serving with the Teams front-end on the one HTTP host (127.0.0.1, ephemeral port), the
 * real notice outbox, and the connector stand-in its replies and notices go to.
 */
export async function startTeamsRig(opts: { settings?: TeamsSettings; options?: TeamsOptions; overrides?: Record<string, string> } = {}): Promise<TeamsRig> {
  const connector = new ConnectorStandIn();
  await connector.start();
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, { write: (s: string) => void logs.push(JSON.parse(s)) });
  const frontEnd = new TeamsFrontEnd(opts.settings ?? { mode: 'dev' }, opts.options);
  const config = testConfig({ VMBOT_HTTP_HOST: '127.0.0.1', VMBOT_HTTP_PORT: '0', VMBOT_SIM_LATENCY_MS: '0', ...opts.overrides });
  const server = await startServer(config, { log, frontEnds: [frontEnd] });
  const url = server.http!.address().url;
  return {
    app: server.app, server, connector, frontEnd, url, logs,
    async post(activity, headers = {}) {
      const res = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(activity) });
      const text = await res.text();
      let body: any = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body };
    },
    async settle() {
      for (let i = 0; i < 50 && server.app.outbox.pending; i++) await server.app.outbox.flush();
    },
    async close() {
      await server.stop();
      await connector.stop();
      rmSync(config.VMBOT_DATA_DIR, { recursive: true, force: true });
    },
  };
}

/** Every element of an Adaptive Card (body, nested containers, show-cards), depth first. */
export function walk(node: unknown, out: Record<string, any>[] = []): Record<string, any>[] {
  if (Array.isArray(node)) node.forEach((n) => walk(n, out));
  else if (node && typeof node === 'object') {
    out.push(node as Record<string, any>);
    for (const v of Object.values(node)) walk(v, out);
  }
  return out;
}
