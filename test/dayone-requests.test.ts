/**
 * Day one for requesters and approvers (issue 10): request history, one request in full,
 * withdrawing a request, and notices that say who decided.
 */
import { appsClosedAfterEach, collectNotices, type TestApp } from './support/app';
import { manualClock, policyVariant } from './support/policy';
import { recordsOf } from './support/audit';

const open = appsClosedAfterEach();
const idOf = (r: { data?: Record<string, unknown> }) => r.data?.requestId as string;

async function history(app: TestApp) {
  const created = await app.say('alice', 'request web11 --template web-small --reason "shop front"');
  const denied = await app.say('alice', 'request web12 --template web-small');
  const pending = await app.say('alice', 'request web13 --template web-ha --reason "HA pair"');
  await app.say('carol', `approve ${idOf(created)}`);
  await app.say('erin', `deny ${idOf(denied)} "use web-ha instead"`);
  return { created: idOf(created), denied: idOf(denied), pending: idOf(pending) };
}

describe('requests shows history', () => {
  test('the requester sees pending and decided requests: who decided, the deny reason, no expiry on finished ones', async () => {
    const app = await open();
    const ids = await history(app);
    const r = await app.say('alice', 'requests');
    expect(r.status).toBe('done');
    const lines = r.text.split('\n');
    const lineOf = (id: string) => lines.find((l) => l.includes(id))!;
    expect(lines[0]).toBe('Pending:');
    expect(lineOf(ids.pending)).toMatch(/pending, requested by alice, 0 of 2 approvals, expires \d{4}-/);
    expect(lines).toContain('Decided:');
    expect(lineOf(ids.created)).toMatch(/created on hv01, approved by carol on \d{4}-/);
    expect(lineOf(ids.denied)).toMatch(/denied by erin on .*: "use web-ha instead"/);
    expect(lineOf(ids.created)).not.toContain('expires');
    expect(lineOf(ids.denied)).not.toContain('expires');
    expect(r.data!.requests).toEqual(expect.arrayContaining([
      expect.objectContaining({ id: ids.denied, status: 'denied', decidedBy: ['erin'], denyReason: 'use web-ha instead' }),
      expect.objectContaining({ id: ids.created, status: 'created', decidedBy: ['carol'] }),
    ]));
  });

  test('an approver sees the history of their scope too, and actions only for what is still to decide', async () => {
    const app = await open();
    const ids = await history(app);
    const r = await app.say('carol', 'requests');
    for (const id of Object.values(ids)) expect(r.text).toContain(id);
    expect(r.actions!.map((a) => a.command)).toEqual([`approve ${ids.pending}`, `deny ${ids.pending}`]);
  });

  test('an expired request is listed as expired, without an expiry date in the future', async () => {
    const clock = manualClock(new Date('2026-11-23T09:00:00Z'));
    const app = await open({}, { clock });
    const r = await app.say('alice', 'request web14 --template web-small');
    clock.advance(96 * 3_600_000);
    await app.tick();
    const line = (await app.say('alice', 'requests')).text.split('\n').find((l) => l.includes(idOf(r)))!;
    expect(line).toMatch(/expired on 2026-11-27 09:00 UTC without enough approvals/);
    expect(line).not.toContain('expires');
  });
});

