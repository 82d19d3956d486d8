import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { durableJsonAdapter } from '../src/state/json-adapter';
import { StateStore } from '../src/state/store';
import { tempDir } from './support/app';

const entry = (n: number) => ({ at: new Date(0).toISOString(), reply: { status: 'done', text: `reply ${n}` } });

describe('state store', () => {
  test('an update persists across a reopen', async () => {
    const file = join(tempDir(), 'state.json');
    const a = await StateStore.open(file);
    await a.update((d) => void (d.idempotency['local:alice|k1'] = entry(1)));
    const b = await StateStore.open(file);
    expect(b.data.idempotency['local:alice|k1']).toEqual(entry(1));
  });

  test('update returns the function\'s result', async () => {
    const s = await StateStore.open(join(tempDir(), 'state.json'));
    expect(await s.update(() => 42)).toBe(42);
  });

  test('50 concurrent updates all land, in memory and on disk', async () => {
    const file = join(tempDir(), 'state.json');
    const s = await StateStore.open(file);
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.update((d) => void (d.idempotency[`k${i}`] = entry(i)))));
    expect(Object.keys(s.data.idempotency)).toHaveLength(50);
    const reopened = await StateStore.open(file);
    expect(Object.keys(reopened.data.idempotency).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`).sort());
  });

  test('concurrent read-modify-write updates do not lose increments', async () => {
    const file = join(tempDir(), 'state.json');
    const s = await StateStore.open(file);
    await s.update((d) => void (d.idempotency.counter = { at: '', reply: { n: 0 } }));
    await Promise.all(
      Array.from({ length: 50 }, () =>
        s.update((d) => {
          const c = d.idempotency.counter!;
          c.reply = { n: (c.reply.n as number) + 1 };
        }),
      ),
    );
    expect((await StateStore.open(file)).data.idempotency.counter!.reply.n).toBe(50);
  });

  test('a failing update is not written and does not block later ones', async () => {
    const file = join(tempDir(), 'state.json');
    const s = await StateStore.open(file);
    await expect(s.update(() => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    await s.update((d) => void (d.idempotency.after = entry(2)));
    expect((await StateStore.open(file)).data.idempotency.after).toEqual(entry(2));
  });

  test('no temp files are left behind', async () => {
    const dir = tempDir();
    const s = await StateStore.open(join(dir, 'state.json'));
    await Promise.all(Array.from({ length: 5 }, (_, i) => s.update((d) => void (d.idempotency[`k${i}`] = entry(i)))));
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  test('a state file that is not JSON is a clear error naming the file', async () => {
    const file = join(tempDir(), 'state.json');
    writeFileSync(file, '{"version": 1, "approvals": {');
    await expect(StateStore.open(file)).rejects.toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
  });

  test('a state file of the wrong shape is a clear error naming the file and field', async () => {
    const file = join(tempDir(), 'state.json');
    writeFileSync(file, JSON.stringify({ version: 1, approvals: {}, consoleGrants: { g1: { id: 'g1' } }, idempotency: {} }));
    const err = await StateStore.open(file).then(() => null, (e: Error) => e);
    expect(err).not.toBeNull();
    expect(err!.message).toMatch(/damaged/);
    expect(err!.message).toContain(file);
    expect(err!.message).toContain('consoleGrants.g1');
  });

  // The simulator writes its file from concurrent operations through the same adapter.
  describe('durable JSON adapter', () => {
    test('overlapping writes never collide: each resolves with its change on disk, no temp file left', async () => {
      const dir = tempDir();
      const file = join(dir, 'sim.json');
      const adapter = durableJsonAdapter<{ n: number[] }>(file, (v) => v as { n: number[] });
      const data = { n: [] as number[] };
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          data.n.push(i);
          await adapter.write(data);
          // Once this write resolved, the file holds at least every change made before it.
          const onDisk = JSON.parse(readFileSync(file, 'utf8')) as { n: number[] };
          expect(onDisk.n.slice(0, i + 1)).toEqual(Array.from({ length: i + 1 }, (_, k) => k));
        }),
      );
      expect(await adapter.read()).toEqual({ n: Array.from({ length: 40 }, (_, k) => k) });
      expect(readdirSync(dir)).toEqual(['sim.json']);
    });

    test('a write that cannot reach the disk fails its callers, and the next write succeeds', async () => {
      const dir = tempDir();
      const file = join(dir, 'state.json');
      mkdirSync(file); // a directory where the file should be: the rename over it fails
      const adapter = durableJsonAdapter<{ v: number }>(file, (v) => v as { v: number });
      await expect(adapter.write({ v: 1 })).rejects.toThrow();
      rmdirSync(file);
      await adapter.write({ v: 2 });
      expect(await adapter.read()).toEqual({ v: 2 });
    });
  });
});
