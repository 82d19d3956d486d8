import { readAuditRecords } from './support/audit';
import { activities, AAD, CHANNEL, personalChatId, startTeamsRig, TENANT, type TeamsRig } from './support/teams';

let rig: TeamsRig;
let act: ReturnType<typeof activities>;
beforeEach(async () => {
  rig = await startTeamsRig();
  act = activities(rig.connector.url);
});
afterEach(() => rig.close());

/** What a user sees in a conversation: each message's text, or its card's text blocks. */
const shown = (conversationId: string) =>
  rig.connector.in(conversationId).map((m) => {
    const card = m.activity.attachments?.[0]?.content;
    return card ? JSON.stringify(card) : (m.activity.text as string);
  });
const cardOf = (m: { activity: any }) => m.activity.attachments?.[0]?.content;

describe('Teams: messages through POST /api/messages (dev mode, connector stand-in)', () => {
  it('allowed: "vm start web01" in a personal chat shows "starting…", then that message becomes the final state', async () => {
    const res = await rig.post(act.personal('alice', 'vm start web01'));
    expect(res.status).toBe(200);
    const [msg, ...rest] = rig.connector.in(personalChatId('alice'));
    expect(rest).toEqual([]);
    expect(msg!.history.map((h) => h.text)).toEqual(['web01 is starting…']);
    expect(msg!.activity).toMatchObject({ text: 'web01 is running.', textFormat: 'plain' });
    expect(await rig.app.backend.get('web01')).toMatchObject({ state: 'Running' });
    // Dev mode sends nothing to the connector with credentials.
    expect(rig.connector.calls.every((c) => c.authorization === undefined)).toBe(true);
    const records = readAuditRecords(rig.app.config.VMBOT_DATA_DIR);
    const result = records.find((r) => r.kind === 'result' && r.vm === 'web01')!;
    expect(result).toMatchObject({ principal: `teams:${AAD.alice}`, user: 'alice', outcome: 'ok', channel: `teams:${personalChatId('alice')}` });
  });

  it('denied: a VM outside the scope gets the not-permitted reply and an audited denial, nothing runs', async () => {
    await rig.post(act.personal('alice', 'stop db01'));
    expect(shown(personalChatId('alice'))).toEqual(['You are not permitted to do that on db01, or there is no such VM.']);
    expect(await rig.app.backend.get('db01')).toMatchObject({ state: 'Running' });
    const records = readAuditRecords(rig.app.config.VMBOT_DATA_DIR).filter((r) => r.vm === 'db01');
    expect(records).toEqual([expect.objectContaining({ kind: 'decision', decision: 'deny', outcome: 'denied', user: 'alice' })]);
  });

  it('invalid: a command without its VM gets the usage', async () => {
    await rig.post(act.personal('alice', 'start'));
    expect(shown(personalChatId('alice'))[0]).toMatch(/start needs the VM name\. Usage: start <vm>/);
  });

  it('unregistered: a Teams user in no policy is told so, and the denial is audited under their principal', async () => {
    await rig.post(act.personal('stranger', 'start web01'));
    expect(shown(personalChatId('stranger'))[0]).toMatch(new RegExp(`You \\(teams:${AAD.stranger}\\) are not known to vmbot`));
    const rec = readAuditRecords(rig.app.config.VMBOT_DATA_DIR).at(-1)!;
    expect(rec).toMatchObject({ principal: `teams:${AAD.stranger}`, user: null, decision: 'deny', outcome: 'denied' });
    expect(await rig.app.backend.get('web01')).toMatchObject({ state: 'Off' });
  });

  it('a message without an Entra object id is refused with an explanation and audited as invalid', async () => {
    const a = act.personal('alice', 'start web01') as any;
    delete a.from.aadObjectId;
    await rig.post(a);
    expect(shown(personalChatId('alice'))[0]).toMatch(/cannot tell who you are/);
    expect(readAuditRecords(rig.app.config.VMBOT_DATA_DIR).at(-1)).toMatchObject({ outcome: 'invalid' });
    expect(await rig.app.backend.get('web01')).toMatchObject({ state: 'Off' });
  });

  it('channel: "@VM Bot start web01" runs with the mention removed, answered in the thread', async () => {
    await rig.post(act.channel('alice', 'start web01'));
    expect(shown(CHANNEL)).toEqual(['web01 is running.']);
    expect(readAuditRecords(rig.app.config.VMBOT_DATA_DIR).find((r) => r.kind === 'intent')).toMatchObject({ command: 'start web01', user: 'alice' });
  });

  it('channel: a private answer (list) goes to the 1:1 chat; the channel only gets a pointer', async () => {
    await rig.post(act.channel('alice', 'list'));
    expect(shown(CHANNEL)).toEqual(['Alice: I have answered you in our 1:1 chat.']);
    // alice never wrote to the bot in private: the 1:1 chat was opened with tenant + her ids.
    const create = rig.connector.calls.find((c) => c.method === 'POST' && c.path === '/v3/conversations')!;
    expect(create.body).toMatchObject({ isGroup: false, tenantId: TENANT, members: [{ id: '29:alice' }] });
    const dm = rig.connector.personalChatOf('29:alice')!;
    const [list] = rig.connector.in(dm);
    expect(JSON.stringify(cardOf(list!))).toMatch(/web01[\s\S]*web02/);
    expect(JSON.stringify(rig.connector.in(CHANNEL))).not.toMatch(/web0|hv01/);
  });

  it('channel: a denial is never shown in the channel', async () => {
    await rig.post(act.channel('alice', 'start db01'));
    expect(shown(CHANNEL)).toEqual(['Alice: I have answered you in our 1:1 chat.']);
    expect(JSON.stringify(rig.connector.in(CHANNEL))).not.toMatch(/db01|not permitted/);
    expect(shown(rig.connector.personalChatOf('29:alice')!)).toEqual(['You are not permitted to do that on db01, or there is no such VM.']);
  });

  it('channel: when the 1:1 chat cannot be opened, the channel is told how to fix it, still without the answer', async () => {
    rig.connector.notInstalled.add('29:alice');
    await rig.post(act.channel('alice', 'start db01'));
    expect(shown(CHANNEL)).toEqual([expect.stringMatching(/^Alice: I could not open a 1:1 chat with you, and I do not answer this in a channel\. Add VM Bot/)]);
    expect(JSON.stringify(rig.connector.in(CHANNEL))).not.toMatch(/db01|not permitted/);
    expect(rig.logs.some((l) => l.level === 'warn' && /cannot reach this user/.test(l.msg))).toBe(true);
  });
});

