import { App, ExpressReceiver, LogLevel, webApi, type BlockAction, type ButtonAction, type Logger as BoltLogger } from '@slack/bolt';

// Bolt's own copy of the Web API client (no second dependency to keep in step).
const { WebClient } = webApi;
type WebClient = webApi.WebClient;
type WebClientOptions = webApi.WebClientOptions;
import { VmbotError } from '../../core/errors';
import type { Delivery, NoticeChannel, Reply } from '../../core/types';
import type { Logger } from '../../log/logger';
import type { OutboxNotice, SentRef } from '../../workflows/outbox';
import type { FrontEnd, FrontEndContext } from '../frontend';
import { ASK, INPUTS_VIEW, RUN, inputsModal, renderBlocks, type Block, type ButtonValue } from './render';

export interface SlackSettings {
  botToken: string;
  /** Socket Mode when set (xapp-); otherwise HTTP at POST /slack/events with the signing secret. */
  appToken?: string;
  signingSecret?: string;
  /** Web API base URL (tests: a local stand-in). */
  apiUrl?: string;
  /** Workspaces allowed; empty = any workspace the app is installed in. */
  teamIds: string[];
  /** Channel where approval cards are posted too. */
  approvalsChannel?: string;
  /** Channel where each signed audit checkpoint is posted. */
  auditChannel?: string;
}

/** What the code registers with Slack; manifest.json must declare the same (test/slack-manifest.test.ts). */
export const SLASH_COMMAND = '/vm';
export const BOT_EVENTS = ['app_home_opened'] as const;
/**
 * Bot scopes by Web API method used here: the manifest asks for exactly these. chat.postMessage
 * to a user id posts in the app's DM with them (no im:write needed); views.* and auth.test need none.
 */
export const SCOPE_OF_METHOD: Record<string, string | null> = {
  'auth.test': null, 'chat.postMessage': 'chat:write', 'chat.postEphemeral': 'chat:write', 'chat.update': 'chat:write',
  'views.open': null, 'views.publish': null,
};
export const SLASH_COMMAND_SCOPE = 'commands';

/** Clicks of one button by one user this close together are one request (a double click). */
const DOUBLE_CLICK_MS = 10_000;

/** Where a reply to a click goes, kept in a modal's private_metadata. */
interface ReplyRoute {
  responseUrl?: string;
  channel?: string;
}

/** Bolt logs through the operator log (never tokens: Bolt does not log them, pino redacts keys). */
const boltLogger = (log: Logger): BoltLogger => {
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...m) => log.debug(text(m)),
    info: (...m) => log.info(text(m)),
    warn: (...m) => log.warn(text(m)),
    error: (...m) => log.error(text(m)),
    setLevel: (l) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
};

/**
 * Slack through Bolt: `/vm <text>` acked at once and answered through response_url; private
 * replies ephemeral; progress replaced by the final state; Block Kit with per-VM buttons,
 * confirm dialogs and a modal for inputs (Deny's reason); approval cards by DM (and an optional
 * channel), updated everywhere when decided; App Home. Identity: `slack:<user id>`.
 */
export class SlackFrontEnd implements FrontEnd {
  readonly name = 'slack';
  private ctx!: FrontEndContext;
  private app!: App;
  private web!: WebClient;
  private readonly pending = new Set<Promise<unknown>>();
  /** The last click per clicker and button (see clickKey). */
  private readonly recentClicks = new Map<string, { key: string; at: number }>();

  constructor(private readonly s: SlackSettings) {}

