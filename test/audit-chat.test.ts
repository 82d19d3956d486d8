import { join } from 'node:path';
import { queryAudit } from '../src/audit/query';
import { appsClosedAfterEach, type TestApp } from './support/app';
import { readAuditRecords } from './support/audit';
import { policyVariant } from './support/policy';

const open = appsClosedAfterEach();

/** Some history: alice starts web01, mallory is denied on db01, bob stops db01, alice asks for a VM. */
async function withHistory(overrides: Record<string, string> = {}): Promise<{ app: TestApp; requestId: string }> {
  const app = await open(overrides);
  await app.say('alice', 'start web01');
  await app.say('mallory', 'start db01');
  await app.say('bob', 'stop db01');
  const r = await app.say('alice', 'request web07 --template web-small --reason "new shop"');
  return { app, requestId: (r.data as { requestId: string }).requestId };
}

const lastRecord = (app: TestApp) => readAuditRecords(app.config.VMBOT_DATA_DIR).at(-1)!;

describe('audit in chat, as the auditor (dave: Read Audit Log over every VM)', () => {
  test('recent records, newest last, with who did what on which VM and the outcome', async () => {
    const { app } = await withHistory();
    const r = await app.say('dave', 'audit');
    expect(r.status).toBe('done');
    expect(r.visibility).toBe('private'); // only the caller sees it (Slack ephemeral, Teams 1:1)
    expect(r.text).toMatch(/^Newest \d+ of \d+ audit records in every VM \(oldest first\):/);
    expect(r.text).toMatch(/#\d+ \S+ \S+ result alice: Start Virtual Machine web01 → ok/);
    expect(r.text).toMatch(/decision mallory: Start Virtual Machine db01 → denied/);
  });

  test('filters: user, VM, operation, outcome, since/until, limit', async () => {
    const { app } = await withHistory();
    const denied = await app.say('dave', 'audit --outcome denied');
    expect(denied.text.split('\n').slice(1)).toEqual([expect.stringMatching(/mallory: Start Virtual Machine db01 → denied/)]);
    const bob = await app.say('dave', 'audit --user bob --vm DB01 --operation "stop virtual machine"');
    expect(bob.text.split('\n').slice(1).map((l) => l.replace(/^#\d+ \S+ \S+ /, ''))).toEqual([
      expect.stringMatching(/^intent bob: Stop Virtual Machine \(shutdown\) db01 → allowed/),
      expect.stringMatching(/^result bob: Stop Virtual Machine \(shutdown\) db01 → ok/),
    ]);
    expect((await app.say('dave', 'audit --since 1h --limit 2')).text).toMatch(/^Newest 2 of \d+ audit records matching since=/);
    expect((await app.say('dave', 'audit --until 2020-01-01')).text).toBe('No audit records matching until=2020-01-01T00:00:00.000Z in every VM.');
    const bad = await app.say('dave', 'audit --since yesterday');
    expect(bad.status).toBe('invalid');
    expect(bad.text).toContain('"yesterday" is not a time: use 2026-11-30, 2026-11-30T08:00Z, or 90m / 24h / 7d');
  });

  test('the whole trail of one request, by its id', async () => {
    const { app, requestId } = await withHistory();
    await app.say('carol', `approve ${requestId}`);
    const r = await app.say('dave', `audit ${requestId}`);
    const expected = await queryAudit(join(app.config.VMBOT_DATA_DIR, 'audit'), { correlationId: requestId });
    expect(r.text.split('\n')[0]).toBe(`Audit trail of ${requestId} (${expected.length} records):`);
    expect(r.data).toMatchObject({ ids: expected.map((x) => x.id) });
    expect(r.text).toMatch(/alice: Request Virtual Machine web07/);
    expect(r.text).toMatch(/carol: Approve Virtual Machine Request/);
  });

  test('chain state: verified up to record N, and the head hash', async () => {
    const { app } = await withHistory();
    const head = app.audit.head;
    const r = await app.say('dave', 'audit chain');
    expect(r.text).toBe(`Chain verified up to record #${head.id}: each record's hash checked and linked to the one before it.\nHead: #${head.id} ${head.hash}`);
  });

  test('every read is itself audited, with what was asked and what was shown', async () => {
    const { app } = await withHistory();
    const r = await app.say('dave', 'audit --user alice --limit 3');
    const rec = lastRecord(app);
    expect(rec).toMatchObject({ id: r.auditId, user: 'dave', operation: 'Read Audit Log', command: 'audit --user alice --limit 3', outcome: 'ok' });
    expect((rec.details as { data: { ids: number[] } }).data.ids).toHaveLength(3);
  });
});

describe('audit in chat, for others', () => {
  test('a guest admin is denied like any other operation, and the denial is audited', async () => {
    const { app } = await withHistory();
    const r = await app.say('alice', 'audit');
    expect(r.status).toBe('denied');
    expect(r.text).toBe('You are not permitted to do that: none of your roles grants "Read Audit Log".');
    expect(lastRecord(app)).toMatchObject({ user: 'alice', operation: 'Read Audit Log', decision: 'deny', outcome: 'denied' });
    expect((await app.say('mallory', 'audit chain')).status).toBe('denied');
  });

  test('help lists audit for the auditor only', async () => {
    const app = await open();
    expect((await app.say('dave', 'help')).text).toMatch(/\baudit\b/);
    expect((await app.say('alice', 'help')).text).not.toMatch(/^\s*audit\b/m);
  });

  test('an auditor of one scope sees that scope’s VMs only: no other VM, no trail outside it', async () => {
    const file = policyVariant((p) => {
      p.assignments.push({ role: 'auditor', scope: 'db', users: ['erin'] });
    });
    const { app, requestId } = await withHistory({ VMBOT_POLICY: file });
    const all = await app.say('erin', 'audit --limit 100');
    expect(all.text).toMatch(/^Newest \d+ of \d+ audit records in scope db/);
    const shown = all.text.split('\n').slice(1);
    expect(shown.length).toBeGreaterThan(0);
    for (const line of shown) expect(line).toMatch(/ db01 → /);
    expect((await app.say('erin', 'audit --vm web01')).text).toBe('No audit records matching vm=web01 in scope db.');
    expect((await app.say('erin', `audit ${requestId}`)).text).toBe(`No audit records for ${requestId} in the VMs you audit.`);
  });
});
