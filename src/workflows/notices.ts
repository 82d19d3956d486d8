import { redactDeep } from '../core/redact';
import type { Notice, Reply } from '../core/types';
import type { StoreData } from '../state/schema';
import type { StateStore } from '../state/store';
import { stageCardUpdate, stageNotice, type CardUpdate, type OutboxNotice } from './outbox';

type Listener<T> = (x: T) => void | Promise<void>;

/** Takes notices and card updates already written to state (the outbox). */
export interface StagedConsumer {
  adopt(n: OutboxNotice): void;
  adoptUpdate(u: CardUpdate): void;
}

/** What a workflow step raises, inside its own state update. */
export interface NoticeWriter {
  /** A message to people other than the caller (approvers, the requester). */
  send(notice: Notice): void;
  /** Every message sent with `topic` is to show `reply` now (e.g. "approved by carol at …"). */
  update(topic: string, reply: Reply): void;
}

/**
 * Messages for people other than the caller (approvers, requesters), also from background
 * work such as expiry. A workflow raises them inside its own state update (`step`), so they
 * are durable exactly when the step is: a crash right after the step cannot lose them
 * (docs/architecture.md, "Notices and the outbox"). Once the update is on disk, subscribers hear of them: the app's
 * outbox delivers them to the front-ends with retry; the local chat and `exec` show them inline.
 */
export class Notices {
  private readonly listeners = new Set<Listener<Notice>>();
  private outbox: StagedConsumer | null = null;

  constructor(private readonly store: StateStore, private readonly clock: () => Date = () => new Date()) {}

  /** Hear of each notice once it is on disk (local chat, `exec`: shown inline). */
  subscribe(fn: Listener<Notice>): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The outbox: it delivers what the steps wrote to state (by id, so it can mark it delivered there). */
  deliverThrough(outbox: StagedConsumer): void {
    this.outbox = outbox;
  }

  /**
   * Run a state update that raises notices: `fn` changes the data and calls `out.send` /
   * `out.update`; the notices are written into the same update and published once it is
   * persisted. Raise them only after the last check that may throw (a thrown update must not
   * leave a notice behind in memory).
   */
  async step<T>(fn: (d: StoreData, out: NoticeWriter) => T): Promise<T> {
    const staged: Array<{ n: OutboxNotice } | { u: CardUpdate }> = [];
    const result = await this.store.update((d) => {
      const at = this.clock();
      return fn(d, {
        // User text in a notice was redacted at the pipeline's entry; this catches anything a
        // workflow quotes from elsewhere (a backend error) before it goes to other people.
        send: (notice) => void ((notice.to.length || notice.channels?.length) && staged.push({ n: stageNotice(d, redactDeep(notice), at) })),
        update: (topic, reply) => void staged.push({ u: stageCardUpdate(d, topic, redactDeep(reply), at) }),
      });
    });
    for (const s of staged) {
      if ('u' in s) {
        this.outbox?.adoptUpdate(s.u);
        continue;
      }
      this.outbox?.adopt(s.n);
      const { id: _id, ...notice } = s.n;
      await this.publish(notice);
    }
    return result;
  }

  /** A notice that belongs to no state change (its own update). */
  send(notice: Notice): Promise<void> {
    return this.step((_d, out) => out.send(notice));
  }

  private async publish(x: Notice): Promise<void> {
    for (const fn of this.listeners) {
      try {
        await fn(x);
      } catch {
        // A failed delivery must not undo the workflow step; the notice stays in state.
      }
    }
  }
}
