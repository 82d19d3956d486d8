/**
 * The Teams conversation store (who can be reached proactively): written off the event loop,
 * only when something changed, a burst of changes in one write, nothing lost when a write fails.
 */
import { join } from 'node:path';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { ConversationStore, durableStoreWrite } from '../src/adapters/teams/conversations';
import { tempDir } from './support/app';
import { activities, AAD, startTeamsRig } from './support/teams';

const aad = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const seen = (i: number, personal = `a:1on1-${i}`) => ({
  aad: aad(i), userId: `29:user-${i}`, name: `User ${i}`, tenantId: 'tenant-1', serviceUrl: 'https://smba.example/emea/', botId: '28:bot', personal,
});

/**
 * The real durable writes, counted and recorded; `failNext` makes the next one fail as a full
 * disk would, `failReplaceOf` every whole-file replace of one file.
 */
function countingWrite() {
  const w = {
    count: 0,
    failNext: false,
    /** Fail every whole-file replace of this file. */
    failReplaceOf: null as string | null,
    writes: [] as { file: string; how: 'append' | 'replace'; bytes: number }[],
    write: async (file: string, data: string | AsyncIterable<string>, how: 'append' | 'replace') => {
      w.count++;
      if (w.failNext || (how === 'replace' && w.failReplaceOf === file)) {
        w.failNext = false;
        throw new Error('ENOSPC: no space left on device');
      }
      w.writes.push({ file, how, bytes: typeof data === 'string' ? Buffer.byteLength(data) : NaN });
      await durableStoreWrite(file, data, how);
    },
  };
  return w;
}