describe('Teams: one policy user across doors', () => {
  it('alice acting from Teams, from Slack (slack:U… principal) and locally is the same user in every audit record', async () => {
    await rig.post(act.personal('alice', 'start web01'));
    // What the Slack door hands the pipeline for alice (its adapter maps U0ALICE001 to this principal).
    const ctx = { principal: 'slack:U0ALICE001', text: 'stop web01', channel: { kind: 'slack' as const, id: 'C0OPS' } };
    await rig.app.pipeline.handle(ctx);
    await rig.app.pipeline.handle({ principal: 'local:alice', text: 'status web01', channel: { kind: 'local', id: 'terminal' } });
    const mine = readAuditRecords(rig.app.config.VMBOT_DATA_DIR).filter((r) => r.kind !== 'segment' && r.principal !== 'vmbot');
    const byPrincipal = new Map(mine.map((r) => [r.principal, r.user]));
    expect(Object.fromEntries(byPrincipal)).toEqual({ [`teams:${AAD.alice}`]: 'alice', 'slack:U0ALICE001': 'alice', 'local:alice': 'alice' });
    expect(mine.filter((r) => r.kind === 'result').map((r) => [r.operation, r.user, r.channel])).toEqual([
      ['Start Virtual Machine', 'alice', `teams:${personalChatId('alice')}`],
      ['Stop Virtual Machine', 'alice', 'slack:C0OPS'],
    ]);
  });
});