  async start(ctx: FrontEndContext): Promise<void> {
    this.ctx = ctx;
    const logger = boltLogger(ctx.log);
    // Few retries: the notice outbox retries with its own backoff, and a click's reply is late anyway after a minute.
    const clientOptions: WebClientOptions = { ...(this.s.apiUrl ? { slackApiUrl: this.s.apiUrl } : {}), retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 500 }, logger };
    this.web = new WebClient(this.s.botToken, clientOptions);
    // A wrong or revoked token stops start-up with a message naming the variable.
    let auth;
    try {
      auth = await this.web.auth.test();
    } catch (e) {
      throw new VmbotError('config', `SLACK_BOT_TOKEN: Slack did not accept the token (${slackError(e)})`);
    }
    const botId = auth.bot_id ?? undefined;
    const botUserId = auth.user_id ?? undefined;
    if (this.s.appToken) {
      this.app = new App({ token: this.s.botToken, appToken: this.s.appToken, socketMode: true, botId, botUserId, clientOptions, logger });
    } else {
      const receiver = new ExpressReceiver({ signingSecret: this.s.signingSecret!, endpoints: '/slack/events', processBeforeResponse: false, logger });
      this.app = new App({ receiver, token: this.s.botToken, botId, botUserId, clientOptions, logger });
      ctx.http.mount('/', receiver.router);
    }
    this.register();
    if (this.s.appToken) {
      try {
        await this.app.start();
      } catch (e) {
        throw new VmbotError('config', `SLACK_APP_TOKEN: Socket Mode could not connect (${slackError(e)})`);
      }
    }
    ctx.log.info({ mode: this.s.appToken ? 'socket' : 'http', team: auth.team_id, botUserId }, 'Slack connected');
  }

  async stop(): Promise<void> {
    if (this.s.appToken) await this.app?.stop().catch(() => undefined);
    // Answers still being delivered (response_url, chat.postMessage) finish before the process ends.
    await this.settled();
  }

  /** Resolves once all work started after an ack (pipeline runs, replies) has finished. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** Run `work` after the ack, tracked for shutdown; errors go to the log, never to Bolt. */
  private later(what: string, work: () => Promise<unknown>): void {
    // Started after the I/O already waiting (other requests to ack) has been handled.
    const p = new Promise<void>((r) => setImmediate(r)).then(work).catch((e) => this.ctx.log.error({ what, error: slackError(e) }, 'Slack delivery failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private allowedTeam(teamId: string | undefined | null): boolean {
    return !this.s.teamIds.length || (!!teamId && this.s.teamIds.includes(teamId));
  }

  private refuse(teamId: string | undefined | null, user: string, text: string, channel: string): Promise<Reply> {
    this.ctx.log.warn({ team: teamId, user }, 'request from a workspace outside VMBOT_SLACK_TEAM_IDS refused');
    return this.ctx.refuse({ principal: `slack:${user}`, text, channel: { kind: 'slack', id: channel } }, `workspace ${teamId ?? 'unknown'} is not in VMBOT_SLACK_TEAM_IDS`);
  }

  private register(): void {
    const app = this.app;

    app.command(SLASH_COMMAND, async ({ command, ack, respond }) => {
      if (!this.allowedTeam(command.team_id)) {
        const r = await this.refuse(command.team_id, command.user_id, command.text, command.channel_id);
        return void (await ack({ response_type: 'ephemeral', ...renderBlocks(r) }));
      }
      await ack();
      this.later('slash command', () =>
        this.ctx.handle(
          { principal: `slack:${command.user_id}`, text: command.text, channel: { kind: 'slack', id: command.channel_id }, idempotencyKey: `cmd:${command.trigger_id}` },
          this.viaResponseUrl((m) => respond(m)),
        ),
      );
    });

    app.action<BlockAction<ButtonAction>>(new RegExp(`^(${RUN}|${ASK}):`), async ({ ack, body, action, respond, client }) => {
      await ack();
      const team = body.team?.id ?? body.user.team_id;
      const value = parseValue(action.value);
      const channel = body.channel?.id ?? body.container?.channel_id ?? '';
      if (!this.allowedTeam(team)) return this.later('refusal', async () => respond({ response_type: 'ephemeral', replace_original: false, ...renderBlocks(await this.refuse(team, body.user.id, value?.c ?? '', channel)) }));
      if (!value) return;
      const route: ReplyRoute = { responseUrl: body.response_url, channel: body.container?.type === 'view' ? undefined : channel };
      if (action.action_id.startsWith(ASK)) {
        // Inputs first (Deny: the reason), in a modal; the command runs on submission.
        const title = value.c.split(' ')[0]!.replace(/^./, (c) => c.toUpperCase());
        return this.later('open modal', () => client.views.open({ trigger_id: body.trigger_id, view: inputsModal(value, JSON.stringify({ v: value, r: route }), title) as never }));
      }
      const where = body.container?.message_ts ?? body.view?.id ?? body.trigger_id;
      const key = this.clickKey(body.user.id, `${where}:${action.action_id}`, action.action_ts);
      this.later('button', () => this.runClick(body.user.id, value.c, undefined, key, route, body.view?.type === 'home'));
    });

    app.view(INPUTS_VIEW, async ({ ack, body, view }) => {
      const meta = parseMeta(view.private_metadata);
      if (!meta) return void (await ack());
      const inputs: Record<string, string> = {};
      const errors: Record<string, string> = {};
      for (const i of meta.v.in ?? []) {
        const v = (view.state.values[`in:${i.name}`]?.value?.value ?? '').trim();
        if (v.length < (i.minLength ?? 0)) errors[`in:${i.name}`] = `Please write at least ${i.minLength} characters.`;
        inputs[i.name] = v;
      }
      if (Object.keys(errors).length) return void (await ack({ response_action: 'errors', errors }));
      await ack();
      const team = body.team?.id ?? body.user.team_id;
      if (!this.allowedTeam(team)) return void this.later('refusal', () => this.refuse(team, body.user.id, meta.v.c, meta.r.channel ?? ''));
      this.later('modal', () => this.runClick(body.user.id, meta.v.c, inputs, `view:${view.id}`, meta.r, false));
    });

    app.event(BOT_EVENTS[0], async ({ event, body }) => {
      if (event.tab !== 'home') return;
      const team = (body as { team_id?: string }).team_id;
      if (!this.allowedTeam(team)) return void this.later('refusal', () => this.refuse(team, event.user, 'app home', 'home'));
      this.later('home', () => this.publishHome(event.user));
    });
  }

  /**
   * The idempotency key of a click. A redelivered payload carries the same action_ts, so it gets
   * the same key; a double click (a second payload within DOUBLE_CLICK_MS) is given the first
   * click's key. A later click of the same button on the same message is a new request: keying on
   * the button alone answered it with the first reply for a day ("web01 is running" while it was off).
   */
  private clickKey(user: string, button: string, actionTs: string | undefined): string {
    const at = Number(actionTs) * 1000 || Date.now();
    const id = `${user}:${button}`;
    const last = this.recentClicks.get(id);
    if (last && Math.abs(at - last.at) < DOUBLE_CLICK_MS) return last.key;
    for (const [k, v] of this.recentClicks) if (Math.abs(at - v.at) >= DOUBLE_CLICK_MS) this.recentClicks.delete(k);
    const key = `btn:${button}:${actionTs ?? at}`.slice(0, 200);
    this.recentClicks.set(id, { key, at });
    return key;
  }

  /** A click re-enters the pipeline as its command under the clicker's principal. */
  private async runClick(user: string, text: string, inputs: Record<string, string> | undefined, key: string, route: ReplyRoute, fromHome: boolean) {
    const delivery: Delivery = route.responseUrl
      ? this.viaResponseUrl((m) => postJson(route.responseUrl!, m), true)
      : { final: (reply) => this.post(user, route.channel, reply) };
    await this.ctx.handle({ principal: `slack:${user}`, text, inputs, channel: { kind: 'slack', id: route.channel ?? 'home' }, idempotencyKey: key }, delivery);
    if (fromHome) await this.publishHome(user);
  }

  /**
   * Replies through response_url (slash commands, buttons in messages): progress is posted
   * ephemeral, and the final reply replaces it; a final for the conversation removes the
   * progress and is posted in the channel. For a click, Slack applies replace_original and
   * delete_original to the message the button is on (the list, the approval card), not to our
   * progress, so a click's answers are always new messages.
   */
  private viaResponseUrl(send: (m: Record<string, unknown>) => Promise<unknown>, click = false): Delivery {
    return {
      progress: async (reply, previous) => {
        await send({ response_type: 'ephemeral', replace_original: !click && !!previous, ...renderBlocks(reply) });
        return { ref: 'response_url' };
      },
      final: async (reply, handle) => {
        if (reply.visibility === 'conversation') {
          if (handle && !click) await send({ delete_original: true });
          await send({ response_type: 'in_channel', replace_original: false, ...renderBlocks(reply) });
        } else await send({ response_type: 'ephemeral', replace_original: !click && !!handle, ...renderBlocks(reply) });
      },
    };
  }

  /** A reply without response_url (App Home, modal): ephemeral in the channel, or a DM. */
  private async post(user: string, channel: string | undefined, reply: Reply) {
    const msg = renderBlocks(reply);
    if (channel && reply.visibility === 'conversation') await this.web.chat.postMessage({ channel, ...msg });
    else if (channel) await this.web.chat.postEphemeral({ channel, user, ...msg });
    else await this.web.chat.postMessage({ channel: user, ...msg });
  }

  /** App Home: the user's VMs with buttons, their console grants, requests waiting for them. */
  async publishHome(user: string): Promise<void> {
    const ask = (text: string) => this.ctx.handle({ principal: `slack:${user}`, text, channel: { kind: 'slack', id: 'home' } });
    const [vms, grants, requests] = [await ask('list'), await ask('console'), await ask('requests')];
    const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: 'vmbot' } }];
    const section = (title: string, r: Reply) => {
      if (r.status === 'denied' || r.status === 'invalid') return;
      const { blocks: b } = renderBlocks({ ...r, title: undefined, auditId: undefined });
      blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: `*${title}*` } }, ...b);
    };
    section('Your VMs', vms);
    section('Your console access', grants);
    section('Requests', requests);
    if (blocks.length === 1) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'You hold no rights in vmbot yet. Ask a platform admin.' } });
    await this.web.views.publish({ user_id: user, view: { type: 'home', blocks: blocks.slice(0, 100) as never } });
  }

  // --- notices (called by the outbox, with retry) ---

  async deliverNotice(user: string, notice: OutboxNotice): Promise<{ ref: string } | null> {
    const msg = renderBlocks(notice.reply);
    const sent: Array<{ channel: string; ts: string }> = [];
    for (const p of this.ctx.principalsOf(user, 'slack')) {
      const r = await this.web.chat.postMessage({ channel: p.slice('slack:'.length), ...msg });
      if (r.channel && r.ts) sent.push({ channel: r.channel, ts: r.ts });
    }
    // Approval cards go to the approvals channel once (with the first recipient's delivery).
    if (this.s.approvalsChannel && notice.topic?.startsWith('request:') && user === notice.to[0]) {
      const r = await this.web.chat.postMessage({ channel: this.s.approvalsChannel, ...msg });
      if (r.channel && r.ts) sent.push({ channel: r.channel, ts: r.ts });
    }
    return sent.length ? { ref: JSON.stringify(sent) } : null;
  }

  /** Outbox: a post in the configured channel for `channel` (the audit channel); null when none is configured. */
  async deliverToChannel(channel: NoticeChannel, notice: OutboxNotice): Promise<{ ref: string } | null> {
    const id = channel === 'audit' ? this.s.auditChannel : undefined;
    if (!id) return null;
    const r = await this.web.chat.postMessage({ channel: id, ...renderBlocks(notice.reply) });
    return { ref: JSON.stringify([{ channel: r.channel ?? id, ts: r.ts ?? '' }]) };
  }

  async updateNotice(sent: SentRef, reply: Reply): Promise<void> {
    const msg = renderBlocks(reply);
    for (const m of JSON.parse(sent.ref) as Array<{ channel: string; ts: string }>) await this.web.chat.update({ channel: m.channel, ts: m.ts, ...msg });
  }
}

function parseValue(v: string | undefined): ButtonValue | null {
  try {
    const x = JSON.parse(v ?? '') as ButtonValue;
    return typeof x?.c === 'string' ? x : null;
  } catch {
    return null;
  }
}

function parseMeta(v: string): { v: ButtonValue; r: ReplyRoute } | null {
  try {
    const x = JSON.parse(v) as { v: ButtonValue; r: ReplyRoute };
    return typeof x?.v?.c === 'string' ? { v: x.v, r: x.r ?? {} } : null;
  } catch {
    return null;
  }
}

async function postJson(url: string, body: unknown): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`response_url answered ${r.status}`);
}

/** Slack's error code when there is one (invalid_auth, not_authed…), never a token. */
function slackError(e: unknown): string {
  const data = (e as { data?: { error?: string } })?.data;
  return data?.error ?? (e instanceof Error ? e.message : String(e));
}
