import { z } from 'zod';
import { readFileIfExists, writeFileDurableAsync } from '../../state/durable-file';

/**
 * What the Teams front-end remembers to reach people proactively: per user (AAD object id),
 * their Teams user id and their 1:1 chat with the bot; the service URL, tenant and bot id seen
 * last (to open a 1:1 chat for someone who never wrote to the bot); and, per notice topic, the
 * latest reply, so a card refresh shows the current state. One JSON file in the data directory,
 * replaced atomically off the event loop (temp + fsync + rename): a restart does not lose who
 * can be reached. Changes made while a write is on its way go out together in the next one, and
 * an activity that changes nothing writes nothing.
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

const sameUser = (a: UserEntry, b: UserEntry) =>
  a.userId === b.userId && a.name === b.name && a.tenantId === b.tenantId && a.serviceUrl === b.serviceUrl && a.personal === b.personal;

export class ConversationStore {
  private data: StoreFile;
  /** Changes not yet handed to a write. */
  private dirty = false;
  /** The write on its way (it carries every change made before it started). */
  private writing: Promise<void> | null = null;
  private lastError: unknown = null;

  private constructor(private readonly file: string, data: StoreFile, private readonly write: typeof writeFileDurableAsync) {
    this.data = data;
  }

  /** `write` replaces the durable file write (tests count and fail writes with it). */
  static open(file: string, opts: { write?: typeof writeFileDurableAsync } = {}): ConversationStore {
    const write = opts.write ?? writeFileDurableAsync;
    const text = readFileIfExists(file);
    if (text === null) return new ConversationStore(file, { version: 1, users: {}, topics: {}, channels: {} }, write);
    const parsed = StoreFile.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${file} is not a vmbot Teams conversation store: ${parsed.error.issues[0]?.message}`);
    return new ConversationStore(file, parsed.data, write);
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

  /**
   * Remember what an incoming activity tells us. Compared field by field (no serialising of the
   * whole store per activity: its cost would grow with the number of users); a change is
   * written in the background: flush() waits for it.
   */
  remember(seen: { aad?: string; userId?: string; name?: string; tenantId?: string; serviceUrl?: string; botId?: string; personal?: string; channels?: string[] }): void {
    let changed = false;
    for (const id of seen.serviceUrl ? seen.channels ?? [] : []) {
      const cur = this.data.channels[id];
      if (!cur || cur.serviceUrl !== seen.serviceUrl || cur.tenantId !== (seen.tenantId ?? cur.tenantId)) {
        this.data.channels[id] = { serviceUrl: seen.serviceUrl!, tenantId: seen.tenantId ?? cur?.tenantId, updatedAt: new Date().toISOString() };
        changed = true;
      }
    }
    for (const k of ['serviceUrl', 'tenantId', 'botId'] as const) {
      const v = seen[k];
      if (v && this.data[k] !== v) {
        this.data[k] = v;
        changed = true;
      }
    }
    if (seen.aad) {
      const key = seen.aad.toLowerCase();
      const cur = this.data.users[key];
      const next: UserEntry = {
        userId: seen.userId ?? cur?.userId, name: seen.name ?? cur?.name, tenantId: seen.tenantId ?? cur?.tenantId,
        serviceUrl: seen.serviceUrl ?? cur?.serviceUrl, personal: seen.personal ?? cur?.personal, updatedAt: new Date().toISOString(),
      };
      if (!cur || !sameUser(cur, next)) {
        this.data.users[key] = next;
        changed = true;
      }
    }
    if (changed) this.save();
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

  /**
   * Resolves once every change made before the call is on disk; rejects if writing failed
   * (after one more try).
   */
  async flush(): Promise<void> {
    if (this.writing) await this.writing;
    if (this.dirty) {
      this.save(); // what came in meanwhile, or one more try after a failed write
      await this.writing;
    }
    if (this.lastError) throw this.lastError;
  }

  private save(): void {
    this.dirty = true;
    this.writing ??= this.drain().finally(() => (this.writing = null));
  }

  /** One write at a time; each takes the data as it is when it starts. */
  private async drain(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      try {
        await this.write(this.file, `${JSON.stringify(this.data)}\n`);
        this.lastError = null;
      } catch (e) {
        this.lastError = e;
        this.dirty = true; // not on disk: the next change or flush() tries again
        return;
      }
    }
  }
}
