import { appsClosedAfterEach, collectNotices, type TestApp } from './support/app';
import { readAuditRecords } from './support/audit';
import type { ProgressHandle, Reply, ReplyAction } from '../src/core/types';

const open = appsClosedAfterEach();

/** What a front-end does when a user clicks a button: the action's command and inputs, as the clicker. */
const click = (app: TestApp, who: string, action: ReplyAction, inputs?: Record<string, string>) =>
  app.pipeline.handle({ principal: `local:${who}`, text: action.command, inputs, channel: { kind: 'local', id: 'test' } });

async function pendingRequest(app: TestApp) {
  const notices = collectNotices(app);
  const r = await app.say('alice', 'request web05 --template web-small --reason "new shop"');
  const card = notices.find((n) => n.to.includes('carol'))!.reply;
  const deny = card.actions!.find((a) => a.id.startsWith('deny:'))!;
  return { id: r.data!.requestId as string, deny, notices };
}

describe('actions with inputs: the Deny button', () => {
  test('a Deny click carries the reason the approver typed, and the requester reads exactly that reason', async () => {
    const app = await open();
    const { id, deny, notices } = await pendingRequest(app);
    expect(deny.inputs).toEqual([expect.objectContaining({ name: 'reason' })]);
    const reason = 'no budget "this" quarter --turnoff <@U123>';
    const d = await click(app, 'carol', deny, { reason });
    expect(d.status).toBe('done');
    expect(app.store.data.approvals[id]).toMatchObject({ status: 'denied', deniedBy: 'carol', denyReason: reason });
    expect(notices.find((n) => n.to.includes('alice') && n.reply.status === 'denied')!.reply.text).toContain(reason);
  });

  test('a Deny click without a reason denies nothing (it used to deny with the reason "<reason>")', async () => {
    const app = await open();
    const { id, deny } = await pendingRequest(app);
    const d = await click(app, 'carol', deny);
    expect(d.status).toBe('invalid');
    expect(app.store.data.approvals[id]!.status).toBe('pending');
    expect(app.store.data.approvals[id]!.denyReason).toBeUndefined();
  });

  test('an input the command does not declare is refused, and a reason in text and form at once is ambiguous', async () => {
    const app = await open();
    const { id } = await pendingRequest(app);
    const r1 = await app.pipeline.handle({ principal: 'local:carol', text: `approve ${id}`, inputs: { reason: 'x' }, channel: { kind: 'local', id: '' } });
    expect(r1.status).toBe('invalid');
    const r2 = await app.pipeline.handle({ principal: 'local:carol', text: `deny ${id} one`, inputs: { reason: 'two' }, channel: { kind: 'local', id: '' } });
    expect(r2.status).toBe('invalid');
    expect(app.store.data.approvals[id]!.status).toBe('pending');
  });
});

describe('visibility', () => {
  test('list, status, console grants, help, whoami and every denial are private; start is for the conversation', async () => {
    const app = await open();
    const vis = async (user: string, text: string) => {
      const r = await app.say(user, text);
      return `${r.status}/${r.visibility}`;
    };
    expect(await vis('alice', 'list')).toBe('done/private');
    expect(await vis('alice', 'status web01')).toBe('done/private');
    expect(await vis('alice', 'console web01')).toBe('done/private');
    expect(await vis('alice', 'whoami')).toBe('done/private');
    expect(await vis('alice', 'help')).toBe('done/private');
    expect(await vis('alice', '')).toBe('done/private');
    expect(await vis('alice', 'start web01')).toBe('done/conversation');
    expect(await vis('alice', 'start db01')).toBe('denied/private');
    expect(await vis('mallory', 'start web01')).toBe('denied/private');
    expect(await vis('alice', 'start')).toBe('invalid/private');
  });
});

describe('progress and final are one message', () => {
  test('the progress handle the adapter returned is given back with the final reply, which replaces it', async () => {
    const app = await open();
    const screen = new Map<string, string>();
    let n = 0;
    const finals: Array<{ reply: Reply; handle?: ProgressHandle }> = [];
    const reply = await app.pipeline.handle(
      { principal: 'local:alice', text: 'start web01', channel: { kind: 'local', id: 'test' } },
      {
        progress(r, previous) {
          const ref = previous?.ref ?? `m${++n}`;
          screen.set(ref, r.text);
          return { ref };
        },
        final(r, handle) {
          finals.push({ reply: r, handle });
          screen.set(handle?.ref ?? `m${++n}`, r.text);
        },
      },
    );
    expect(reply.status).toBe('done');
    expect(finals).toHaveLength(1);
    expect(finals[0]!.handle).toEqual({ ref: 'm1' });
    // One message on screen, showing the final state, not "starting…".
    expect([...screen.values()]).toEqual(['web01 is running.']);
  });

  test('a reply without progress reaches final with no handle', async () => {
    const app = await open();
    const got: Array<ProgressHandle | undefined> = [];
    await app.pipeline.handle({ principal: 'local:alice', text: 'status web01', channel: { kind: 'local', id: '' } }, { final: (_r, h) => void got.push(h) });
    expect(got).toEqual([undefined]);
  });
});

test('inputs are audited with the command (the reason is part of the deny record)', async () => {
  const app = await open();
  const { id, deny } = await pendingRequest(app);
  await click(app, 'carol', deny, { reason: 'not needed' });
  const recs = readAuditRecords(app.config.VMBOT_DATA_DIR).filter((r) => r.correlationId === id && r.operation === 'request.deny');
  expect(recs.map((r) => r.reason)).toEqual(['not needed']);
});

test('a credential pasted into a Deny reason is redacted like one in the command text', async () => {
  const app = await open();
  const { id, deny, notices } = await pendingRequest(app);
  const token = `xoxb-${'1234567890'.repeat(2)}-abcdefghijklmnop`;
  await click(app, 'carol', deny, { reason: `use ${token} instead` });
  expect(JSON.stringify(app.store.data.approvals[id])).not.toContain(token);
  expect(JSON.stringify(notices)).not.toContain(token);
  expect(JSON.stringify(readAuditRecords(app.config.VMBOT_DATA_DIR))).not.toContain(token);
});
