import type { Adapter } from 'lowdb';
import { VmbotError } from '../core/errors';
import { readFileIfExists, writeFileDurable } from './durable-file';

/** lowdb adapter: JSON file, validated on read, written with temp + fsync + rename. */
export function durableJsonAdapter<T>(file: string, parse: (value: unknown) => T): Adapter<T> {
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
    async write(data: T) {
      writeFileDurable(file, JSON.stringify(data, null, 2) + '\n');
    },
  };
}
