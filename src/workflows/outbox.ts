import { randomUUID } from 'node:crypto';
import type { Notice, NoticeChannel, Reply } from '../core/types';
import type { Logger } from '../log/logger';
import { silentLogger } from '../log/logger';
import type { StoreData } from '../state/schema';
import type { StateStore } from '../state/store';

/** A notice as the outbox hands it to a sink: with an id, so a sink can dedupe. */
export interface OutboxNotice extends Notice {
  id: string;
}

/** A message a sink sent, kept so a later step can replace it (every approver's card). */
export interface SentRef {
  sink: string;
  /** The policy user, or `#<channel>` for a post in a channel. */
  user: string;
  /** Opaque to core: e.g. Slack `{"channel":"D1","ts":"171.2"}`, a Teams activity id. */
  ref: string;
}

/**
 * What the outbox delivers to (each started front-end). Methods are called one recipient at a
 * time: a throw means "try again later"; null means "this user has no identity here".
 */
export interface NoticeSink {
  readonly name: string;
  deliverNotice(user: string, notice: OutboxNotice): Promise<{ ref: string } | null>;
  /** Replace a message sent earlier with `reply` (the request was decided). */
  updateNotice?(sent: SentRef, reply: Reply): Promise<void>;
  /**
   * Post a notice in the channel this front-end has configured for `channel` (e.g. the audit
   * channel). null: none configured here. A throw means "try again later", as for users.
   */
  deliverToChannel?(channel: NoticeChannel, notice: OutboxNotice): Promise<{ ref: string } | null>;
}

/** Whom a notice reaches: its users, and its channels. */
const hasTargets = (n: Notice) => n.to.length > 0 || (n.channels?.length ?? 0) > 0;

interface Job {
  key: string;
  run(): Promise<void>;
  /** Called once when the job is over: done, or given up. */
  onEnd?(): void;
  attempts: number;
  nextAt: number;
  what: string;
}

export interface OutboxOptions {
  log?: Logger;
  /** First retry delay; doubles per attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  clock?: () => number;
  /**
   * Keep the queue and the sent references in state, so a restart neither loses a notice nor
   * sends one twice, and a card sent before a restart is still updated after it.
   */
  store?: StateStore;
}

const SENT_REFS_KEEP_MS = 30 * 86_400_000;

export const newNoticeId = () => `n-${randomUUID().slice(0, 12)}`;

/** "Replace every message sent under `topic` with `reply`", kept in state like a notice. */
export interface CardUpdate {
  id: string;
  topic: string;
  reply: Reply;
}

/**
 * Write a notice into the state being updated: called inside the workflow's own
 * `store.update` callback, so the notice is durable exactly when the step is (docs/architecture.md,
 * "Notices and the outbox"). Hand the result to `Outbox.adopt` once the update has resolved.
 */
export function stageNotice(d: StoreData, notice: Notice, at: Date, id = newNoticeId()): OutboxNotice {
  d.outbox[id] = { id, at: at.toISOString(), notice: { ...notice } as Record<string, unknown>, done: [] };
  return { ...notice, id };
}

/**
 * Write a card update into the state being updated (same update as the decision). A notice of
 * the same topic still waiting to be delivered is sent with the new reply instead: a card
 * that has not gone out yet goes out already showing the decision.
 */
export function stageCardUpdate(d: StoreData, topic: string, reply: Reply, at: Date, id = newNoticeId()): CardUpdate {
  for (const e of Object.values(d.outbox)) if (e.kind !== 'update' && e.notice.topic === topic) e.notice = { ...e.notice, reply: { ...reply } };
  d.outbox[id] = { id, at: at.toISOString(), kind: 'update', notice: { to: [], topic, reply: { ...reply } }, done: [] };
  return { id, topic, reply };
}

type Staged = { kind: 'notice'; n: OutboxNotice } | { kind: 'update'; u: CardUpdate };

/**
 * Delivers notices to the started front-ends asynchronously, with retry and backoff, never
 * inside the caller's request. Notices raised before any front-end is up (start-up expiry,
 * revoked grants) wait until one attaches. Sent references are kept per topic so a decided
 * request's cards can be updated everywhere.
 */
export class Outbox {
  private readonly sinks = new Map<string, NoticeSink>();
  private readonly waiting: Staged[] = [];
  /** Notices not yet delivered everywhere, by topic: a card update changes what they will send. */
  private readonly live = new Map<string, OutboxNotice>();
  private readonly jobs: Job[] = [];
  private readonly sent = new Map<string, SentRef[]>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly log: Logger;
  private readonly now: () => number;

