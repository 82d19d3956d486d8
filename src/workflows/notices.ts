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

  async send(notice: Notice): Promise<void> {
    if (!notice.to.length) return;
    for (const fn of this.listeners) {
      try {
        await fn(notice);
      } catch {
        // A failed delivery must not undo the workflow step; the request stays listed in `requests`.
      }
    }
  }
}
