import { redactDeep } from '../core/redact';
import type { Notice, Reply } from '../core/types';

type Listener<T> = (x: T) => void | Promise<void>;

/**
 * Messages for people other than the caller (approvers, requesters), also from background
 * work such as expiry. The app's outbox subscribes and delivers them to the front-ends with
 * retry; the local chat and `exec` subscribe to show them inline.
 */
export class Notices {
  private readonly listeners = new Set<Listener<Notice>>();
  private readonly updaters = new Set<Listener<{ topic: string; reply: Reply }>>();

  subscribe(fn: Listener<Notice>): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Listen for "replace what was sent under this topic" (a decided request's cards). */
  subscribeUpdates(fn: Listener<{ topic: string; reply: Reply }>): () => void {
    this.updaters.add(fn);
    return () => this.updaters.delete(fn);
  }

  async send(input: Notice): Promise<void> {
    if (!input.to.length) return;
    // User text in a notice was redacted at the pipeline's entry; this catches anything a
    // workflow quotes from elsewhere (a backend error) before it goes to other people.
    const notice = redactDeep(input);
    for (const fn of this.listeners) {
      try {
        await fn(notice);
      } catch {
        // A failed delivery must not undo the workflow step; the request stays listed in `requests`.
      }
    }
  }

  /** Every message sent with `topic` is to show `reply` now (e.g. "approved by carol at …"). */
  async update(topic: string, reply: Reply): Promise<void> {
    for (const fn of this.updaters) {
      try {
        await fn({ topic, reply: redactDeep(reply) });
      } catch {
        // As for send: the step is done whether or not every card could be updated.
      }
    }
  }
}
