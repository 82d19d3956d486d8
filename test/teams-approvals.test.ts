import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_POLICY } from './support/app';
import { readAuditRecords } from './support/audit';
import { activities, AAD, personalChatId, startTeamsRig, TENANT, walk, type TeamsRig } from './support/teams';
import type { SentActivity } from './support/teams-connector';

let rig: TeamsRig;
let act: ReturnType<typeof activities>;
beforeEach(async () => {
  rig = await startTeamsRig();
  act = activities(rig.connector.url);
});
afterEach(() => rig.close());

const cardOf = (m: SentActivity | undefined) => m?.activity.attachments?.[0]?.content;
const audit = () => readAuditRecords(rig.app.config.VMBOT_DATA_DIR);
/** The data a card's button (by title) sends, as Action.Execute carries it. */
const button = (card: unknown, title: RegExp) => walk(card).find((e) => e.type === 'Action.Execute' && title.test(e.title))!;
const cardText = (card: unknown) => walk(card).filter((e) => e.type === 'TextBlock' || e.type === 'FactSet').map((e) => e.text ?? JSON.stringify(e.facts)).join(' ');

/** alice asks for a VM in her personal chat; erin has talked to the bot before, carol never has. */
async function requestVm(name: string, template = 'web-small') {
  await rig.post(act.personal('erin', 'whoami'));
  await rig.post(act.personal('alice', `request ${name} --template ${template} --reason "shop **launch**"`));
  await rig.settle();
  const id = /Request (r-[a-z0-9]+)/.exec(JSON.stringify(rig.connector.in(personalChatId('alice')).at(-1)!.activity))![1]!;
  const carolChat = rig.connector.personalChatOf(AAD.carol)!;
  return { id, carolChat, carolCard: rig.connector.in(carolChat)[0]!, erinCard: rig.connector.in(personalChatId('erin')).at(-1)! };
}

