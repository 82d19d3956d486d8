import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5'.replace(/[yz]/g, 'a');
export const BOT_TOKEN = 'xoxb-1111111111-2222222222-abcdefghijABCDEFGHIJ';
export const APP_TOKEN = 'xapp-1-A0VMBOT-3333333333-abcdef0123456789';
export const TEAM = 'T0VMBOT01';
export const USERS = { alice: 'U0ALICE001', bob: 'U0BOB00001', carol: 'U0CAROL001', erin: 'U0ERIN0001', mallory: 'U0MALLORY1', stranger: 'U0NOBODY01' } as const;

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
}

/**
 * A local stand-in for Slack: the Web API (VMBOT_SLACK_API_URL → /api/<method>), response_url
 * endpoints (/respond/<n>) and, for Socket Mode, the WebSocket that apps.connections.open names.
 */
export class SlackStandIn {
  readonly calls: ApiCall[] = [];
  readonly responses: Array<{ url: string; body: Record<string, unknown> }> = [];
  private server!: Server;
  private wss?: WebSocketServer;
  socket?: WebSocket;
  readonly acks: Array<{ envelope_id: string; payload?: unknown }> = [];
  /** Channels chat.postMessage refuses (the bot is not in them yet): answered `not_in_channel`. */
  readonly refusedChannels = new Set<string>();
  private ts = 1700000000;
  private n = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '';
        if (path.startsWith('/respond/')) {
          this.responses.push({ url: path, body: JSON.parse(body || '{}') });
          return void res.writeHead(200).end('ok');
        }
        const method = path.replace(/^\/api\//, '').split('?')[0]!;
        const args: Record<string, unknown> = (req.headers['content-type'] ?? '').includes('json')
          ? JSON.parse(body || '{}')
          : Object.fromEntries(new URLSearchParams(body));
        for (const k of ['blocks', 'view']) if (typeof args[k] === 'string') args[k] = JSON.parse(args[k] as string);
        this.calls.push({ method, args });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.answer(method, args, req.headers.authorization ?? '')));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private answer(method: string, args: Record<string, unknown>, auth: string): Record<string, unknown> {
    if (method === 'apps.connections.open') {
      if (auth !== `Bearer ${APP_TOKEN}`) return { ok: false, error: 'invalid_auth' };
      return { ok: true, url: this.wsUrl() };
    }
    if (auth !== `Bearer ${BOT_TOKEN}`) return { ok: false, error: 'invalid_auth' };
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'U0VMBOTBOT', bot_id: 'B0VMBOT001', team_id: TEAM, team: 'Example' };
      case 'chat.postMessage': {
        const ch = String(args.channel);
        if (this.refusedChannels.has(ch)) return { ok: false, error: 'not_in_channel' };
        return { ok: true, channel: ch.startsWith('U') ? `D${ch.slice(1)}` : ch, ts: `${++this.ts}.000100` };
      }
      default:
        return { ok: true };
    }
  }

  /** A response_url on this stand-in. */
  responseUrl(): string {
    return `${this.url}/respond/${++this.n}`;
  }

  private wsUrl(): string {
    if (!this.wss) {
      this.wss = new WebSocketServer({ server: this.server, path: '/socket' });
      this.wss.on('connection', (ws) => {
        this.socket = ws;
        ws.on('message', (m) => this.acks.push(JSON.parse(String(m))));
        ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'standin' }, connection_info: { app_id: 'A0VMBOT' } }));
      });
    }
    return `${this.url.replace('http', 'ws')}/socket`;
  }

  called(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async stop(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Sign a body as Slack does: v0=hex(HMAC_SHA256(secret, "v0:<ts>:<raw body>")). */
export function slackHeaders(body: string, opts: { secret?: string; ts?: number; contentType?: string } = {}) {
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  const sig = `v0=${createHmac('sha256', opts.secret ?? SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { 'content-type': opts.contentType ?? 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig };
}

let trigger = 0;
/** A /vm slash command as Slack's form encoding. */
export function slashBody(user: string, text: string, responseUrl: string, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    token: 'deprecated', team_id: TEAM, team_domain: 'example', channel_id: 'C0OPS00001', channel_name: 'ops', user_id: user, user_name: 'x',
    command: '/vm', text, response_url: responseUrl, trigger_id: `${Date.now()}.${++trigger}.abc`, api_app_id: 'A0VMBOT', ...extra,
  }).toString();
}

/** A block_actions payload for a button from one of our messages. */
export function blockActionsBody(user: string, button: { action_id: string; value: string }, opts: { responseUrl?: string; messageTs?: string; channel?: string; team?: string; view?: { id: string; type: string }; actionTs?: number }): string {
  const payload = {
    type: 'block_actions', user: { id: user, username: 'x', team_id: opts.team ?? TEAM }, api_app_id: 'A0VMBOT', team: { id: opts.team ?? TEAM, domain: 'example' },
    trigger_id: `${Date.now()}.${++trigger}.trig`, response_url: opts.responseUrl,
    ...(opts.view
      ? { container: { type: 'view', view_id: opts.view.id }, view: { id: opts.view.id, type: opts.view.type, hash: 'h1' } }
      : { channel: { id: opts.channel ?? 'D0ALICE001' }, container: { type: 'message', message_ts: opts.messageTs ?? '1700000001.000100', channel_id: opts.channel ?? 'D0ALICE001', is_ephemeral: false }, message: { ts: opts.messageTs ?? '1700000001.000100' } }),
    actions: [{ type: 'button', action_id: button.action_id, block_id: 'b', value: button.value, action_ts: `${opts.actionTs ?? Date.now() / 1000}` }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A view_submission for our inputs modal. */
export function viewSubmissionBody(user: string, view: { private_metadata: string; callback_id: string }, values: Record<string, string>, viewId = 'V0MODAL001'): string {
  const state = { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [`in:${k}`, { value: { type: 'plain_text_input', value: v } }])) };
  const payload = {
    type: 'view_submission', team: { id: TEAM, domain: 'example' }, user: { id: user, name: 'x', team_id: TEAM }, api_app_id: 'A0VMBOT', trigger_id: 't',
    view: { id: viewId, type: 'modal', callback_id: view.callback_id, private_metadata: view.private_metadata, state, hash: 'h' },
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** Every button in a set of blocks. */
export function buttons(blocks: unknown): Array<{ action_id: string; value: string; text: { text: string }; confirm?: unknown; style?: string }> {
  const out: Array<{ action_id: string; value: string; text: { text: string }; confirm?: unknown; style?: string }> = [];
  for (const b of (blocks as Array<{ type: string; elements?: unknown[] }>) ?? [])
    if (b.type === 'actions') for (const e of b.elements as typeof out) out.push(e);
  return out;
}
