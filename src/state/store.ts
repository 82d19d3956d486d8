import { Low } from 'lowdb';
import { VmbotError } from '../core/errors';
import { formatZodIssues } from '../policy/loader';
import { durableJsonAdapter } from './json-adapter';
import { emptyStore, StoreDataSchema, type StoreData } from './schema';


/**
 * Small mutable state (pending approvals, console grants, idempotency keys) in lowdb, written
 * through a durable adapter so a completed update survives a crash. Updates are serialised so
 * concurrent read-modify-write calls never clobber each other.
 */
export class StateStore {
  private queue: Array<{ fn: (data: StoreData) => unknown; resolve(v: unknown): void; reject(e: unknown): void }> = [];
  private flushing: Promise<void> | null = null;

  private constructor(private readonly db: Low<StoreData>) {}

  static async open(file: string): Promise<StateStore> {
    const db = new Low<StoreData>(durableJsonAdapter(file, (v) => parseStore(file, v)), emptyStore());
    await db.read();
    return new StateStore(db);
  }

  /** A read-only view; mutate only through update(). */
  get data(): Readonly<StoreData> {
    return this.db.data;
  }

  /**
   * Run `fn` on the data and persist it before resolving; returns fn's result. Group commit:
   * updates queued while a write is in progress are applied in order and written together, so
   * a burst of requests costs one fsync'd write per batch, not one each.
   */
  update<T>(fn: (data: StoreData) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      // Started on a later tick, so `flushing` is set before flush() can clear it.
      if (!this.flushing) this.flushing = Promise.resolve().then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0);
        const results = batch.map(({ fn }) => {
          try {
            return { ok: true as const, value: fn(this.db.data) };
          } catch (error) {
            return { ok: false as const, error };
          }
        });
        try {
          if (results.some((r) => r.ok)) await this.db.write();
        } catch (e) {
          for (const b of batch) b.reject(e);
          continue;
        }
        batch.forEach((b, i) => {
          const r = results[i]!;
          if (r.ok) b.resolve(r.value);
          else b.reject(r.error);
        });
      }
    } finally {
      // Cleared in the same turn as the last queue check, so a new update always starts a flush.
      this.flushing = null;
    }
  }
}

function parseStore(file: string, value: unknown): StoreData {
  const r = StoreDataSchema.safeParse(value);
  if (!r.success) throw new VmbotError('config', `state file is damaged:\n${formatZodIssues(file, r.error).join('\n')}`);
  return r.data;
}

