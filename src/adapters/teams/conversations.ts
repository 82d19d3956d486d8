import { z } from 'zod';
import { readFileIfExists, writeFileDurable } from '../../state/durable-file';

/**
 * What the Teams front-end remembers to reach people proactively: per user (AAD object id),
 * their Teams user id and their 1:1 chat with the bot; the service URL, tenant and bot id seen
 * last (to open a 1:1 chat for someone who never wrote to the bot); and, per notice topic, the
 * latest reply, so a card refresh shows the current state. One small JSON file in the data
 * directory, replaced atomically: a restart does not lose who can be reached.
 */

const UserEntry = z.object({
  /** Teams user id (`29:…`), needed for `refresh.userIds`. */
  userId: z.string().max(300).optional(),
  name: z.string().max(200).optional(),
  tenantId: z.string().max(100).optional(),
  serviceUrl: z.string().max(500).optional(),
  /** The 1:1 conversation between this user and the bot. */
  personal: z.string().max(500).optional(),
  updatedAt: z.string(),
});
export type UserEntry = z.infer<typeof UserEntry>;

const StoreFile = z.object({
  version: z.literal(1),
  serviceUrl: z.string().max(500).optional(),
  tenantId: z.string().max(100).optional(),
  botId: z.string().max(300).optional(),
  users: z.record(z.string(), UserEntry),
  topics: z.record(z.string(), z.object({ reply: z.record(z.string(), z.unknown()), at: z.string() })).default({}),
  /**
   * Team channels the bot has seen (a message there, or being added to the team), by channel
   * id (19:…@thread.tacv2): the service URL and tenant to post there proactively (the audit channel).
   */
  channels: z.record(z.string(), z.object({ serviceUrl: z.string().max(500), tenantId: z.string().max(100).optional(), updatedAt: z.string() })).default({}),
});
type StoreFile = z.infer<typeof StoreFile>;

const TOPIC_DAYS = 30;

export class ConversationStore {
  private data: StoreFile;

  private constructor(private readonly file: string, data: StoreFile) {
    this.data = data;
  }

  static open(file: string): ConversationStore {
    const text = readFileIfExists(file);
    if (text === null) return new ConversationStore(file, { version: 1, users: {}, topics: {}, channels: {} });
    const parsed = StoreFile.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${file} is not a vmbot Teams conversation store: ${parsed.error.issues[0]?.message}`);
    return new ConversationStore(file, parsed.data);
  }

  get serviceUrl() {
    return this.data.serviceUrl;
  }
  get tenantId() {
    return this.data.tenantId;
  }
  get botId() {
    return this.data.botId;
  }

  /** A team channel seen before: where to post in it. */
  channel(id: string): { serviceUrl: string; tenantId?: string } | undefined {
    return this.data.channels[id];
  }

  user(aad: string): UserEntry | undefined {
    return this.data.users[aad.toLowerCase()];
  }

  /** Remember what an incoming activity tells us; writes only when something changed. */
  remember(seen: { aad?: string; userId?: string; name?: string; tenantId?: string; serviceUrl?: string; botId?: string; personal?: string; channels?: string[] }): void {
    const before = JSON.stringify(this.data);
    for (const id of seen.serviceUrl ? seen.channels ?? [] : []) {
      const cur = this.data.channels[id];
      if (!cur || cur.serviceUrl !== seen.serviceUrl || cur.tenantId !== (seen.tenantId ?? cur.tenantId))
        this.data.channels[id] = { serviceUrl: seen.serviceUrl!, tenantId: seen.tenantId ?? cur?.tenantId, updatedAt: new Date().toISOString() };
    }
    if (seen.serviceUrl) this.data.serviceUrl = seen.serviceUrl;
    if (seen.tenantId) this.data.tenantId = seen.tenantId;
    if (seen.botId) this.data.botId = seen.botId;
    if (seen.aad) {
      const key = seen.aad.toLowerCase();
      const cur = this.data.users[key];
      const next: UserEntry = {
        userId: seen.userId ?? cur?.userId, name: seen.name ?? cur?.name, tenantId: seen.tenantId ?? cur?.tenantId,
        serviceUrl: seen.serviceUrl ?? cur?.serviceUrl, personal: seen.personal ?? cur?.personal, updatedAt: cur?.updatedAt ?? '',
      };
      const changed = JSON.stringify({ ...next, updatedAt: '' }) !== JSON.stringify({ ...(cur ?? {}), updatedAt: '' });
      if (changed || !cur) this.data.users[key] = { ...next, updatedAt: new Date().toISOString() };
    }
    if (JSON.stringify(this.data) !== before) this.save();
  }

  /** The latest reply shown under a topic (a request's approval cards). */
  topic(topic: string): Record<string, unknown> | undefined {
    return this.data.topics[topic]?.reply;
  }

  setTopic(topic: string, reply: object): void {
    const cutoff = Date.now() - TOPIC_DAYS * 86_400_000;
    for (const [k, t] of Object.entries(this.data.topics)) if (Date.parse(t.at) < cutoff) delete this.data.topics[k];
    this.data.topics[topic] = { reply: { ...reply }, at: new Date().toISOString() };
    this.save();
  }

  private save(): void {
    writeFileDurable(this.file, `${JSON.stringify(this.data, null, 2)}\n`);
  }
}
