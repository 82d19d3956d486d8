/**
 * The Teams conversation store (who can be reached proactively): written off the event loop,
 * only when something changed, a burst of changes in one write, nothing lost when a write fails.
 */
import { join } from 'node:path';
import { ConversationStore } from '../src/adapters/teams/conversations';
import { writeFileDurableAsync } from '../src/state/durable-file';
import { tempDir } from './support/app';
import { activities, AAD, startTeamsRig } from './support/teams';

const aad = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const seen = (i: number, personal = `a:1on1-${i}`) => ({
  aad: aad(i), userId: `29:user-${i}`, name: `User ${i}`, tenantId: 'tenant-1', serviceUrl: 'https://smba.example/emea/', botId: '28:bot', personal,
});

/** The real durable write, counted; `failNext` makes the next one fail as a full disk would. */
function countingWrite() {
  const w = {
    count: 0,
    failNext: false,
    write: async (file: string, data: string) => {
      w.count++;
      if (w.failNext) {
        w.failNext = false;
        throw new Error('ENOSPC: no space left on device');
      }
      await writeFileDurableAsync(file, data);
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

  it('what an activity taught the bot is on disk before Teams hears the activity was handled', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let writes = 0;
    const rig = await startTeamsRig({
      options: {
        conversationWrite: async (file, data) => {
          writes++;
          await held;
          await writeFileDurableAsync(file, data);
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
