import { join } from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import {
  CardFactory, CloudAdapter, ConfigurationBotFrameworkAuthentication, TeamsActivityHandler, TurnContext,
  type Activity, type AdaptiveCardInvokeResponse, type AdaptiveCardInvokeValue, type ConversationParameters,
  type ConversationReference,
} from 'botbuilder';
import type { Delivery, NoticeChannel, Reply } from '../../core/types';
import type { OutboxNotice, SentRef } from '../../workflows/outbox';
import type { FrontEnd, FrontEndContext } from '../frontend';
import { COMMAND_VERB, readButton, readRefresh, REFRESH_VERB, renderCard, wantsCard, type ButtonClick } from './cards';
import { ConversationStore, type StoreWrite } from './conversations';
import type { TeamsSettings } from './settings';

/**
 * Microsoft Teams as a vmbot front-end: botbuilder's CloudAdapter at POST /api/messages on the
 * one HTTP host. It maps the Teams user to `teams:<AAD object id>`, hands the pipeline the
 * command (typed, or a card button's), and renders the reply: Adaptive Cards for structure,
 * plain text otherwise. Private replies asked in a channel go to the user's 1:1 chat. Every
 * botbuilder import stays in this folder (the Bot Framework SDK is archived; a move to its
 * successor must be a one-folder change). No policy and no audit here.
 */

export interface TeamsOptions {
  /**
   * Tests only: where the Bot Framework's OpenID metadata is read (default: botframework.com).
   * Lets a test sign tokens with its own key and show that a foreign key is refused.
   */
  openIdMetadataUrl?: string;
  /** Longest a button click holds Teams' invoke before answering "still working" (default 8 s). */
  invokeWaitMs?: number;
  /** Tests only: replaces the durable writes of teams-conversations.json and its journal (to hold one back). */
  conversationWrite?: StoreWrite;
}

interface Ref {
  /** conversation id, activity id, service URL, topic */
  c: string;
  a: string;
  s: string;
  t?: string;
}

const AAD = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHANNEL_AUDIENCE = 'https://api.botframework.com';
const CARD = 'application/vnd.microsoft.card.adaptive';
const MESSAGE = 'application/vnd.microsoft.activity.message';

/** Message model (docs/architecture.md): list, status, console grants and every denial are private. */
export function isPrivate(reply: Reply): boolean {
  const v = (reply as { visibility?: string }).visibility;
  return v ? v === 'private' : reply.status !== 'done' && reply.status !== 'pending';
}

/** The command in a message: the bot's @mention removed (channels, group chats), whitespace tidied. */
export function commandText(activity: Partial<Activity>): string {
  const a = { ...activity, entities: activity.entities ? [...activity.entities] : undefined } as Activity;
  const stripped = a.recipient ? TurnContext.removeRecipientMention(a) ?? a.text ?? '' : a.text ?? '';
  // Teams may leave a second mention of the bot (pasted text) and non-breaking spaces.
  const botName = activity.recipient?.name;
  let text = stripped.replace(/&nbsp;|\u00A0/g, ' ');
  if (botName) text = text.split(`<at>${botName}</at>`).join(' ');
  return text.replace(/\s+/g, ' ').trim();
}

export function activityFor(reply: Reply, opts: { refreshUserIds?: string[]; topic?: string } = {}): Partial<Activity> {
  if (!wantsCard(reply)) return { type: 'message', text: reply.text, textFormat: 'plain' };
  const refresh = opts.topic && opts.refreshUserIds?.length && reply.actions?.length ? { topic: opts.topic, userIds: opts.refreshUserIds } : undefined;
  return {
    type: 'message',
    // What a notification or a client without cards shows.
    summary: reply.text.split('\n')[0]!.slice(0, 200),
    attachments: [CardFactory.adaptiveCard(renderCard(reply, { refresh }))],
  };
}