describe('request show', () => {
  test('one request in full: template sizing, reason, approvals so far, and its audit trail', async () => {
    const app = await open();
    const ids = await history(app);
    await app.say('carol', `approve ${ids.pending}`);
    const r = await app.say('erin', `request show ${ids.pending}`);
    expect(r.status).toBe('done');
    expect(r.text).toMatch(new RegExp(`^Request ${ids.pending}: web13 from web-ha, pending, requested by alice, 1 of 2 approvals \\(carol\\)`));
    expect(r.text).toContain('Template: web-ha: gen 2, 4 vCPU, 8192 MB, 120 GB, switch Tenant-Web VLAN 110');
    expect(r.text).toContain('Reason: HA pair');
    expect(r.text).toMatch(/Approvals: 1 of 2: carol \(\d{4}-/);
    expect(r.text).toContain('Audit trail:');
    expect(r.text).toMatch(/alice: requested → pending/);
    expect(r.text).toMatch(/carol: approval → pending \(approval 1 of 2\)/);
    expect(r.actions!.map((a) => a.command)).toEqual([`approve ${ids.pending}`, `deny ${ids.pending}`]);
  });

  test('a finished request shows no expiry; a denied one shows the reason in its trail', async () => {
    const app = await open();
    const ids = await history(app);
    const r = await app.say('alice', `request show ${ids.denied}`);
    expect(r.text).not.toMatch(/Expires/);
    expect(r.text).toMatch(/erin: denied → ok \(use web-ha instead\)/);
  });

  test('someone who neither asked nor decides cannot see a request (reads like a missing one)', async () => {
    const app = await open();
    const ids = await history(app);
    const r = await app.say('bob', `request show ${ids.pending}`);
    expect(r.status).not.toBe('done');
    expect(r.text).not.toContain('web13');
  });
});

describe('request cancel', () => {
  test('the requester withdraws a pending request: approvers are told, it can no longer be approved, and it is audited', async () => {
    const app = await open();
    const notices = collectNotices(app);
    const r = await app.say('alice', 'request web15 --template web-small');
    const c = await app.say('alice', `request cancel ${idOf(r)}`);
    expect(c).toMatchObject({ status: 'done', text: `Request ${idOf(r)} for web15 withdrawn. It no longer counts against your quota.` });
    expect(notices.at(-1)).toMatchObject({ to: ['carol', 'erin'], reply: { text: `alice withdrew request ${idOf(r)} for web15; nothing to decide.` } });
    const a = await app.say('carol', `approve ${idOf(r)}`);
    expect(a.status).toBe('invalid');
    expect(a.text).toBe(`Request ${idOf(r)} is already withdrawn by alice; nothing more to decide.`);
    expect(await app.backend.get('web15')).toBeNull();
    expect((await app.say('alice', 'requests')).text).toMatch(/withdrawn by alice on/);
    const trail = recordsOf(app.config.VMBOT_DATA_DIR, c.auditId);
    expect(trail.find((x) => x.operation === 'request.cancel' && x.kind === 'event')).toMatchObject({ user: 'alice', outcome: 'ok', reason: 'withdrawn by the requester' });
  });

  test('a withdrawn request stops counting against the quota', async () => {
    const app = await open({ VMBOT_POLICY: policyVariant((p) => void (p.scopes.web!.quotaPerUser = 1)) });
    const first = await app.say('alice', 'request web16 --template web-small');
    expect((await app.say('alice', 'request web17 --template web-small')).status).toBe('denied');
    await app.say('alice', `request cancel ${idOf(first)}`);
    expect((await app.say('alice', 'request web17 --template web-small')).status).toBe('pending');
  });

  test('only your own, only while pending', async () => {
    const app = await open();
    const ids = await history(app);
    const other = await app.say('carol', `request cancel ${ids.pending}`);
    expect(other.status).not.toBe('done');
    const done = await app.say('alice', `request cancel ${ids.created}`);
    expect(done).toMatchObject({ status: 'invalid', text: `Request ${ids.created} is already created (approved by carol); it can no longer be withdrawn.` });
  });
});

describe('decisions say who', () => {
  test('the final-approval notice names the approver', async () => {
    const app = await open();
    const notices = collectNotices(app);
    const r = await app.say('alice', 'request web18 --template web-small');
    await app.say('erin', `approve ${idOf(r)}`);
    const toAlice = notices.filter((n) => n.to.includes('alice')).at(-1)!;
    expect(toAlice.reply.text).toMatch(new RegExp(`^erin approved your request ${idOf(r)}: your VM web18 \\(web-small\\) was created on hv01`));
  });

  test('"already created" says by whom', async () => {
    const app = await open();
    const r = await app.say('alice', 'request web19 --template web-small');
    await app.say('carol', `approve ${idOf(r)}`);
    const again = await app.say('erin', `approve ${idOf(r)}`);
    expect(again.text).toBe(`Request ${idOf(r)} is already created (approved by carol); nothing more to decide.`);
    const deny = await app.say('erin', `deny ${idOf(r)} too late`);
    expect(deny.text).toBe(`Request ${idOf(r)} is already created (approved by carol); nothing more to decide.`);
  });

  test('the help for request lists show and cancel', async () => {
    const app = await open();
    const h = await app.say('alice', 'help request');
    expect(h.text).toContain('Usage: request show <request id>');
    expect(h.text).toContain('Usage: request cancel <request id>');
  });
});