  /** Per notice: deliveries still to finish, and those already done (from state). */
  private readonly remaining = new Map<string, number>();
  private readonly done = new Map<string, Set<string>>();

  constructor(private readonly opts: OutboxOptions = {}) {
    this.log = opts.log ?? silentLogger();
    this.now = opts.clock ?? Date.now;
    const data = opts.store?.data;
    if (data) {
      // Left from before a restart: delivered once a front-end attaches, skipping what was done.
      for (const e of Object.values(data.outbox)) {
        const n = e.notice as unknown as Notice;
        this.waiting.push(e.kind === 'update' ? { kind: 'update', u: { id: e.id, topic: n.topic ?? '', reply: n.reply as Reply } } : { kind: 'notice', n: { ...n, id: e.id } });
        this.done.set(e.id, new Set(e.done));
      }
      const cutoff = this.now() - SENT_REFS_KEEP_MS;
      for (const [topic, refs] of Object.entries(data.sentRefs)) {
        const fresh = refs.filter((r) => Date.parse(r.at) >= cutoff);
        if (fresh.length) this.sent.set(topic, fresh.map(({ sink, user, ref }) => ({ sink, user, ref })));
      }
    }
  }

  /** Write to state, in order with every other state update; failures are logged, not thrown. */
  private persist(what: string, fn: Parameters<StateStore['update']>[0]): void {
    this.opts.store?.update(fn).catch((e) => this.log.error({ what, error: String(e) }, 'outbox state write failed'));
  }

  /**
   * Front-ends are up: they receive every notice from now on, and those waiting for one. Attach
   * every front-end of the process in one call: what was waiting is shared out among the sinks
   * attached at that moment (once per front-end and user), and then leaves the state.
   */
  attach(...sinks: NoticeSink[]): void {
    for (const sink of sinks) this.sinks.set(sink.name, sink);
    for (const s of this.waiting.splice(0)) this.dispatch(s);
    this.schedule(0);
  }

  detach(name: string): void {
    this.sinks.delete(name);
  }

  /**
   * Queue a notice that belongs to no state change of its own (its own state write); returns at
   * once. A workflow step stages its notices in its own update instead (stageNotice + adopt).
   */
  enqueue(notice: Notice): OutboxNotice {
    const id = newNoticeId();
    if (!hasTargets(notice)) return { ...notice, id };
    const at = new Date(this.now());
    this.persist('queue notice', (d) => void stageNotice(d, notice, at, id));
    const n = { ...notice, id };
    this.adopt(n);
    return n;
  }

  /** Replace every message sent under `topic` (each approver's card) with `reply`; its own state write. */
  update(topic: string, reply: Reply): void {
    const id = newNoticeId();
    const at = new Date(this.now());
    this.persist('queue card update', (d) => void stageCardUpdate(d, topic, reply, at, id));
    this.adoptUpdate({ id, topic, reply });
  }

  /** A notice already written to state (stageNotice, in a workflow's update): deliver it. */
  adopt(n: OutboxNotice): void {
    this.accept({ kind: 'notice', n });
  }

  /** A card update already written to state (stageCardUpdate): apply it. */
  adoptUpdate(u: CardUpdate): void {
    // In memory as in state: a notice of this topic not yet delivered goes out with the new reply.
    for (const n of this.live.values()) if (n.topic === u.topic) n.reply = u.reply;
    for (const w of this.waiting) if (w.kind === 'notice' && w.n.topic === u.topic) w.n.reply = u.reply;
    this.accept({ kind: 'update', u });
  }

  private accept(s: Staged): void {
    if (!this.sinks.size) this.waiting.push(s);
    else this.dispatch(s);
    this.schedule(0);
  }

  private dispatch(s: Staged): void {
    if (s.kind === 'notice') this.fanOut(s.n);
    else this.fanOutUpdate(s.u);
  }

  /** References of the messages sent under a topic (tests, App Home). */
  sentFor(topic: string): readonly SentRef[] {
    return this.sent.get(topic) ?? [];
  }

  /** Deliveries not yet done (queued, retrying, or waiting for a front-end). */
  get pending(): number {
    return this.jobs.length + this.waiting.length;
  }