describe('Teams conversation store', () => {
  it('a burst of new users goes to disk in a couple of writes, all of them there once flush() resolves; an activity that tells it nothing new writes nothing', async () => {
    const file = join(tempDir(), 'teams-conversations.json');
    const w = countingWrite();
    const store = ConversationStore.open(file, { write: w.write });
    for (let i = 0; i < 300; i++) store.remember(seen(i)); // 300 first messages arriving together
    await store.flush();
    expect(w.count).toBeLessThanOrEqual(2); // the first change starts a write; the other 299 ride on the next
    const reopened = ConversationStore.open(file);
    for (let i = 0; i < 300; i++) expect(reopened.user(aad(i))).toMatchObject({ userId: `29:user-${i}`, personal: `a:1on1-${i}` });
    expect(reopened.serviceUrl).toBe('https://smba.example/emea/');

    const writes = w.count;
    for (let k = 0; k < 50; k++) store.remember(seen(k % 300)); // the same people writing again
    await store.flush();
    expect(w.count).toBe(writes);

    store.remember(seen(7, 'a:1on1-7-new')); // a new 1:1 chat for one of them
    await store.flush();
    expect(w.count).toBe(writes + 1);
    expect(ConversationStore.open(file).user(aad(7))?.personal).toBe('a:1on1-7-new');
  });

  it('a write that fails is reported by flush() and tried again: nothing learnt is lost', async () => {
    const file = join(tempDir(), 'teams-conversations.json');
    const w = countingWrite();
    const store = ConversationStore.open(file, { write: w.write });
    w.failNext = true;
    store.remember(seen(1));
    await expect(store.flush()).resolves.toBeUndefined(); // flush's own second try went through
    expect(ConversationStore.open(file).user(aad(1))?.userId).toBe('29:user-1');

    w.failNext = true;
    store.remember(seen(2));
    await new Promise((r) => setTimeout(r, 50)); // the failed write is over; nobody flushed
    w.failNext = true;
    await expect(store.flush()).rejects.toThrow(/ENOSPC/); // its retry failed too: the caller hears of it
    store.remember(seen(3)); // the next change writes everything not yet on disk
    await store.flush();
    const reopened = ConversationStore.open(file);
    expect(reopened.user(aad(2))?.userId).toBe('29:user-2');
    expect(reopened.user(aad(3))?.userId).toBe('29:user-3');
  });

  it('a change writes its own line, not the whole store: at 5,000 people, one new 1:1 chat appends well under a kilobyte', async () => {
    const file = join(tempDir(), 'teams-conversations.json');
    const w = countingWrite();
    const store = ConversationStore.open(file, { write: w.write });
    for (let i = 0; i < 5000; i++) store.remember(seen(i));
    await store.flush();
    const before = w.writes.length;
    store.remember(seen(4321, 'a:1on1-4321-new'));
    await store.flush();
    expect(w.writes.slice(before)).toEqual([{ file: `${file}.journal`, how: 'append', bytes: expect.any(Number) }]);
    expect(w.writes[before]!.bytes).toBeLessThan(1024);
    expect(ConversationStore.open(file).user(aad(4321))?.personal).toBe('a:1on1-4321-new');
  });

  it('once the journal outgrows the people in the snapshot, the snapshot takes it all in and the journal starts afresh; a crash in between loses nothing', async () => {
    const file = join(tempDir(), 'teams-conversations.json');
    const w = countingWrite();
    const store = ConversationStore.open(file, { write: w.write });
    for (let i = 0; i < 1200; i++) store.remember(seen(i)); // past 1,000 lines
    await store.flush();
    expect(w.writes.filter((x) => x.how === 'replace').map((x) => x.file)).toEqual([file, `${file}.journal`]);
    expect(statSync(`${file}.journal`).size).toBeLessThan(50_000); // what came after the snapshot, if anything
    let reopened = ConversationStore.open(file);
    for (const i of [0, 599, 1199]) expect(reopened.user(aad(i))?.personal).toBe(`a:1on1-${i}`);

    // The next snapshot fails (a full disk): every change is still on disk, in the journal.
    w.failReplaceOf = file;
    for (let k = 0; k < 1300; k++) store.remember(seen(k % 1200, `a:v2-${k}`));
    await store.flush();
    // Person u was last changed at k = u + 1200 (u < 100), else at k = u.
    const latest = (u: number) => `a:v2-${u < 100 ? u + 1200 : u}`;
    reopened = ConversationStore.open(file);
    for (const u of [0, 99, 100, 650, 1199]) expect(reopened.user(aad(u))?.personal).toBe(latest(u));
    expect(statSync(`${file}.journal`).size).toBeGreaterThan(1300 * 100);

    // A crash after the new snapshot, before the journal was emptied (that replace fails): the old
    // lines replayed over the new snapshot give the same values (each line holds a whole value).
    w.failReplaceOf = `${file}.journal`;
    const snapshots = w.writes.filter((x) => x.file === file).length;
    store.remember(seen(5, 'a:v3'));
    await store.flush();
    expect(w.writes.filter((x) => x.file === file).length).toBe(snapshots + 1);
    expect(statSync(`${file}.journal`).size).toBeGreaterThan(1300 * 100);
    reopened = ConversationStore.open(file);
    expect(reopened.user(aad(5))?.personal).toBe('a:v3');
    for (const u of [0, 99, 100, 650, 1199]) expect(reopened.user(aad(u))?.personal).toBe(latest(u));
  });

  it('a journal line cut off by a crash is dropped on opening and the next change starts a line of its own; a line that is not a change stops the bot with its place', async () => {
    const file = join(tempDir(), 'teams-conversations.json');
    let store = ConversationStore.open(file);
    store.remember(seen(1));
    await store.flush();
    appendFileSync(`${file}.journal`, '{"user":"00000000-0000-4000-8000-000000000002","entry":{"userId":"29:u'); // the crash
    store = ConversationStore.open(file);
    expect(store.user(aad(1))?.userId).toBe('29:user-1');
    expect(store.user(aad(2))).toBeUndefined();
    store.remember(seen(3));
    await store.flush();
    const reopened = ConversationStore.open(file);
    expect(reopened.user(aad(1))?.userId).toBe('29:user-1');
    expect(reopened.user(aad(3))?.userId).toBe('29:user-3');

    const lines = readFileSync(`${file}.journal`, 'utf8').split('\n').length - 1;
    appendFileSync(`${file}.journal`, '{"user":"x","entry":{"updatedAt":"now"}}\n{"set":"botId","value":{"not":"a string"}}\n');
    expect(() => ConversationStore.open(file)).toThrow(`teams-conversations.json.journal, line ${lines + 2}: not a change`);
  });

  it('what an activity taught the bot is on disk before Teams hears the activity was handled', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let writes = 0;
    const rig = await startTeamsRig({
      options: {
        conversationWrite: async (file, data, how) => {
          writes++;
          await held;
          await durableStoreWrite(file, data, how);
        },
      },
    });
    try {
      const act = activities(rig.connector.url);
      let answered = false;
      const reply = rig.post(act.personal('erin', 'whoami')).then((r) => ((answered = true), r));
      for (const end = Date.now() + 10_000; !writes && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      expect(writes).toBe(1);
      await new Promise((r) => setTimeout(r, 300));
      expect(answered).toBe(false); // the turn waits for the write
      release();
      expect((await reply).status).toBe(200);
      const reopened = ConversationStore.open(join(rig.app.config.VMBOT_DATA_DIR, 'teams-conversations.json'));
      expect(reopened.user(AAD.erin)?.userId).toBe('29:erin');
    } finally {
      release();
      await rig.close();
    }
  });
});
