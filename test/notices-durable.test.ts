import { openApp, type App } from '../src/app';
import type { StoreData } from '../src/state/schema';
import type { OutboxNotice } from '../src/workflows/outbox';
import { testConfig } from './support/app';
import { manualClock } from './support/policy';
import { ProbeFrontEnd, serversStoppedAfterEach, until } from './support/server';

/**
 * docs/architecture.md, "Notices and the outbox": a notice is written to state in the same update as the workflow step.
 * Each test lets the workflow's own state write reach the disk and then "crashes" the process:
 * every later state write fails, so nothing written after the step survives. After a restart
 * with a front-end up, the notice the step raised must still be delivered (and the cards sent
 * before the crash updated), exactly once.
 */

const serve = serversStoppedAfterEach();
const channel = { kind: 'local', id: 't' };

/** Every state write after the first one that makes `stepDone` true fails: the process died right after it. */
function crashAfter(app: App, stepDone: (d: Readonly<StoreData>) => boolean): { crashed: () => boolean } {
  const update = app.store.update.bind(app.store);
  let crashed = false;
  app.store.update = (<T>(fn: (d: StoreData) => T): Promise<T> => {
    if (crashed) return Promise.reject(new Error('simulated crash: the process died after the previous state write'));
    return update(fn).then((v) => {
      if (stepDone(app.store.data)) crashed = true;
      return v;
    });
  }) as App['store']['update'];
  return { crashed: () => crashed };
}

/** A first run: alice's request, whose cards reach carol and erin through a sink named like the probe front-end. */
async function firstRun(clock?: () => Date) {
  const config = testConfig();
  const app = await openApp(config, clock ? { clock } : {});
  const cards: string[] = [];
  app.outbox.attach({
    name: 'probe',
    deliverNotice: async (user: string, n: OutboxNotice) => (['carol', 'erin'].includes(user) ? (cards.push(`${user}:${n.topic}`), { ref: `run1-${user}` }) : null),
  });
  const r = await app.pipeline.handle({ principal: 'local:alice', text: 'request web05 --template web-small --reason shop', channel });
  const id = r.data!.requestId as string;
  // The cards are out and their references kept, before the crash.
  await until(() => (app.store.data.sentRefs[`request:${id}`] ?? []).length === 2 && !Object.keys(app.store.data.outbox).length);
  expect(cards.sort()).toEqual([`carol:request:${id}`, `erin:request:${id}`]);
  // From here nothing is delivered in this run: the process dies before the outbox's timer fires.
  app.outbox.detach('probe');
  return { app, config, id };
}

async function restartWithProbe(dataDir: string): Promise<ProbeFrontEnd> {
  const probe = new ProbeFrontEnd();
  await serve({ frontEnds: [probe] }, { VMBOT_DATA_DIR: dataDir });
  return probe;
}

