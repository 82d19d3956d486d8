import { randomUUID } from 'node:crypto';
import type { Notice, Reply } from '../core/types';
import type { Logger } from '../log/logger';
import { silentLogger } from '../log/logger';
import type { StateStore } from '../state/store';

/** A notice as the outbox hands it to a sink: with an id, so a sink can dedupe. */
export interface OutboxNotice extends Notice {
  id: string;
}

/** A message a sink sent, kept so a later step can replace it (every approver's card). */
export interface SentRef {
  sink: string;
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
}

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

/**
 * Delivers notices to the started front-ends asynchronously, with retry and backoff, never
 * inside the caller's request. Notices raised before any front-end is up (start-up expiry,
 * revoked grants) wait until one attaches. Sent references are kept per topic so a decided
 * request's cards can be updated everywhere.
 */
export class Outbox {
  private readonly sinks = new Map<string, NoticeSink>();
  private readonly waiting: OutboxNotice[] = [];
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
        this.waiting.push({ ...(e.notice as unknown as Notice), id: e.id });
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

  /** A front-end is up: it receives every notice from now on, and those waiting for one. */
  attach(sink: NoticeSink): void {
    this.sinks.set(sink.name, sink);
    for (const n of this.waiting.splice(0)) this.fanOut(n);
    this.schedule(0);
  }

  detach(name: string): void {
    this.sinks.delete(name);
  }

  /** Queue a notice; returns at once (delivery happens in the background). */
  enqueue(notice: Notice): OutboxNotice {
    const n: OutboxNotice = { ...notice, id: `n-${randomUUID().slice(0, 12)}` };
    if (!n.to.length) return n;
    this.persist('queue notice', (d) => void (d.outbox[n.id] = { id: n.id, at: new Date(this.now()).toISOString(), notice: { ...notice } as Record<string, unknown>, done: [] }));
    if (!this.sinks.size) this.waiting.push(n);
    else this.fanOut(n);
    this.schedule(0);
    return n;
  }

  /** Replace every message sent under `topic` (each approver's card) with `reply`. */
  update(topic: string, reply: Reply): void {
    for (const s of this.sent.get(topic) ?? []) {
      const sink = this.sinks.get(s.sink);
      if (!sink?.updateNotice) continue;
      this.push(`update:${topic}:${s.sink}:${s.user}`, `update ${topic} for ${s.user} via ${s.sink}`, () => sink.updateNotice!(s, reply));
    }
    this.schedule(0);
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
    for (const user of n.to)
      for (const sink of this.sinks.values()) {
        const key = `${sink.name}:${user}`;
        if (done.has(key)) continue;
        count++;
        this.push(`${n.id}:${key}`, `notice ${n.id} to ${user} via ${sink.name}`, async () => {
          const r = await sink.deliverNotice(user, n);
          if (r && n.topic) {
            const ref: SentRef = { sink: sink.name, user, ref: r.ref };
            const list = this.sent.get(n.topic) ?? [];
            list.push(ref);
            this.sent.set(n.topic, list);
            this.persist('keep sent reference', (d) => void (d.sentRefs[n.topic!] ??= []).push({ ...ref, at: new Date(this.now()).toISOString() }));
          }
        }, () => this.finished(n.id, key));
      }
    this.remaining.set(n.id, count);
    if (!count) this.finished(n.id, null);
  }

  /** One delivery of a notice is over (sent, unreachable or given up): forget the notice when all are. */
  private finished(id: string, key: string | null): void {
    const left = (this.remaining.get(id) ?? 1) - (key ? 1 : 0);
    this.remaining.set(id, left);
    if (left > 0) return void this.persist('mark delivered', (d) => void d.outbox[id]?.done.push(key!));
    this.remaining.delete(id);
    this.done.delete(id);
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