describe('Teams approvals: proactive cards, Action.Execute and Action.Submit, every card updated', () => {
  it('approvers are reached in their 1:1 chat, opened by tenant + AAD object id for one who never wrote to the bot', async () => {
    const { id, carolChat, carolCard, erinCard } = await requestVm('web07');
    const create = rig.connector.calls.find((c) => c.method === 'POST' && c.path === '/v3/conversations')!;
    expect(create.body).toMatchObject({ isGroup: false, tenantId: TENANT, members: [{ id: AAD.carol }], channelData: { tenant: { id: TENANT } } });
    expect(carolChat).toBeDefined();
    for (const m of [carolCard, erinCard]) {
      const card = cardOf(m);
      expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
      expect(cardText(card)).toContain(id);
      expect(cardText(card)).toContain('shop \\*\\*launch\\*\\*'); // the reason as typed, not bold
      expect(button(card, /^Approve/).data.vmbot.command).toBe(`approve ${id}`);
    }
    // erin's Teams id is known (she wrote to the bot): her card refreshes for her.
    expect(cardOf(erinCard).refresh).toMatchObject({ userIds: ['29:erin'], action: { verb: 'vmbot.refresh' } });
    // The requester's own chat got the pending reply, not a card to approve herself.
    expect(JSON.stringify(rig.connector.in(personalChatId('alice')))).not.toContain('vmbot.command');
  });

  it('Approve via adaptiveCard/action: the VM is created, the clicker sees the outcome, every approver\'s card shows who decided', async () => {
    const { id, carolChat, carolCard, erinCard } = await requestVm('web07');
    const res = await rig.post(act.execute('carol', button(cardOf(carolCard), /^Approve/).data, carolCard.id, carolChat));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(cardText(res.body.value)).toMatch(new RegExp(`Approved ${id}: web07 created on hv01`));
    expect(walk(res.body.value).some((e) => e.type === 'Action.Execute')).toBe(false);
    expect(await rig.app.backend.get('web07')).toMatchObject({ name: 'web07' });
    await rig.settle();
    for (const m of [carolCard, erinCard]) {
      const now = cardOf(rig.connector.in(m.conversationId).find((x) => x.id === m.id));
      expect(cardText(now)).toMatch(/approved by carol at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
      expect(walk(now).some((e) => /^Action\./.test(e.type))).toBe(false);
    }
    // The requester is told, proactively, in her 1:1 chat.
    expect(JSON.stringify(rig.connector.in(personalChatId('alice')).at(-1)!.activity)).toMatch(/your VM web07 .*was created on hv01/);
    expect(audit().find((r) => r.operation === 'request.approval')).toMatchObject({ principal: `teams:${AAD.carol}`, user: 'carol', outcome: 'ok' });
  });

  it('two-person rule: the first approval changes only the clicker\'s card; the second creates the VM and closes every card', async () => {
    const { id, carolChat, carolCard, erinCard } = await requestVm('web05', 'web-ha');
    const first = await rig.post(act.execute('carol', button(cardOf(carolCard), /^Approve/).data, carolCard.id, carolChat));
    expect(first.body.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(cardText(first.body.value)).toMatch(new RegExp(`Approval recorded for ${id} \\(1 of 2\\)`));
    expect(walk(first.body.value).some((e) => e.type === 'Action.Execute')).toBe(false);
    await rig.settle();
    expect(await rig.app.backend.get('web05')).toBeNull();
    // erin's card is untouched and still offers the decision.
    expect(rig.connector.in(erinCard.conversationId).find((x) => x.id === erinCard.id)!.history).toEqual([]);
    const second = await rig.post(act.execute('erin', button(cardOf(erinCard), /^Approve/).data, erinCard.id));
    expect(cardText(second.body.value)).toMatch(/web05 created on hv01/);
    await rig.settle();
    for (const m of [carolCard, erinCard]) expect(cardText(cardOf(rig.connector.in(m.conversationId).find((x) => x.id === m.id)))).toMatch(/approved by carol, erin/);
  });

  it('a double click and a non-approver are refused harmlessly: one VM, one create', async () => {
    const { id, carolChat, carolCard } = await requestVm('web07');
    const data = button(cardOf(carolCard), /^Approve/).data;
    const outsider = await rig.post(act.execute('bob', data, carolCard.id));
    expect(outsider.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: expect.stringMatching(/not an approver for request r-|none of your roles grants "Approve Virtual Machine Request"/) });
    const first = await rig.post(act.execute('carol', data, carolCard.id, carolChat));
    const again = await rig.post(act.execute('carol', data, carolCard.id, carolChat));
    expect(first.body.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(again.body).toMatchObject({ type: 'application/vnd.microsoft.activity.message' });
    expect(again.body.value).toMatch(new RegExp(`${id} is already (created|approved)`));
    expect(audit().filter((r) => r.operation === 'Create Virtual Machine' && r.kind === 'intent')).toHaveLength(1);
    // Refusals are audited as denials under the clicker, and post nothing in anyone's chat.
    expect(audit().filter((r) => r.user === 'bob' && r.operation === 'Approve Virtual Machine Request')).toEqual([expect.objectContaining({ decision: 'deny', outcome: 'denied' })]);
    expect(JSON.stringify(rig.connector.messages)).not.toMatch(/not permitted|is already/);
  });

  it('Deny via the Action.Submit fallback with the reason typed into the card; the requester reads it as typed', async () => {
    const { id, erinCard } = await requestVm('web08');
    const deny = button(cardOf(erinCard), /^Deny/);
    const inputId = walk(cardOf(erinCard)).find((e) => e.type === 'Input.Text')!.id as string;
    const reason = 'no budget; see <at>Everyone</at> [link](https://x)';
    const res = await rig.post(act.submit('erin', { ...deny.data, [inputId]: reason }, erinCard.id));
    expect(res.status).toBe(200);
    expect(rig.app.store.data.approvals[id]).toMatchObject({ status: 'denied', deniedBy: 'erin', denyReason: reason });
    await rig.settle();
    const updated = cardOf(rig.connector.in(erinCard.conversationId).find((x) => x.id === erinCard.id));
    expect(cardText(updated)).toMatch(/denied by erin at .*: no budget; see \\<at\\>Everyone\\<\/at\\> \\\[link\\\]\(https:\/\/x\)/);
    const told = rig.connector.in(personalChatId('alice')).at(-1)!.activity;
    expect(told).toMatchObject({ textFormat: 'plain' });
    expect(told.text).toBe(`erin denied your request ${id} for web08: ${reason}`);
  });

  it('refresh: an approver opening the card gets its current state', async () => {
    const { carolChat, carolCard, erinCard } = await requestVm('web07');
    const refresh = cardOf(erinCard).refresh.action.data;
    const before = await rig.post(act.execute('erin', refresh, erinCard.id));
    expect(before.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(button(before.body.value, /^Approve/)).toBeDefined();
    await rig.post(act.execute('carol', button(cardOf(carolCard), /^Approve/).data, carolCard.id, carolChat));
    await rig.settle();
    const after = await rig.post(act.execute('erin', refresh, erinCard.id));
    expect(cardText(after.body.value)).toMatch(/approved by carol/);
    expect(walk(after.body.value).some((e) => e.type === 'Action.Execute' && e.verb === 'vmbot.command')).toBe(false);
  });

  it('an approver the bot cannot reach (app not installed) is named in the log; the others still get the card', async () => {
    rig.connector.notInstalled.add(AAD.carol);
    const { erinCard } = await requestVm('web07');
    expect(cardOf(erinCard)).toBeDefined();
    expect(rig.logs.some((l) => l.level === 'warn' && /cannot reach this user/.test(l.msg) && l.aad === AAD.carol)).toBe(true);
    expect(rig.logs.some((l) => l.level === 'warn' && /notice for carol not delivered in Teams/.test(l.msg))).toBe(true);
  });
});

describe('Teams approvals: self-approval', () => {
  let dir: string;
  beforeEach(async () => {
    await rig.close();
    // carol may request as well as approve: she must still not approve her own request.
    dir = mkdtempSync(join(tmpdir(), 'vmbot-teams-policy-'));
    const policy = readFileSync(EXAMPLE_POLICY, 'utf8').replace('- { role: requester, scope: web, users: [alice] }', '- { role: requester, scope: web, users: [alice, carol] }');
    expect(policy).toContain('users: [alice, carol]');
    writeFileSync(join(dir, 'policy.yaml'), policy);
    rig = await startTeamsRig({ overrides: { VMBOT_POLICY: join(dir, 'policy.yaml') } });
    act = activities(rig.connector.url);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an approver clicking Approve on their own request is refused; the request stays pending', async () => {
    await rig.post(act.personal('carol', 'request web09 --template web-small'));
    await rig.settle();
    const erinChat = rig.connector.personalChatOf(AAD.erin)!;
    const card = rig.connector.in(erinChat)[0]!;
    const id = /approve (r-[a-z0-9]+)/.exec(JSON.stringify(cardOf(card)))![1]!;
    const res = await rig.post(act.execute('carol', button(cardOf(card), /^Approve/).data, card.id));
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: `You cannot approve your own request ${id}; another approver must decide it.` });
    expect(rig.app.store.data.approvals[id]).toMatchObject({ status: 'pending', approvals: [] });
    expect(await rig.app.backend.get('web09')).toBeNull();
    // One decision record under carol's Teams identity: deny, and no intent.
    expect(audit().filter((r) => r.user === 'carol' && r.operation === 'Approve Virtual Machine Request')).toEqual([
      expect.objectContaining({ kind: 'decision', principal: `teams:${AAD.carol}`, decision: 'deny', outcome: 'denied' }),
    ]);
  });
});

describe('Teams: where people are reached', () => {
  it('installing the app (conversationUpdate in the personal scope) is enough for cards to go to that chat, without opening a new one', async () => {
    const install = { ...act.personal('carol', ''), type: 'conversationUpdate', membersAdded: [{ id: '28:vmbot-test' }] } as any;
    delete install.text;
    expect((await rig.post(install)).status).toBe(200);
    await rig.post(act.personal('alice', 'request web07 --template web-small'));
    await rig.settle();
    expect(rig.connector.in(personalChatId('carol'))).toHaveLength(1);
    expect(rig.connector.calls.filter((c) => c.path === '/v3/conversations' && JSON.stringify(c.body).includes(AAD.carol))).toEqual([]);
    // Her Teams id is known now, so her card refreshes for her.
    expect(cardOf(rig.connector.in(personalChatId('carol'))[0]).refresh.userIds).toEqual(['29:carol']);
  });

  it('what the bot learnt survives a restart (teams-conversations.json in the data directory)', async () => {
    const { ConversationStore } = await import('../src/adapters/teams/conversations');
    const file = join(rig.app.config.VMBOT_DATA_DIR, 'teams-conversations.json');
    await rig.post(act.personal('erin', 'whoami'));
    const reopened = ConversationStore.open(file);
    expect(reopened.user(AAD.erin)).toMatchObject({ userId: '29:erin', personal: personalChatId('erin'), tenantId: TENANT, serviceUrl: rig.connector.url });
    expect(reopened.serviceUrl).toBe(rig.connector.url);
  });
});
