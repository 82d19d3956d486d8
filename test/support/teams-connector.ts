import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Bot Framework connector service (what `serviceUrl` points at), on
 * 127.0.0.1: the calls botbuilder makes to answer, update, read members and open 1:1 chats.
 * It keeps every message as it now reads (after updates), per conversation, so a test asserts
 * what a user in that chat would see.
 */

export interface SentActivity {
  id: string;
  conversationId: string;
  /** The activity as last sent or updated. */
  activity: Record<string, any>;
  /** Earlier versions, oldest first (an update pushes the previous one here). */
  history: Record<string, any>[];
  replyToId?: string;
}

export interface ConnectorCall {
  method: string;
  path: string;
  body: any;
  authorization?: string;
}

export interface Member {
  id: string;
  aadObjectId: string;
  name: string;
  tenantId?: string;
}

export class ConnectorStandIn {
  private server: Server | null = null;
  readonly calls: ConnectorCall[] = [];
  readonly messages: SentActivity[] = [];
  /** Conversations the bot created (1:1 chats), by id. */
  readonly created = new Map<string, { members: any[]; tenantId?: string; isGroup?: boolean }>();
  /** Members the members API knows, by 29: id and by AAD object id. */
  readonly members: Member[] = [];
  /** AAD object ids for whom the app is not installed: creating their 1:1 chat is refused (403). */
  readonly notInstalled = new Set<string>();
  private seq = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }

  /** Messages in one conversation, as they now read. */
  in(conversationId: string): SentActivity[] {
    return this.messages.filter((m) => m.conversationId === conversationId);
  }

  /** The 1:1 conversation id the stand-in created for a user (by AAD object id or 29: id). */
  personalChatOf(user: string): string | undefined {
    for (const [id, c] of this.created) if (c.members.some((m) => m.id === user || m.aadObjectId === user)) return id;
    return undefined;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      return this.send(res, 400, { error: { code: 'BadArgument', message: 'body is not JSON' } });
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    this.calls.push({ method: req.method ?? '', path: url.pathname, body, authorization: req.headers.authorization });
    if (parts[0] !== 'v3' || parts[1] !== 'conversations') return this.send(res, 404, { error: { code: 'NotFound', message: url.pathname } });
    const [, , conv, kind, id] = parts;
    if (!conv && req.method === 'POST') return this.createConversation(body, res);
    if (conv && kind === 'activities' && req.method === 'POST') {
      const sent: SentActivity = { id: `act-${++this.seq}`, conversationId: conv, activity: body, history: [], replyToId: id };
      this.messages.push(sent);
      return this.send(res, 201, { id: sent.id });
    }
    if (conv && kind === 'activities' && id && req.method === 'PUT') {
      const m = this.messages.find((x) => x.conversationId === conv && x.id === id);
      if (!m) return this.send(res, 404, { error: { code: 'ActivityNotFound', message: `no activity ${id} in ${conv}` } });
      m.history.push(m.activity);
      m.activity = body;
      return this.send(res, 200, { id });
    }
    if (conv && kind === 'members' && req.method === 'GET') {
      if (!id) return this.send(res, 200, this.members.map(asAccount));
      const m = this.members.find((x) => x.id === id || x.aadObjectId === id);
      return m ? this.send(res, 200, asAccount(m)) : this.send(res, 404, { error: { code: 'MemberNotFound', message: id } });
    }
    return this.send(res, 404, { error: { code: 'NotFound', message: `${req.method} ${url.pathname}` } });
  }

  private createConversation(body: any, res: ServerResponse) {
    // A new thread in a team channel (channelData.channel.id, with its first message): kept as a
    // message in that channel, so `in(<channel id>)` shows what the channel reads.
    const channel = body?.channelData?.channel?.id;
    if (channel) {
      if (!body.activity) return this.send(res, 400, { error: { code: 'BadArgument', message: 'activity required for a channel thread' } });
      const sent: SentActivity = { id: `act-${++this.seq}`, conversationId: channel, activity: body.activity, history: [] };
      this.messages.push(sent);
      return this.send(res, 201, { id: `${channel};messageid=${sent.id}`, activityId: sent.id });
    }
    const member = body?.members?.[0];
    if (!member?.id) return this.send(res, 400, { error: { code: 'BadArgument', message: 'members required' } });
    const known = this.members.find((m) => m.id === member.id || m.aadObjectId === member.id);
    const aad = known?.aadObjectId ?? member.id;
    // Teams answers 403 when the app is not installed for the user (no personal scope).
    if (this.notInstalled.has(aad)) return this.send(res, 403, { error: { code: 'Forbidden', message: 'The bot is not part of the conversation roster.' } });
    const id = `a:1:personal-${aad}`;
    this.created.set(id, { members: [{ id: known?.id ?? member.id, aadObjectId: aad }], tenantId: body.tenantId ?? body.channelData?.tenant?.id, isGroup: body.isGroup });
    return this.send(res, 201, { id, activityId: undefined, serviceUrl: undefined });
  }

  private send(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

const asAccount = (m: Member) => ({ id: m.id, name: m.name, aadObjectId: m.aadObjectId, tenantId: m.tenantId, userRole: 'user' });
