import type { Adapter } from 'lowdb';
import { VmbotError } from '../core/errors';
import { readFileIfExists, writeFileDurableAsync } from './durable-file';

/**
 * lowdb adapter: JSON file, validated on read, written with temp + fsync + rename off the event
 * loop. Writes never overlap: a write() called while one is on its way to disk waits for the next
 * one, which serialises the data as it is then and so carries every change made before the call
 * (one disk write for a burst of changes).
 */
export function durableJsonAdapter<T>(file: string, parse: (value: unknown) => T): Adapter<T> {
  let latest: T;
  let writing = false;
  let waiting: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  const drain = async () => {
    writing = true;
    while (waiting.length) {
      const batch = waiting;
      waiting = [];
      try {
        await writeFileDurableAsync(file, JSON.stringify(latest) + '\n');
        for (const w of batch) w.resolve();
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    writing = false;
  };
  return {
    async read() {
      const text = readFileIfExists(file);
      if (text === null) return null;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new VmbotError('config', `${file}: not valid JSON; restore it from backup or move it aside`);
      }
      return parse(value);
    },
    write(data: T) {
      latest = data;
      const done = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
      if (!writing) void drain();
      return done;
    },
  };
}
