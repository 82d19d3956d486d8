import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { TeamsFrontEnd, type TeamsOptions } from '../../src/adapters/teams/frontend';
import type { TeamsSettings } from '../../src/adapters/teams/settings';
import { openTestApp, type TestApp } from './app';
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
  app: TestApp;
  connector: ConnectorStandIn;
  frontEnd: TeamsFrontEnd;
  url: string;
  logs: LogLine[];
  /** POST one activity to /api/messages; resolves with the HTTP status and parsed body. */
  post(activity: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  /** Wait until the notice deliveries started so far have finished. */
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
 * The Teams front-end on an HTTP host on 127.0.0.1, a test app behind it, and the connector
 * stand-in its replies go to. Notices reach the front-end as the serving process routes them.
 */
export async function startTeamsRig(opts: { settings?: TeamsSettings; options?: TeamsOptions; overrides?: Record<string, string> } = {}): Promise<TeamsRig> {
  const app = await openTestApp(opts.overrides);
  const connector = new ConnectorStandIn();
  await connector.start();
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, { write: (s: string) => void logs.push(JSON.parse(s)) });
  const ex = express();
  const server: Server = await new Promise((r) => {
    const s = ex.listen(0, '127.0.0.1', () => r(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const frontEnd = new TeamsFrontEnd(opts.settings ?? { mode: 'dev' }, opts.options);
  const principalsOf = (user: string, kind: string) => (app.policy().policy.users[user]?.identities ?? []).filter((p) => p.startsWith(`${kind}:`));
  await frontEnd.start({
    handle: (r, d) => app.pipeline.handle(r, d), principalsOf, log,
    http: { mount: (path, h) => void ex.use(path, h) }, config: app.config,
  });
  const deliveries: Promise<unknown>[] = [];
  app.services.notices.subscribe((n) => {
    for (const user of n.to) deliveries.push(frontEnd.deliverNotice(user, n).catch((e) => logs.push({ level: 'error', msg: String(e) })));
  });
  return {
    app, connector, frontEnd, url, logs,
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
      while (deliveries.length) await Promise.all(deliveries.splice(0));
    },
    async close() {
      await frontEnd.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await connector.stop();
      await app.cleanup();
    },
  };
}
