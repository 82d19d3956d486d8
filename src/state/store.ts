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
  private chain: Promise<unknown> = Promise.resolve();

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

  /** Run `fn` on the data and persist it before resolving; returns fn's result. */
  update<T>(fn: (data: StoreData) => T): Promise<T> {
    const run = this.chain.then(async () => {
      const result = fn(this.db.data);
      await this.db.write();
      return result;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function parseStore(file: string, value: unknown): StoreData {
  const r = StoreDataSchema.safeParse(value);
  if (!r.success) throw new VmbotError('config', `state file is damaged:\n${formatZodIssues(file, r.error).join('\n')}`);
  return r.data;
}

