import { ALL_COMMANDS } from '../commands/index';
import { explain } from '../src/policy/explain';
import { appsClosedAfterEach } from './support/app';
import { readAuditRecords } from './support/audit';

const open = appsClosedAfterEach();

/** Every record of one request (by its correlation id: the request id for approve/deny). */
const recordsFor = (dir: string, correlationId: string, user: string) =>
  readAuditRecords(dir).filter((r) => r.correlationId === correlationId && r.user === user && r.command !== null);

describe('one authorizer: every refusal is an audited decision: deny, before any intent', () => {
  test('self-approval: one record, decision deny with the reason, no intent', async () => {
    const app = await open();
    const r = await app.say('alice', 'request web05 --template web-small');
    const id = r.data!.requestId as string;
    // Self-approval is refused first, whatever roles the requester holds.
    const self = await app.say('alice', `approve ${id}`);
    expect(self.status).toBe('denied');
    const recs = recordsFor(app.config.VMBOT_DATA_DIR, id, 'alice').filter((x) => x.command?.startsWith('approve'));
    expect(recs).toEqual([expect.objectContaining({ kind: 'decision', decision: 'deny', outcome: 'denied', reason: expect.stringMatching(/self-approval/) })]);
  });

  test('a non-approver and an approver of another scope are refused with decision deny; no intent written', async () => {
    const app = await open();
    const r = await app.say('alice', 'request web05 --template web-small');
    const id = r.data!.requestId as string;
    for (const who of ['bob', 'dave']) {
      const d = await app.say(who, `deny ${id} nope`);
      expect(d.status).toBe('denied');
      const recs = recordsFor(app.config.VMBOT_DATA_DIR, id, who);
      expect(recs.map((x) => `${x.kind}:${x.decision}:${x.outcome}`)).toEqual(['decision:deny:denied']);
    }
    expect(app.store.data.approvals[id]!.status).toBe('pending');
  });

  test('an allowed decision is audited as allow with the reason (approver for the scope)', async () => {
    const app = await open();
    const r = await app.say('alice', 'request web05 --template web-small');
    const id = r.data!.requestId as string;
    await app.say('carol', `deny ${id} no budget`);
    const recs = recordsFor(app.config.VMBOT_DATA_DIR, id, 'carol');
    expect(recs[0]).toMatchObject({ kind: 'intent', decision: 'allow', reason: expect.stringMatching(/approver for scope/) });
  });

  test('policy explain decides through the same function as the pipeline', async () => {
    const app = await open();
    for (const [who, text] of [['alice', 'start web01'], ['alice', 'start db01'], ['bob', 'approve r-abcdef'], ['carol', 'approve r-abcdef'], ['mallory', 'list'], ['alice', 'status web02']] as const) {
      const x = explain(app.policy(), ALL_COMMANDS, `local:${who}`, text);
      const reply = await app.say(who, text);
      expect(`${who} ${text}: ${x.decision.allow ? 'allow' : 'deny'}`).toBe(`${who} ${text}: ${reply.status === 'denied' ? 'deny' : 'allow'}`);
    }
  });
});
