/**
 * Teams conversation store: what remembering an incoming activity costs on the event loop as the
 * number of people the bot knows grows (every Teams activity calls remember()), and how long a
 * change takes to reach the disk (off the event loop).
 *   npx tsc -p tsconfig.bench.json && node dist/bench/teams-store.js
 * Target: an activity that changes nothing costs under 50 µs at 50,000 people (it used to
 * serialise the whole store twice: 20 ms at 10,000), and a change's write holds the event loop
 * under 5 ms at 50,000 (it serialised the whole store: 69 ms). Reported beside it: the longest
 * hold while all 50,000 go to disk at once and the snapshot is rewritten. Figures: bench/results/teams-store.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConversationStore } from '../src/adapters/teams/conversations';
import { median, oneDecimal, percentile, writeResult } from './report';

const SIZES = [1_000, 10_000, 50_000];
const aad = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const seen = (i: number, personal = `a:1on1-${i}`) => ({
  aad: aad(i), userId: `29:user-${i}`, name: `User ${i}`, tenantId: 'tenant-1', serviceUrl: 'https://smba.example/emea/', botId: '28:bot', personal,
});
const us = (t: bigint) => Number(process.hrtime.bigint() - t) / 1000;

/**
 * Run `work` and say the longest the event loop was held meanwhile (ms): a ticker that goes
 * round the loop notes the largest gap between two of its turns.
 */
async function longestStall(work: () => Promise<void>): Promise<number> {
  let last = process.hrtime.bigint();
  let worst = 0;
  let on = true;
  const tick = () => {
    const now = process.hrtime.bigint();
    worst = Math.max(worst, Number(now - last) / 1e6);
    last = now;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  on = false;
  return worst;
}

export async function main(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-teams-store-'));
  const out: Record<string, unknown> = {};
  try {
    for (const n of SIZES) {
      const file = join(dir, `store-${n}.json`);
      const store = ConversationStore.open(file);
      for (let i = 0; i < n; i++) store.remember(seen(i));
      // All of them at once: appends of up to 2,000 changes, and the snapshot rewritten once the journal outgrew it.
      const fillStallMs = await longestStall(() => store.flush());
      // Someone the bot knows writes again (the common case): nothing changes.
      const same: number[] = [];
      for (let k = 0; k < 2000; k++) {
        const t = process.hrtime.bigint();
        store.remember(seen((k * 7919) % n));
        same.push(us(t));
      }
      // Someone's 1:1 chat changes: the event loop's part, then the time to disk.
      const changed: number[] = [];
      const toDisk: number[] = [];
      const changeStallMs = await longestStall(async () => {
        for (let k = 0; k < 30; k++) {
          let t = process.hrtime.bigint();
          store.remember(seen(k, `a:new-${k}`));
          changed.push(us(t));
          t = process.hrtime.bigint();
          await store.flush();
          toDisk.push(us(t) / 1000);
        }
      });
      out[String(n)] = {
        unchangedUs: { median: oneDecimal(median(same)), p99: oneDecimal(percentile(same, 99)) },
        changedUs: { median: oneDecimal(median(changed)), p99: oneDecimal(percentile(changed, 99)) },
        changeOnDiskMs: { median: oneDecimal(median(toDisk)), p99: oneDecimal(percentile(toDisk, 99)) },
        // The longest the event loop was held while changes went to disk (remember() included: a few µs).
        longestStallMs: { changes: oneDecimal(changeStallMs), allAtOnceWithSnapshot: oneDecimal(fillStallMs) },
      };
      console.log(`teams store: ${n} users: remember() unchanged ${oneDecimal(median(same))} µs, changed ${oneDecimal(median(changed))} µs (event loop); on disk after ${oneDecimal(median(toDisk))} ms; event loop held at most ${oneDecimal(changeStallMs)} ms while changes went to disk (${oneDecimal(fillStallMs)} ms while all ${n} went at once, snapshot included)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Every Teams activity pays this: it must not grow with the number of people the bot knows.
  const at50k = out['50000'] as { unchangedUs: { median: number }; longestStallMs: { changes: number; allAtOnceWithSnapshot: number } };
  const result = {
    users: out,
    target: {
      rule: 'at 50,000 people: remember() of an activity that changes nothing, median < 50 µs; the event loop held < 5 ms while changes go to disk',
      pass: at50k.unchangedUs.median < 50 && at50k.longestStallMs.changes < 5,
    },
  };
  writeResult('teams-store', result);
  return result;
}

if (require.main === module) void main();