export class TeamsFrontEnd implements FrontEnd {
  readonly name = 'teams';
  private host!: FrontEndContext;
  private adapter!: CloudAdapter;
  private store!: ConversationStore;
  private readonly bot: VmBot;
  private stopped = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly settings: TeamsSettings, private readonly opts: TeamsOptions = {}) {
    this.bot = new VmBot(this);
  }

  private get appId(): string {
    return this.settings.mode === 'authenticated' ? this.settings.appId : '';
  }

  get log(): Logger {
    return this.host.log;
  }

  async start(host: FrontEndContext): Promise<void> {
    this.host = host;
    this.store = ConversationStore.open(join(host.config.VMBOT_DATA_DIR, 'teams-conversations.json'), { write: this.opts.conversationWrite });
    const s = this.settings;
    // Overriding one endpoint makes botbuilder take every endpoint from the configuration, so
    // the public cloud's values are restated (they are botbuilder's own defaults).
    const metadata = this.opts.openIdMetadataUrl
      ? {
          ToBotFromChannelOpenIdMetadataUrl: this.opts.openIdMetadataUrl, ToBotFromEmulatorOpenIdMetadataUrl: this.opts.openIdMetadataUrl,
          ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com', ToChannelFromBotOAuthScope: CHANNEL_AUDIENCE,
          ToBotFromChannelTokenIssuer: CHANNEL_AUDIENCE, OAuthUrl: CHANNEL_AUDIENCE, CallerId: 'urn:botframework:azure', ValidateAuthority: true,
        }
      : {};
    const auth = new ConfigurationBotFrameworkAuthentication(
      s.mode === 'authenticated'
        ? { MicrosoftAppId: s.appId, MicrosoftAppPassword: s.password, MicrosoftAppTenantId: s.tenantId, MicrosoftAppType: 'SingleTenant', ...metadata }
        : {},
    );
    this.adapter = new CloudAdapter(auth);
    this.adapter.onTurnError = async (ctx, err) => {
      host.log.error({ err: err instanceof Error ? err.message : String(err), activityType: ctx.activity.type }, 'Teams: turn failed');
      if (ctx.activity.type === 'message') await ctx.sendActivity({ type: 'message', text: 'Something went wrong while handling that. The operator log has the details.', textFormat: 'plain' }).catch(() => undefined);
    };
    if (s.mode === 'dev')
      host.log.warn(
        'TEAMS DEV MODE (VMBOT_TEAMS_DEV=1): POST /api/messages accepts requests WITHOUT authentication. Anyone who can reach this address can act as any Teams user. Loopback only; never in production.',
      );
    else host.log.info({ appId: s.appId, tenantId: s.tenantId }, 'Teams: /api/messages checks every request\'s Bot Framework token (SingleTenant)');
    const router = express.Router();
    router.post('/', express.json({ limit: '512kb' }), (req, res) => void this.process(req, res));
    host.http.mount('/api/messages', router);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
    await this.storeFlushed();
  }

  /** The conversation store's changes on disk; a failure is the operator's to see, not the user's. */
  private async storeFlushed(): Promise<void> {
    await this.store?.flush().catch((e: unknown) => this.host.log.error({ err: e instanceof Error ? e.message : String(e) }, 'Teams: could not save teams-conversations.json (who can be reached proactively)'));
  }

  /** One POST: botbuilder authenticates, then the bot runs. Anything that fails before the bot ran is a 401. */
  private async process(req: express.Request, res: express.Response): Promise<void> {
    if (this.stopped) return void res.status(503).end();
    let reached = false;
    // botbuilder answers 500 for a token it cannot verify (a known key id with a bad signature):
    // whatever stops a request before the bot runs is an authentication failure to the caller.
    const guarded = new Proxy(res, {
      get: (target, prop, receiver) => {
        if (prop === 'status')
          return (code: number) => {
            if (!reached && code >= 500) {
              this.host.log.warn({ status: 401, ip: req.ip }, 'Teams: request refused (authentication failed); nothing ran');
              return target.status(401);
            }
            if (code === 401) this.host.log.warn({ status: 401, ip: req.ip }, 'Teams: request refused (no valid Bot Framework token); nothing ran');
            return target.status(code);
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const work = this.adapter
      .process(req, guarded as express.Response, async (ctx) => {
        reached = true;
        this.remember(ctx.activity);
        await this.bot.run(ctx);
        await this.storeFlushed(); // what this activity taught us is on disk before Teams hears "done"
      })
      .catch((e) => {
        this.host.log.error({ err: e instanceof Error ? e.message : String(e) }, 'Teams: request failed');
        if (!res.headersSent) res.status(reached ? 500 : 401).end();
      });
    this.inFlight.add(work);
    await work.finally(() => this.inFlight.delete(work));
  }

  /** Remember who wrote from where: the 1:1 chat, the user's Teams id, tenant, service URL. */
  private remember(a: Activity): void {
    const aad = a.from?.aadObjectId;
    const tenantId = a.conversation?.tenantId ?? (a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
    this.store.remember({
      aad: aad && AAD.test(aad) ? aad : undefined, userId: a.from?.id, name: a.from?.name, tenantId, serviceUrl: a.serviceUrl,
      botId: a.recipient?.id, personal: a.conversation?.conversationType === 'personal' ? a.conversation.id : undefined,
      channels: teamChannelsOf(a),
    });
  }

  /** The caller's principal, or null (then a reply has been given). */
  private async principal(ctx: TurnContext): Promise<string | null> {
    const a = ctx.activity;
    const aad = a.from?.aadObjectId;
    // SingleTenant: a valid token for our app id from someone else's tenant is still refused.
    const tenant = a.conversation?.tenantId ?? (a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
    if (this.settings.mode === 'authenticated' && tenant?.toLowerCase() !== this.settings.tenantId.toLowerCase()) {
      this.host.log.warn({ tenant: tenant ?? null }, 'Teams: activity from a tenant other than MicrosoftAppTenantId refused');
      const principal = aad && AAD.test(aad) ? `teams:${aad.toLowerCase()}` : 'teams:unknown-tenant-user';
      await this.host.refuse(
        { principal, text: commandText(a) || a.type || '', channel: { kind: 'teams', id: a.conversation?.id?.slice(0, 200) ?? '' } },
        `tenant ${tenant ?? 'unknown'} is not MicrosoftAppTenantId`,
      );
      if (a.type === 'message') await ctx.sendActivity({ type: 'message', textFormat: 'plain', text: 'This vmbot serves one Microsoft 365 organisation; it does not take requests from yours.' });
      return null;
    }
    if (aad && AAD.test(aad)) return `teams:${aad.toLowerCase()}`;
    // Still through the pipeline, so the attempt is audited (as an invalid request).
    await this.host.handle({ principal: 'teams:', text: ctx.activity.text ?? '', channel: { kind: 'teams', id: ctx.activity.conversation?.id?.slice(0, 200) ?? '' } });
    this.host.log.warn({ from: ctx.activity.from?.id }, 'Teams: message without an Entra object id (guest or anonymous user); refused');
    await ctx.sendActivity({ type: 'message', textFormat: 'plain', text: 'vmbot cannot tell who you are: this message carries no Entra ID (Azure AD) object id. Guests and anonymous users cannot use vmbot.' });
    return null;
  }

  /** Run one command for the caller and return the final reply; progress goes to this conversation. */
  /** The conversation of an activity, reached proactively (usable after its turn has ended). */
  private detached(activity: Activity): Conversation {
    const ref = TurnContext.getConversationReference(activity);
    const within = <T>(fn: (tc: TurnContext) => Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        this.adapter.continueConversationAsync(this.appId, ref, async (tc) => resolve(await fn(tc))).catch(reject);
      });
    return {
      activity,
      send: (a) => within(async (tc) => (await tc.sendActivity(a))?.id),
      update: (a, id) => within(async (tc) => void (await tc.updateActivity({ ...a, id }))),
    };
  }

  private async run(chat: Conversation, principal: string, text: string, inputs?: Record<string, string>): Promise<{ reply: Reply; progressId?: string }> {
    let progressId: string | undefined;
    const conv = chat.activity.conversation;
    const delivery: Delivery = {
      progress: async (r: Reply) => {
        // A private command (console) never shows progress in a channel.
        if (isPrivate(r) && conv?.conversationType && conv.conversationType !== 'personal') return;
        if (progressId) await chat.update(activityFor(r), progressId);
        else progressId = await chat.send(activityFor(r));
      },
    };
    const reply = await this.host.handle(
      { principal, text, inputs, channel: { kind: 'teams', id: conv?.id?.slice(0, 200) ?? '' }, idempotencyKey: chat.activity.id ? `teams:${chat.activity.id}`.slice(0, 200) : undefined },
      delivery,
    );
    return { reply, progressId };
  }

  /** Show the final reply where it belongs: in place of the progress message, or privately. */
  private async respond(chat: Conversation, reply: Reply, progressId?: string): Promise<void> {
    const a = chat.activity;
    const type = a.conversation?.conversationType;
    if (isPrivate(reply) && type && type !== 'personal') {
      const sent = await this.sendToUser(a.from.aadObjectId!, activityFor(reply), a.from.id);
      const who = a.from.name ? `${a.from.name}: ` : '';
      const pointer = sent
        ? `${who}I have answered you in our 1:1 chat.`
        : `${who}I could not open a 1:1 chat with you, and I do not answer this in a channel. Add VM Bot for yourself (Apps > VM Bot > Add) and ask me there.`;
      const msg = { type: 'message', text: pointer, textFormat: 'plain' } as Partial<Activity>;
      if (progressId) await chat.update(msg, progressId);
      else await chat.send(msg);
      return;
    }
    if (progressId) await chat.update(activityFor(reply), progressId);
    else await chat.send(activityFor(reply));
  }

  async onMessage(ctx: TurnContext): Promise<void> {
    const a = ctx.activity;
    const principal = await this.principal(ctx);
    if (!principal) return;
    // Action.Submit (clients without Universal Actions): a message whose value is the button's data.
    if (a.value && typeof a.value === 'object' && !a.text?.trim()) {
      const click = readButton(a.value);
      if (!click) return void (await ctx.sendActivity({ type: 'message', textFormat: 'plain', text: 'That button is not one of vmbot\'s.' }));
      const { reply, progressId } = await this.run(inTurn(ctx), principal, click.command, click.inputs);
      await this.respond(inTurn(ctx), reply, progressId);
      // A final decision reaches every approver's card (this one too) through the outbox; a first
      // approval under a two-person rule only changes the clicker's card: no second click for them.
      if (isDecision(click) && reply.status === 'pending' && a.replyToId)
        await ctx.updateActivity({ ...activityFor({ ...reply, actions: undefined, title: reply.title ?? 'Decided' }), id: a.replyToId }).catch(() => undefined);
      return;
    }
    const text = commandText(a);
    const { reply, progressId } = await this.run(inTurn(ctx), principal, text);
    await this.respond(inTurn(ctx), reply, progressId);
  }

  async onCardAction(ctx: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const verb = value.action?.verb;
    if (verb === REFRESH_VERB) {
      const topic = readRefresh(value.action.data);
      const latest = topic ? (this.store.topic(topic) as Reply | undefined) : undefined;
      if (!topic || !latest) return { statusCode: 404, type: 'application/vnd.microsoft.error', value: { code: 'NotFound', message: 'vmbot has no current view of this card.' } as never };
      return { statusCode: 200, type: CARD, value: renderCard(latest, { refresh: { topic, userIds: [ctx.activity.from.id] } }) as never };
    }
    if (verb !== COMMAND_VERB) return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'NotSupported', message: `unknown verb ${verb}` } as never };
    const click = readButton(value.action.data);
    if (!click) return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'not a vmbot button' } as never };
    const principal = await this.principal(ctx);
    if (!principal) return { statusCode: 200, type: MESSAGE, value: 'vmbot refused this request: it cannot tell who you are, or you are not in its tenant.' as never };
    const chat = this.detached(ctx.activity);
    const work = (async () => {
      const { reply, progressId } = await this.run(chat, principal, click.command, click.inputs);
      // VM buttons (start, stop, console) answer in the conversation like a typed command;
      // approval cards answer on the card itself and in the clicker's toast.
      if (!isDecision(click)) await this.respond(chat, reply, progressId);
      return reply;
    })();
    // Shutdown waits for it, also when Teams has had its answer already.
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    const waited = await Promise.race([work, sleep(this.opts.invokeWaitMs ?? 8000).then(() => null)]);
    if (!waited) {
      work.catch((e) => this.host.log.error({ err: String(e) }, 'Teams: card action failed'));
      return { statusCode: 200, type: MESSAGE, value: 'Still working on it: the result follows in this chat.' as never };
    }
    const ok = waited.status === 'done' || waited.status === 'pending';
    if (isDecision(click) && ok) return { statusCode: 200, type: CARD, value: renderCard({ ...waited, actions: undefined, title: waited.title ?? 'Decided' }) as never };
    return { statusCode: 200, type: MESSAGE, value: waited.text as never };
  }

  /** The user's 1:1 chat with the bot: remembered, or opened now (tenant + AAD object id). */
  private async personalChat(aad: string, userId?: string): Promise<Partial<ConversationReference> | null> {
    const entry = this.store.user(aad);
    const serviceUrl = entry?.serviceUrl ?? this.store.serviceUrl;
    const tenantId = entry?.tenantId ?? (this.settings.mode === 'authenticated' ? this.settings.tenantId : this.store.tenantId);
    const bot = { id: this.store.botId ?? (this.appId ? `28:${this.appId}` : '28:vmbot'), name: 'VM Bot' };
    if (entry?.personal && serviceUrl)
      return { channelId: 'msteams', serviceUrl, bot, conversation: { id: entry.personal, conversationType: 'personal', tenantId, isGroup: false, name: '' }, user: { id: entry.userId ?? aad, name: entry.name ?? '' } };
    if (!serviceUrl) {
      this.log.warn({ aad }, 'Teams: cannot reach this user yet: nobody has written to the bot since it started with this data directory, so the Teams service URL is unknown');
      return null;
    }
    const params = {
      isGroup: false, bot, tenantId, channelData: { tenant: { id: tenantId } },
      members: [{ id: entry?.userId ?? userId ?? aad, name: '' }],
    } as unknown as ConversationParameters;
    let conversationId: string | undefined;
    try {
      await this.adapter.createConversationAsync(this.appId, 'msteams', serviceUrl, CHANNEL_AUDIENCE, params, async (tc) => {
        conversationId = tc.activity.conversation.id;
      });
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 403 || status === 404 || status === 400) {
        this.log.warn(
          { aad, status },
          'Teams: cannot reach this user: opening a 1:1 chat was refused. VM Bot is probably not installed for them; install it for them (Teams admin centre: app setup policy) or ask them to add it.',
        );
        return null;
      }
      throw e;
    }
    if (!conversationId) return null;
    this.store.remember({ aad, personal: conversationId, serviceUrl, tenantId });
    await this.storeFlushed();
    return this.personalChat(aad, userId);
  }

  /** Send to a user's 1:1 chat; the id of the message sent, or null when the user cannot be reached. */
  private async sendToUser(aad: string, activity: Partial<Activity>, userId?: string): Promise<{ id: string; conversationId: string; serviceUrl: string } | null> {
    const ref = await this.personalChat(aad, userId);
    if (!ref) return null;
    let id: string | undefined;
    await this.adapter.continueConversationAsync(this.appId, ref, async (tc) => {
      id = (await tc.sendActivity(activity))?.id;
    });
    return id ? { id, conversationId: ref.conversation!.id, serviceUrl: ref.serviceUrl! } : null;
  }

  /** Outbox: a notice to one policy user, in their 1:1 chat. */
  async deliverNotice(user: string, notice: OutboxNotice): Promise<{ ref: string } | null> {
    const aads = this.host.principalsOf(user, 'teams').map((p) => p.slice('teams:'.length)).filter((a) => AAD.test(a));
    if (!aads.length) return null;
    let first: { ref: string } | null = null;
    for (const aad of aads) {
      const entry = this.store.user(aad);
      const activity = activityFor(notice.reply, { topic: notice.topic, refreshUserIds: entry?.userId ? [entry.userId] : undefined });
      const sent = await this.sendToUser(aad, activity);
      if (!sent) {
        this.log.warn({ user, aad }, `Teams: notice for ${user} not delivered in Teams (user cannot be reached)`);
        continue;
      }
      if (notice.topic && !this.store.topic(notice.topic)) this.store.setTopic(notice.topic, notice.reply);
      first ??= { ref: JSON.stringify({ c: sent.conversationId, a: sent.id, s: sent.serviceUrl, ...(notice.topic ? { t: notice.topic } : {}) } satisfies Ref) };
    }
    await this.storeFlushed();
    return first;
  }

  /**
   * Outbox: a post in the configured channel for `channel` (VMBOT_TEAMS_AUDIT_CHANNEL), as a new
   * thread in that channel (Bot Framework: create a conversation with channelData.channel.id and
   * the activity; TeamsInfo.sendMessageToTeamsChannel does the same within a turn). Plain text, so
   * what an auditor copies from Teams is exactly what was sent. The service URL is the one seen
   * in that team (or the last one seen): until someone has written to the bot or added it to a
   * team, the post waits and is retried.
   */
  async deliverToChannel(channel: NoticeChannel, notice: OutboxNotice): Promise<{ ref: string } | null> {
    const id = channel === 'audit' ? this.host.config.VMBOT_TEAMS_AUDIT_CHANNEL : undefined;
    if (!id) return null;
    const seen = this.store.channel(id);
    const serviceUrl = seen?.serviceUrl ?? this.store.serviceUrl;
    if (!serviceUrl)
      throw new Error(`VMBOT_TEAMS_AUDIT_CHANNEL: cannot post yet: the Teams service URL is unknown until VM Bot is added to the team or receives a message`);
    const tenantId = this.settings.mode === 'authenticated' ? this.settings.tenantId : seen?.tenantId ?? this.store.tenantId;
    const activity = { type: 'message', text: notice.reply.text, textFormat: 'plain' } as Partial<Activity>;
    const params = {
      isGroup: true, bot: { id: this.store.botId ?? (this.appId ? `28:${this.appId}` : '28:vmbot'), name: 'VM Bot' }, tenantId,
      channelData: { channel: { id }, tenant: { id: tenantId } }, activity,
    } as unknown as ConversationParameters;
    let thread = '';
    await this.adapter.createConversationAsync(this.appId, 'msteams', serviceUrl, CHANNEL_AUDIENCE, params, async (tc) => {
      thread = tc.activity.conversation.id;
    });
    return { ref: JSON.stringify({ c: thread, a: '', s: serviceUrl } satisfies Ref) };
  }

  /** Outbox: replace a card sent earlier (the request was decided: show who decided). */
  async updateNotice(sent: SentRef, reply: Reply): Promise<void> {
    const ref = JSON.parse(sent.ref) as Ref;
    if (ref.t) this.store.setTopic(ref.t, reply);
    const conversation = { id: ref.c, conversationType: 'personal', isGroup: false, name: '' };
    await this.adapter.continueConversationAsync(this.appId, { channelId: 'msteams', serviceUrl: ref.s, conversation, bot: { id: this.store.botId ?? '', name: '' } }, async (tc) => {
      await tc.updateActivity({ ...activityFor({ ...reply, actions: reply.actions ?? [] }), id: ref.a, conversation: conversation as never });
    });
    await this.storeFlushed();
  }
}

