import { z } from 'zod';
import { appendFileDurableAsync, readFileIfExists, writeFileDurable, writeFileDurableAsync } from '../../state/durable-file';

/**
 * What the Teams front-end remembers to reach people proactively: per user (AAD object id),
 * their Teams user id and their 1:1 chat with the bot; the service URL, tenant and bot id seen
 * last (to open a 1:1 chat for someone who never wrote to the bot); and, per notice topic, the
 * latest reply, so a card refresh shows the current state; the team channels seen.
 *
 * On disk: a snapshot (one JSON file) and a journal beside it (`.journal`, one JSON line per
 * change). A change appends its line (write + fsync, off the event loop), so what it costs
 * does not grow with the number of people the bot knows; changes made while an append is on
 * its way go out together in the next one, and an activity that changes nothing writes nothing.
 * Once the journal holds more lines than the snapshot has people (at least 1,000), the snapshot
 * is rewritten (temp + fsync + rename, serialised a slice of people at a time so that no request
 * waits behind it) and the journal emptied: amortised, a change costs the same at 50,000
 * people as at 50. Opening replays the journal over the snapshot: a restart does not lose who
 * can be reached, and a crash mid-append loses at most that one unfinished line.
 */

/** How the store writes: `append` a line to the journal, `replace` a whole file. Both durable. */
export type StoreWrite = (file: string, data: string | AsyncIterable<string>, how: 'append' | 'replace') => Promise<void>;
// An append is always one string (a few changes); a snapshot comes in pieces.
export const durableStoreWrite: StoreWrite = (file, data, how) => (how === 'replace' ? writeFileDurableAsync(file, data) : appendFileDurableAsync(file, data as string));

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

const Topic = z.object({ reply: z.record(z.string(), z.unknown()), at: z.string() });
const Channel = z.object({ serviceUrl: z.string().max(500), tenantId: z.string().max(100).optional(), updatedAt: z.string() });

const StoreFile = z.object({
  version: z.literal(1),
  serviceUrl: z.string().max(500).optional(),
  tenantId: z.string().max(100).optional(),
  botId: z.string().max(300).optional(),
  users: z.record(z.string(), UserEntry),
  topics: z.record(z.string(), Topic).default({}),
  /**
   * Team channels the bot has seen (a message there, or being added to the team), by channel
   * id (19:…@thread.tacv2): the service URL and tenant to post there proactively (the audit channel).
   */
  channels: z.record(z.string(), Channel).default({}),
});
type StoreFile = z.infer<typeof StoreFile>;

/**
 * One journal line: a whole new value for one key (replaying a line twice changes nothing). Keys
 * are held to what the snapshot allows, no less: a change written must always read back.
 */
const Change = z.union([
  z.object({ user: z.string(), entry: UserEntry }),
  z.object({ channel: z.string(), entry: Channel }),
  z.object({ topic: z.string(), entry: Topic.nullable() }),
  z.object({ set: z.enum(['serviceUrl', 'tenantId', 'botId']), value: z.string().max(500) }),
]);
type Change = z.infer<typeof Change>;

function parseChange(line: string): Change | null {
  try {
    const c = Change.safeParse(JSON.parse(line));
    return c.success ? c.data : null;
  } catch {
    return null; // not JSON
  }
}

function apply(data: StoreFile, c: Change): void {
  if ('user' in c) data.users[c.user] = c.entry;
  else if ('channel' in c) data.channels[c.channel] = c.entry;
  else if ('topic' in c) {
    if (c.entry) data.topics[c.topic] = c.entry;
    else delete data.topics[c.topic];
  } else data[c.set] = c.value;
}

/** People (or changes) serialised at a time for a snapshot or an append: a few ms of the event loop each. */
const SNAPSHOT_SLICE = 2000;

/**
 * The whole store as JSON text, in pieces, a slice of people at a time, the event loop free
 * between slices (written piece by piece: never one string of the whole store).
 */
async function* snapshotText(data: StoreFile): AsyncGenerator<string> {
  const { users, ...rest } = data;
  const keys = Object.keys(users);
  yield `${JSON.stringify(rest).slice(0, -1)},"users":{`;
  for (let i = 0; i < keys.length; i += SNAPSHOT_SLICE) {
    if (i) await new Promise((r) => setImmediate(r));
    yield (i ? ',' : '') + keys.slice(i, i + SNAPSHOT_SLICE).map((k) => `${JSON.stringify(k)}:${JSON.stringify(users[k])}`).join(',');
  }
  yield '}}\n';
}

const TOPIC_DAYS = 30;

const journalOf = (file: string) => `${file}.journal`;

const sameUser = (a: UserEntry, b: UserEntry) =>
  a.userId === b.userId && a.name === b.name && a.tenantId === b.tenantId && a.serviceUrl === b.serviceUrl && a.personal === b.personal;

export class ConversationStore {
  private data: StoreFile;
  /** Changes not yet handed to an append, in order. */
  private pending: Change[] = [];
  /** The append on its way (it carries every change made before it started). */
  private writing: Promise<void> | null = null;
  private lastError: unknown = null;
  /** Lines in the journal; past `compactAt` the snapshot is rewritten. */
  private journalLines: number;
  /** The number of people in the last snapshot (at least 1,000): counted once, not per change. */
  private compactAt: number;
  private readonly journal: string;