describe('notices are written in the same state update as the workflow step', () => {
  test('deny: the process dies right after the decision is written; after a restart the requester is told and both cards show the decision', async () => {
    const { app, config, id } = await firstRun();
    const crash = crashAfter(app, (d) => d.approvals[id]?.status === 'denied');
    const reply = await app.pipeline.handle({ principal: 'local:carol', text: `deny ${id}`, inputs: { reason: 'no budget' }, channel });
    expect(crash.crashed()).toBe(true);
    expect(reply.status).toBe('done');
    await app.close();

    const probe = await restartWithProbe(config.VMBOT_DATA_DIR);
    await until(() => probe.delivered.some((x) => x.user === 'alice') && probe.updated.length === 2);
    expect(probe.delivered.map((x) => `${x.user}: ${x.notice.reply.text}`)).toEqual([`alice: carol denied your request ${id} for web05: no budget`]);
    expect(probe.updated.map((u) => u.sent.ref).sort()).toEqual(['run1-carol', 'run1-erin']);
    for (const u of probe.updated) {
      expect(u.reply.text).toMatch(/denied by carol at .* UTC: no budget/);
      expect(u.reply.actions ?? []).toEqual([]);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(probe.delivered).toHaveLength(1); // once
    expect(probe.updated).toHaveLength(2);
  });

  test('expiry (background pass): the process dies right after the request is marked expired; after a restart the requester is told', async () => {
    const clock = manualClock(new Date());
    const { app, config, id } = await firstRun(clock);
    clock.advance(73 * 3_600_000); // past requests.expireHours (72)
    const crash = crashAfter(app, (d) => d.approvals[id]?.status === 'expired');
    expect(await app.services.approvals.expireDue()).toBe(1);
    expect(crash.crashed()).toBe(true);
    await app.close();

    const probe = await restartWithProbe(config.VMBOT_DATA_DIR);
    await until(() => probe.delivered.some((x) => x.user === 'alice') && probe.updated.length === 2);
    expect(probe.delivered.filter((x) => x.user === 'alice').map((x) => x.notice.reply.text)).toEqual([`Your request ${id} for web05 expired before it was approved.`]);
    for (const u of probe.updated) expect(u.reply.text).toMatch(/expired .* before it was approved/);
  });

  test('console expiry: the process dies right after the grant is marked expired; after a restart the user is told', async () => {
    const clock = manualClock(new Date());
    const config = testConfig();
    const app = await openApp(config, { clock });
    const g = await app.pipeline.handle({ principal: 'local:alice', text: 'console web01 --minutes 5', channel });
    const grant = g.data!.grantId as string;
    clock.minutes(6);
    const crash = crashAfter(app, (d) => d.consoleGrants[grant]?.status === 'expired');
    expect(await app.services.consoles.revokeDue()).toBe(1);
    expect(crash.crashed()).toBe(true);
    await app.close();

    const probe = await restartWithProbe(config.VMBOT_DATA_DIR);
    await until(() => probe.delivered.length >= 1);
    expect(probe.delivered.map((x) => `${x.user}: ${x.notice.reply.text}`)).toEqual(['alice: Your console access to web01 has expired.']);
  });
});

describe('what waits in the outbox', () => {
  test('a card still waiting for a front-end when the request is decided goes out already showing the decision', async () => {
    const config = testConfig();
    const app = await openApp(config);
    const r = await app.pipeline.handle({ principal: 'local:alice', text: 'request web05 --template web-small', channel });
    const id = r.data!.requestId as string;
    await app.pipeline.handle({ principal: 'local:carol', text: `deny ${id}`, inputs: { reason: 'not now' }, channel });
    await app.close();

    const probe = await restartWithProbe(config.VMBOT_DATA_DIR);
    await until(() => probe.delivered.length === 3);
    const cards = probe.delivered.filter((x) => x.notice.topic === `request:${id}`);
    expect(cards.map((x) => x.user).sort()).toEqual(['carol', 'erin']);
    for (const c of cards) {
      expect(c.notice.reply.text).toMatch(/denied by carol .*: not now/);
      expect(c.notice.reply.actions ?? []).toEqual([]);
    }
    expect(probe.updated).toEqual([]);
  });

  test('notices raised before the front-ends are up reach every front-end once, not only the first to start', async () => {
    class Second extends ProbeFrontEnd {
      override readonly name = 'second' as 'probe';
    }
    const config = testConfig();
    const app = await openApp(config);
    await app.pipeline.handle({ principal: 'local:alice', text: 'request web05 --template web-small', channel });
    await app.close();
    const [a, b] = [new ProbeFrontEnd(), new Second()];
    const s = await serve({ frontEnds: [a, b] }, { VMBOT_DATA_DIR: config.VMBOT_DATA_DIR });
    await until(() => a.delivered.length === 2 && b.delivered.length === 2 && !Object.keys(s.app.store.data.outbox).length);
    expect(a.delivered.map((x) => x.user).sort()).toEqual(['carol', 'erin']);
    expect(b.delivered.map((x) => x.user).sort()).toEqual(['carol', 'erin']);
  });
});