/**
 * Where a command's messages go: the turn itself (typed messages, Action.Submit), or, for a
 * button's invoke, the same conversation reached proactively, because Teams gets the invoke's
 * answer at once while a slow action's final state is posted after that turn has ended.
 */
interface Conversation {
  activity: Activity;
  send(a: Partial<Activity>): Promise<string | undefined>;
  update(a: Partial<Activity>, id: string): Promise<void>;
}

const inTurn = (ctx: TurnContext): Conversation => ({
  activity: ctx.activity,
  send: async (a) => (await ctx.sendActivity(a))?.id,
  update: async (a, id) => void (await ctx.updateActivity({ ...a, id })),
});

/**
 * The team channels an activity comes from: the channel of a channel message, and the team's
 * General channel (its id is the team id) when the bot is added to a team.
 */
function teamChannelsOf(a: Activity): string[] {
  const data = a.channelData as { channel?: { id?: string }; team?: { id?: string } } | undefined;
  const out = new Set<string>();
  if (data?.channel?.id) out.add(data.channel.id);
  if (data?.team?.id) out.add(data.team.id);
  if (a.conversation?.conversationType === 'channel' && a.conversation.id) out.add(a.conversation.id.split(';')[0]!);
  return [...out].filter((id) => /^19:[^;\s]{1,200}$/.test(id));
}

const isDecision = (click: ButtonClick) => /^(approve|deny):/.test(click.actionId);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** botbuilder's activity routing; the work is in TeamsFrontEnd. */
class VmBot extends TeamsActivityHandler {
  constructor(private readonly fe: TeamsFrontEnd) {
    super();
    this.onMessage(async (ctx, next) => {
      await this.fe.onMessage(ctx);
      await next();
    });
  }

  protected override onAdaptiveCardInvoke(ctx: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    return this.fe.onCardAction(ctx, value);
  }
}
