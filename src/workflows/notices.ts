import { redactDeep } from '../core/redact';
import type { Notice } from '../core/types';

/**
 * Messages for people other than the caller (approvers, requesters), also from background
 * work such as expiry. Adapters subscribe and deliver in their own way.
 */
export class Notices {
  private readonly listeners = new Set<(n: Notice) => void | Promise<void>>();

  subscribe(fn: (n: Notice) => void | Promise<void>): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
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
}