  /** Run every job that is due now, and wait for it (tests; shutdown). */
  async flush(): Promise<void> {
    await this.running;
    await this.runDue();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private fanOut(n: OutboxNotice): void {
    const done = this.done.get(n.id) ?? new Set<string>();
    let count = 0;
    this.live.set(n.id, n);
    for (const user of n.to)
      for (const sink of this.sinks.values()) {
        const key = `${sink.name}:${user}`;
        if (done.has(key)) continue;
        count++;
        this.push(`${n.id}:${key}`, `notice ${n.id} to ${user} via ${sink.name}`, async () => {
          const sending = n.reply;
          const r = await sink.deliverNotice(user, n);
          if (r && n.topic) {
            const ref: SentRef = { sink: sink.name, user, ref: r.ref };
            this.keepRef(n.topic, ref);
            // Decided while this card was on its way: it is updated like the others.
            if (n.reply !== sending && sink.updateNotice) this.push(`late:${n.id}:${key}`, `update ${n.topic} for ${user} via ${sink.name}`, () => sink.updateNotice!(ref, n.reply));
          }
        }, () => this.finished(n.id, key));
      }
    for (const channel of n.channels ?? [])
      for (const sink of this.sinks.values()) {
        const key = `${sink.name}:#${channel}`;
        if (!sink.deliverToChannel || done.has(key)) continue;
        count++;
        this.push(`${n.id}:${key}`, `notice ${n.id} to channel ${channel} via ${sink.name}`, async () => {
          const r = await sink.deliverToChannel!(channel, n);
          if (r && n.topic) this.keepRef(n.topic, { sink: sink.name, user: `#${channel}`, ref: r.ref });
        }, () => this.finished(n.id, key));
      }
    this.remaining.set(n.id, count);
    if (!count) this.finished(n.id, null);
  }

  private keepRef(topic: string, ref: SentRef): void {
    const list = this.sent.get(topic) ?? [];
    list.push(ref);
    this.sent.set(topic, list);
    this.persist('keep sent reference', (d) => void (d.sentRefs[topic] ??= []).push({ ...ref, at: new Date(this.now()).toISOString() }));
  }

  /** Every message sent under the topic, by a front-end that is up, is replaced (once per front-end and user). */
  private fanOutUpdate(u: CardUpdate): void {
    const done = this.done.get(u.id) ?? new Set<string>();
    let count = 0;
    for (const s of this.sent.get(u.topic) ?? []) {
      const sink = this.sinks.get(s.sink);
      const key = `${s.sink}:${s.user}:${s.ref}`;
      if (!sink?.updateNotice || done.has(key)) continue;
      count++;
      this.push(`${u.id}:${key}`, `update ${u.topic} for ${s.user} via ${s.sink}`, () => sink.updateNotice!(s, u.reply), () => this.finished(u.id, key));
    }
    this.remaining.set(u.id, count);
    if (!count) this.finished(u.id, null);
  }

  /** One delivery of a notice is over (sent, unreachable or given up): forget the notice when all are. */
  private finished(id: string, key: string | null): void {
    const left = (this.remaining.get(id) ?? 1) - (key ? 1 : 0);
    this.remaining.set(id, left);
    if (left > 0) return void this.persist('mark delivered', (d) => void d.outbox[id]?.done.push(key!));
    this.remaining.delete(id);
    this.done.delete(id);
    this.live.delete(id);
    this.persist('notice delivered', (d) => void delete d.outbox[id]);
  }

  private push(key: string, what: string, run: () => Promise<void>, onEnd?: () => void): void {
    this.jobs.push({ key, what, run, onEnd, attempts: 0, nextAt: this.now() });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runDue();
    }, delayMs);
    this.timer.unref();
  }

  private runDue(): Promise<void> {
    return (this.running ??= (async () => {
      try {
        const now = this.now();
        const due = this.jobs.filter((j) => j.nextAt <= now);
        await Promise.all(due.map((j) => this.attempt(j)));
      } finally {
        this.running = null;
        const next = Math.min(...this.jobs.map((j) => j.nextAt));
        if (Number.isFinite(next)) this.schedule(Math.max(0, next - this.now()));
      }
    })());
  }

  private async attempt(job: Job): Promise<void> {
    const base = this.opts.baseDelayMs ?? 1000;
    const max = this.opts.maxDelayMs ?? 300_000;
    const limit = this.opts.maxAttempts ?? 12;
    try {
      await job.run();
      this.jobs.splice(this.jobs.indexOf(job), 1);
      job.onEnd?.();
    } catch (e) {
      job.attempts++;
      const error = e instanceof Error ? e.message : String(e);
      if (job.attempts >= limit) {
        this.jobs.splice(this.jobs.indexOf(job), 1);
        job.onEnd?.();
        this.log.error({ job: job.what, attempts: job.attempts, error }, 'notice delivery given up');
        return;
      }
      job.nextAt = this.now() + Math.min(max, base * 2 ** (job.attempts - 1));
      this.log.warn({ job: job.what, attempts: job.attempts, error, retryInMs: job.nextAt - this.now() }, 'notice delivery failed; will retry');
    }
  }
}