describe('Teams: buttons, redelivery, group chats', () => {
  it('a Start button (Action.Execute) runs as the clicker: "starting…" in the chat, updated to the final state', async () => {
    const data = { vmbot: { command: 'start web01', id: 'start:web01' } };
    const res = await rig.post(act.execute('alice', data, 'card-1'));
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'web01 is running.' });
    const [msg] = rig.connector.in(personalChatId('alice'));
    expect(msg!.history.map((h) => h.text)).toEqual(['web01 is starting…']);
    expect(msg!.activity.text).toBe('web01 is running.');
    // The button carries a command, not a privilege: bob clicking it is refused like typing it.
    const bob = await rig.post(act.execute('bob', { vmbot: { command: 'stop web01', id: 'stop:web01' } }, 'card-1', personalChatId('bob')));
    expect(bob.body.value).toBe('You are not permitted to do that on web01, or there is no such VM.');
    expect(await rig.app.backend.get('web01')).toMatchObject({ state: 'Running' });
  });

  it('Teams redelivering the same activity runs the command once', async () => {
    const a = act.personal('alice', 'start web01');
    await rig.post(a);
    await rig.post(a);
    const intents = readAuditRecords(rig.app.config.VMBOT_DATA_DIR).filter((r) => r.kind === 'intent' && r.operation === 'Start Virtual Machine');
    expect(intents).toHaveLength(1);
  });

  it('console asked in a channel: the grant with its expiry arrives in the 1:1 chat only', async () => {
    await rig.post(act.channel('alice', 'console web01 --minutes 15'));
    expect(shown(CHANNEL)).toEqual(['Alice: I have answered you in our 1:1 chat.']);
    const card = cardOf(rig.connector.in(rig.connector.personalChatOf('29:alice')!)[0]!);
    expect(JSON.stringify(card)).toMatch(/"title":"Until","value":"\d{4}-\d\d-\d\d \d\d:\d\d UTC"/);
    expect(JSON.stringify(rig.connector.in(CHANNEL))).not.toMatch(/CONTOSO|vmconnect|Until/);
  });

  it('group chat: "@VM Bot start web01" works like in a channel', async () => {
    const a = act.channel('alice', 'start web01') as any;
    a.conversation = { id: '19:group@thread.v2', conversationType: 'groupChat', isGroup: true, tenantId: TENANT };
    await rig.post(a);
    expect(shown('19:group@thread.v2')).toEqual(['web01 is running.']);
  });
});

describe('Teams: a click on a slow action', () => {
  it('Teams gets "still working" in time; the final state follows in the chat', async () => {
    await rig.close();
    rig = await startTeamsRig({ options: { invokeWaitMs: 50 }, overrides: { VMBOT_SIM_LATENCY_MS: '400' } });
    act = activities(rig.connector.url);
    const res = await rig.post(act.execute('alice', { vmbot: { command: 'start web01', id: 'start:web01' } }, 'card-1'));
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'Still working on it: the result follows in this chat.' });
    const deadline = Date.now() + 5000;
    while (rig.connector.in(personalChatId('alice'))[0]?.activity.text !== 'web01 is running.' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(rig.connector.in(personalChatId('alice'))[0]!.activity.text).toBe('web01 is running.');
  });
});

describe('Teams: list with per-VM buttons from the policy', () => {
  it('each VM row has buttons for exactly what the user holds; Turn off only for bob, behind a confirm, and it runs as the clicker', async () => {
    await rig.post(act.personal('alice', 'list'));
    const aliceCard = cardOf(rig.connector.in(personalChatId('alice'))[0]!);
    const rowButtons = (card: any) =>
      Object.fromEntries(
        (card.body as any[]).filter((e) => e.type === 'Container').map((row) => [
          row.items[0].columns[0].items[0].text,
          (row.items.find((i: any) => i.type === 'ActionSet')?.actions ?? []).map((a: any) => a.title),
        ]),
      );
    expect(rowButtons(aliceCard)).toEqual({ web01: ['Start'], web02: ['Stop', 'Console'] });
    await rig.post(act.personal('bob', 'list'));
    const bobCard = cardOf(rig.connector.in(personalChatId('bob'))[0]!);
    expect(rowButtons(bobCard).db01).toEqual(['Stop', 'Console', 'Turn off']);
    const run = (bobCard.body as any[]).flatMap((e: any) => e.items ?? []).flatMap((i: any) => i.actions ?? []).find((a: any) => a.title === 'Turn off' && a.type === 'Action.ShowCard' && JSON.stringify(a).includes('db01'));
    const confirmText = run.card.body.map((b: any) => b.text);
    expect(confirmText[0]).toBe('Turn off db01?');
    const exec = run.card.actions[0];
    expect(exec).toMatchObject({ type: 'Action.Execute', title: 'Turn off', data: { vmbot: { command: 'stop db01 --turnoff' } } });
    // alice clicking bob's Turn off (a forwarded card) is refused; bob's click runs.
    const alice = await rig.post(act.execute('alice', exec.data, 'card-x'));
    expect(alice.body.value).toBe('You are not permitted to do that on db01, or there is no such VM.');
    const bob = await rig.post(act.execute('bob', exec.data, 'card-x', personalChatId('bob')));
    expect(bob.body.value).toMatch(/^db01 is (off|turned off)/i);
    expect(await rig.app.backend.get('db01')).toMatchObject({ state: 'Off' });
    const result = readAuditRecords(rig.app.config.VMBOT_DATA_DIR).find((r) => r.kind === 'result' && r.vm === 'db01')!;
    expect(result).toMatchObject({ user: 'bob', principal: `teams:${AAD.bob}`, operation: 'Stop Virtual Machine' });
  });
});
