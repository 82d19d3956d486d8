import { appsClosedAfterEach, collectNotices } from './support/app';

/**
 * Issue 7 item 11: a reply states what actually happened. A message built from data that a
 * concurrent request can still change, or a progress line sent before the state was checked,
 * tells the user something false.
 */
const open = appsClosedAfterEach();
const requestId = (r: { data?: Record<string, unknown> }) => r.data?.requestId as string;

describe('replies say what happened', () => {
  test('two approvals at once on a two-person request: the non-final approver is told 1 of 2, not "0 more"', async () => {
    const app = await open();
    const notices = collectNotices(app);
    const r = await app.say('alice', 'request web07 --template web-ha');
    const [carol, erin] = await Promise.all([app.say('carol', `approve ${requestId(r)}`), app.say('erin', `approve ${requestId(r)}`)]);
    const [recorded, final] = carol.status === 'pending' ? [carol, erin] : [erin, carol];
    expect(final.status).toBe('done');
    expect(recorded.status).toBe('pending');
    expect(recorded.text).toMatch(/\(1 of 2\)/);
    expect(recorded.text).toMatch(/needs 1 more approval/);
    expect(recorded.text).not.toMatch(/needs 0 more/);
    // The requester's notice about the first approval says the same.
    const progressNotice = notices.find((n) => n.to.includes('alice') && n.reply.status === 'pending');
    expect(progressNotice?.reply.text).toMatch(/1 more approval/);
    expect(await app.backend.get('web07')).not.toBeNull();
  });

  test('three approvers at once on a three-person template: the recorded approvals count 1 and 2, never 3 of 3 pending', async () => {
    const { policyVariant } = await import('./support/policy');
    const file = policyVariant((p) => {
      p.templates!['web-ha']!.approvals = 3;
      p.users.frank = { identities: ['local:frank'] };
      p.assignments.find((a) => a.role === 'approver')!.users!.push('frank');
    });
    const app = await open({ VMBOT_POLICY: file });
    const r = await app.say('alice', 'request web08 --template web-ha');
    const replies = await Promise.all(['carol', 'erin', 'frank'].map((u) => app.say(u, `approve ${requestId(r)}`)));
    const pending = replies.filter((x) => x.status === 'pending').map((x) => /\((\d) of 3\)/.exec(x.text)?.[1]).sort();
    expect(pending).toEqual(['1', '2']);
    expect(replies.filter((x) => x.status === 'done')).toHaveLength(1);
  });

  test('start on a running VM never says "starting…" first', async () => {
    const app = await open();
    const r = await app.say('alice', 'start WEB02');
    expect(r.progress).toEqual([]);
    expect(r.text).toMatch(/already running/);
    expect((await app.backend.get('web02'))!.state).toBe('Running');
  });

  test('stop on a VM that is off never says "shutting down…" / "turning off…" first', async () => {
    const app = await open();
    const r = await app.say('alice', 'stop web01');
    expect(r.progress).toEqual([]);
    expect(r.text).toMatch(/already off/);
    const t = await app.say('bob', 'stop db02 --turnoff');
    expect(t.progress).toEqual([]);
    expect(t.text).toMatch(/already off/);
  });

  test('start and stop that do act still report progress first', async () => {
    const app = await open();
    expect((await app.say('alice', 'start web01')).progress).toEqual(['web01 is starting…']);
    expect((await app.say('alice', 'stop web01')).progress).toEqual(['web01 is shutting down…']);
  });
});

describe('no shared mutable copies between a reply and state', () => {
  test('a redelivered request replays the first reply as it was, even if an adapter changed the reply it was handed', async () => {
    const app = await open();
    const req = { principal: 'local:alice', text: 'status web02', channel: { kind: 'local' as const, id: 't' }, idempotencyKey: 'k-1' };
    const first = await app.pipeline.handle(req);
    const original = first.fields![0]!.value;
    // An adapter escaping or decorating a reply in place must not rewrite what state keeps.
    first.fields![0]!.value = 'changed by adapter';
    (first.data as Record<string, unknown>).vm = 'changed';
    const again = await app.pipeline.handle(req);
    expect(again.data).toMatchObject({ vm: 'web02', replayed: true });
    expect(again.fields![0]!.value).toBe(original);
    again.fields![0]!.value = 'changed on replay';
    expect((await app.pipeline.handle(req)).fields![0]!.value).toBe(original);
  });

});
