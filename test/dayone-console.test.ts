/** Day one: console grants are visible (issue 10) — listed, warned about before they end, shown in whoami. */
import { appsClosedAfterEach, collectNotices } from './support/app';
import { manualClock, policyVariant } from './support/policy';
import { recordsOf } from './support/audit';

const open = appsClosedAfterEach();

describe('console grants are visible', () => {
  test('"console" with no VM lists your active grants and when each ends; one audit record, nothing granted', async () => {
    const clock = manualClock(new Date('2026-11-23T09:00:00Z'));
    const app = await open({}, { clock });
    expect((await app.say('alice', 'console')).text).toBe('You have no active console grants. Type "console <vm>" to get one.');
    await app.say('alice', 'console web02 --minutes 60');
    await app.say('alice', 'console web01 --minutes 15');
    clock.minutes(5);
    const r = await app.say('alice', 'console');
    expect(r.status).toBe('done');
    expect(r.text).toBe([
      'Your console grants:',
      '  web01 for CONTOSO\\alice until 2026-11-23 09:15 UTC (10 min left)',
      '  web02 for CONTOSO\\alice until 2026-11-23 10:00 UTC (55 min left)',
    ].join('\n'));
    expect(recordsOf(app.config.VMBOT_DATA_DIR, r.auditId)).toEqual([expect.objectContaining({ kind: 'decision', operation: 'console.list', outcome: 'ok' })]);
    // bob sees only his own.
    expect((await app.say('bob', 'console')).text).toBe('You have no active console grants. Type "console <vm>" to get one.');
  });

  test('--minutes or --revoke without a VM is a usage error in plain words', async () => {
    const app = await open();
    const r = await app.say('alice', 'console --minutes 30');
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(/^Console needs the VM name with --minutes or --revoke\. Usage: console/);
  });

  test('a notice goes out 5 minutes (the policy default) before a grant ends, once, naming how to extend', async () => {
    const clock = manualClock(new Date('2026-11-23T09:00:00Z'));
    const app = await open({}, { clock });
    const notices = collectNotices(app);
    await app.say('alice', 'console web01 --minutes 30');
    clock.minutes(24);
    await app.tick();
    expect(notices).toEqual([]);
    clock.minutes(1);
    await app.tick();
    await app.tick();
    expect(notices).toEqual([{ to: ['alice'], reply: expect.objectContaining({ text: 'Your console access to web01 ends at 2026-11-23 09:30 UTC (5 min left). Type "console web01 --minutes N" to extend it.' }) }]);
    clock.minutes(6);
    await app.tick();
    expect(notices.at(-1)!.reply.text).toBe('Your console access to web01 has expired.');
  });

  test('the warning time is configurable (settings.console.warnMinutes; 0 turns it off)', async () => {
    const clock = manualClock(new Date('2026-11-23T09:00:00Z'));
    const ten = await open({ VMBOT_POLICY: policyVariant((p) => void (p.settings!.console = { defaultMinutes: 30, maxMinutes: 240, warnMinutes: 10 })) }, { clock });
    const got = collectNotices(ten);
    await ten.say('alice', 'console web01');
    clock.minutes(20);
    await ten.tick();
    expect(got.map((n) => n.reply.text)).toEqual([expect.stringContaining('(10 min left)')]);
    const clock2 = manualClock(new Date('2026-11-23T09:00:00Z'));
    const none = await open({ VMBOT_POLICY: policyVariant((p) => void (p.settings!.console = { defaultMinutes: 30, maxMinutes: 240, warnMinutes: 0 })) }, { clock: clock2 });
    const got2 = collectNotices(none);
    await none.say('alice', 'console web01');
    clock2.minutes(29);
    await none.tick();
    expect(got2).toEqual([]);
  });

  test('whoami shows active console grants', async () => {
    const clock = manualClock(new Date('2026-11-23T09:00:00Z'));
    const app = await open({}, { clock });
    expect((await app.say('alice', 'whoami')).text).toContain('Console access: none active');
    await app.say('alice', 'console web01 --minutes 20');
    expect((await app.say('alice', 'whoami')).text).toContain('Console access: web01 for CONTOSO\\alice until 2026-11-23 09:20 UTC (20 min left)');
  });
});