  private constructor(private readonly file: string, data: StoreFile, journalLines: number, private readonly write: StoreWrite) {
    this.data = data;
    this.journal = journalOf(file);
    this.journalLines = journalLines;
    this.compactAt = this.people();
  }

  private people(): number {
    return Math.max(1000, Object.keys(this.data.users).length);
  }

  /** `write` replaces the durable writes (tests count, hold and fail writes with it). */
  static open(file: string, opts: { write?: StoreWrite } = {}): ConversationStore {
    const text = readFileIfExists(file);
    let data: StoreFile = { version: 1, users: {}, topics: {}, channels: {} };
    if (text !== null) {
      const parsed = StoreFile.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`${file} is not a vmbot Teams conversation store: ${parsed.error.issues[0]?.message}`);
      data = parsed.data;
    }
    const journal = journalOf(file);
    const logged = readFileIfExists(journal);
    const end = (logged ?? '').lastIndexOf('\n') + 1;
    // A line a crash cut off was never acknowledged: dropped, so that the next append starts a line.
    // A missing journal is created now, durably, so that an append never has to.
    if (logged === null || end < logged.length) writeFileDurable(journal, (logged ?? '').slice(0, end));
    const changes = (logged ?? '').slice(0, end).split('\n').slice(0, -1);
    changes.forEach((line, n) => {
      const c = parseChange(line);
      if (!c) throw new Error(`${journal}, line ${n + 1}: not a change of the Teams conversation store`);
      apply(data, c);
    });
    return new ConversationStore(file, data, changes.length, opts.write ?? durableStoreWrite);
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
    for (const id of seen.serviceUrl ? seen.channels ?? [] : []) {
      const cur = this.data.channels[id];
      if (!cur || cur.serviceUrl !== seen.serviceUrl || cur.tenantId !== (seen.tenantId ?? cur.tenantId))
        this.change({ channel: id, entry: { serviceUrl: seen.serviceUrl!, tenantId: seen.tenantId ?? cur?.tenantId, updatedAt: new Date().toISOString() } });
    }
    for (const k of ['serviceUrl', 'tenantId', 'botId'] as const) {
      const v = seen[k];
      if (v && this.data[k] !== v) this.change({ set: k, value: v });
    }
    if (seen.aad) {
      const key = seen.aad.toLowerCase();
      const cur = this.data.users[key];
      const next: UserEntry = {
        userId: seen.userId ?? cur?.userId, name: seen.name ?? cur?.name, tenantId: seen.tenantId ?? cur?.tenantId,
        serviceUrl: seen.serviceUrl ?? cur?.serviceUrl, personal: seen.personal ?? cur?.personal, updatedAt: new Date().toISOString(),
      };
      if (!cur || !sameUser(cur, next)) this.change({ user: key, entry: next });
    }
  }

  /** The latest reply shown under a topic (a request's approval cards). */
  topic(topic: string): Record<string, unknown> | undefined {
    return this.data.topics[topic]?.reply;
  }

  setTopic(topic: string, reply: object): void {
    const cutoff = Date.now() - TOPIC_DAYS * 86_400_000;
    for (const [k, t] of Object.entries(this.data.topics)) if (Date.parse(t.at) < cutoff) this.change({ topic: k, entry: null });
    this.change({ topic, entry: { reply: { ...reply }, at: new Date().toISOString() } });
  }

  /**
   * Resolves once every change made before the call is on disk; rejects if writing failed
   * (after one more try).
   */
  async flush(): Promise<void> {
    if (this.writing) await this.writing;
    if (this.pending.length) {
      this.save(); // what came in meanwhile, or one more try after a failed write
      await this.writing;
    }
    if (this.lastError) throw this.lastError;
  }

  /** Apply a change in memory and queue its journal line. */
  private change(c: Change): void {
    apply(this.data, c);
    this.pending.push(c);
    this.save();
  }

  private save(): void {
    this.writing ??= this.drain().finally(() => (this.writing = null));
  }

  /**
   * One write at a time; each append takes the changes queued when it starts, up to a slice's
   * worth (serialising them holds the event loop: a few ms at most).
   */
  private async drain(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, SNAPSHOT_SLICE);
      try {
        await this.write(this.journal, batch.map((c) => `${JSON.stringify(c)}\n`).join(''), 'append');
        this.lastError = null;
      } catch (e) {
        this.lastError = e;
        this.pending = batch.concat(this.pending); // not on disk: the next change or flush() tries again
        return;
      }
      this.journalLines += batch.length;
      if (this.journalLines > this.compactAt) await this.compact();
    }
  }

  /**
   * The snapshot rewritten with everything, then the journal emptied. A crash in between replays
   * the old journal over the new snapshot: the same values again, nothing lost. Changes made
   * meanwhile wait in `pending` for the emptied journal. A failure leaves snapshot and journal
   * as they were (everything is on disk): it is tried again after the next change.
   */
  private async compact(): Promise<void> {
    try {
      await this.write(this.file, snapshotText(this.data), 'replace');
      await this.write(this.journal, '', 'replace');
      this.journalLines = 0;
      this.compactAt = this.people();
    } catch {
      /* still all in snapshot + journal */
    }
  }
}
