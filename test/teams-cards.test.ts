import { COMMAND_VERB, escapeCardText, readButton, readRefresh, REFRESH_VERB, renderCard, wantsCard, type ReplyAction } from '../src/adapters/teams/cards';
import type { Reply } from '../src/core/types';
import { appsClosedAfterEach, collectNotices } from './support/app';
import { walk } from './support/teams';

const open = appsClosedAfterEach();

const ofType = (card: unknown, type: string) => walk(card).filter((e) => e.type === type);
const texts = (card: unknown) => ofType(card, 'TextBlock').map((t) => t.text as string);

describe('Adaptive Card rendering', () => {
  it('status: a 1.5 card with the VM as title and state, host, uptime as facts', async () => {
    const app = await open();
    const reply = await app.say('alice', 'status web01');
    const card = renderCard(reply);
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    expect(texts(card)[0]).toBe('web01');
    const facts = ofType(card, 'FactSet')[0]!.facts;
    expect(facts).toEqual(expect.arrayContaining([{ title: 'State', value: 'off' }, { title: 'Host', value: 'hv01' }]));
  });

  it('list: one row per VM in scope with its state and host, nothing about other VMs', async () => {
    const app = await open();
    const card = renderCard(await app.say('alice', 'list'));
    const rows = ofType(card, 'Container');
    // The first three texts of a row are the VM's facts (confirm dialogs of its buttons follow).
    expect(rows.map((r) => texts(r).slice(0, 3))).toEqual([
      ['web01', 'off', 'hv01'],
      ['web02', 'running', 'hv01'],
    ]);
    expect(JSON.stringify(card)).not.toMatch(/db0|dc01/);
  });

  it('per-VM buttons: each in its VM row, Turn off behind a confirm, Execute with a Submit fallback', () => {
    const actions: ReplyAction[] = [
      { id: 'start:db01', label: 'Start', command: 'start db01', style: 'primary' },
      { id: 'stop:db01', label: 'Stop', command: 'stop db01', confirm: { title: 'Shut down db01?', text: 'The guest OS shuts down.', confirm: 'Shut down' } },
      { id: 'turnoff:db01', label: 'Turn off', command: 'stop db01 --turnoff', style: 'danger', confirm: { title: 'Turn off db01?', text: 'Like pulling the power cord: unsaved data is lost.', confirm: 'Turn off' } },
      { id: 'start:db02', label: 'Start', command: 'start db02', style: 'primary' },
    ];
    const reply: Reply = {
      status: 'done', title: 'Your VMs', text: 'Your VMs:\n  db01 Off hv02\n  db02 Off hv02', actions,
      fields: [{ label: 'db01', value: 'Off on hv02' }, { label: 'db02', value: 'Off on hv02' }],
      data: { vms: [{ name: 'db01', state: 'Off', host: 'hv02' }, { name: 'db02', state: 'Off', host: 'hv02' }] },
    };
    const card = renderCard(reply);
    expect(card.actions).toBeUndefined();
    const [db01, db02] = ofType(card, 'Container');
    const titles = (row: unknown) => (ofType(row, 'ActionSet')[0]?.actions ?? []).map((a: any) => `${a.type}:${a.title}`);
    expect(titles(db01)).toEqual(['Action.Execute:Start', 'Action.ShowCard:Stop', 'Action.ShowCard:Turn off']);
    expect(titles(db02)).toEqual(['Action.Execute:Start']);
    // Turn off only runs from inside its confirmation, which says what it does.
    const turnOff = ofType(db01, 'Action.ShowCard').find((a) => a.title === 'Turn off')!;
    expect(texts(turnOff.card)).toEqual(['Turn off db01?', 'Like pulling the power cord: unsaved data is lost.']);
    const run = turnOff.card.actions[0];
    expect(run).toMatchObject({ type: 'Action.Execute', verb: COMMAND_VERB, title: 'Turn off', style: 'destructive', data: { vmbot: { command: 'stop db01 --turnoff' } } });
    expect(run.fallback).toEqual({ type: 'Action.Submit', title: 'Turn off', style: 'destructive', data: run.data });
    expect(readButton(run.data)).toEqual({ command: 'stop db01 --turnoff', actionId: 'turnoff:db01', inputs: {} });
  });

  it('console grant: the expiry and how to connect are on the card', async () => {
    const app = await open();
    const card = renderCard(await app.say('alice', 'console web01 --minutes 20'));
    const facts = Object.fromEntries(ofType(card, 'FactSet')[0]!.facts.map((f: any) => [f.title, f.value]));
    expect(facts.Until).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(facts.Account).toBe('CONTOSO\\\\alice'); // the backslash escaped for card markdown
    expect(facts.Connect).toBe('vmconnect.exe hv01 web01');
  });

  it('approval card: Approve, and Deny asking for the reason in an Input.Text; refresh for the approver', async () => {
    const app = await open();
    const notices = collectNotices(app);
    await app.say('alice', 'request web07 --template web-small --reason "new shop"');
    const notice = notices.find((n) => n.to.includes('carol'))!;
    const card = renderCard(notice.reply, { refresh: { topic: 'request:x', userIds: ['29:carol'] } });
    expect(card.refresh).toEqual({ action: { type: 'Action.Execute', verb: REFRESH_VERB, data: { vmbot: { refresh: 'request:x' } } }, userIds: ['29:carol'] });
    expect(readRefresh(card.refresh!.action.data)).toBe('request:x');
    const [approve, deny] = card.actions!;
    expect(approve).toMatchObject({ type: 'Action.Execute', style: 'positive', fallback: { type: 'Action.Submit' } });
    expect(readButton(approve!.data)!.command).toMatch(/^approve r-[a-z0-9]+$/);
    expect(deny).toMatchObject({ type: 'Action.ShowCard' });
    const input = ofType(deny, 'Input.Text')[0]!;
    expect(input).toMatchObject({ isRequired: true });
    const send = (deny as any).card.actions[0];
    // What Teams sends back: the button's data plus the typed value under the input's id.
    const click = readButton({ ...send.data, [input.id]: 'not in this quarter' });
    expect(click!.command).toMatch(/^deny r-[a-z0-9]+$/);
    expect(click!.inputs).toEqual({ reason: 'not in this quarter' });
    expect(texts(card).join(' ')).toContain('new shop');
  });

  it('an action with inputs asks for them in an Input.Text first; the typed value comes back as an input, not as command text', () => {
    const deny: ReplyAction = {
      id: 'deny:r-abc123', label: 'Deny r-abc123', command: 'deny r-abc123', style: 'danger',
      inputs: [{ name: 'reason', label: 'Why is web07 denied? (the requester reads this)', multiline: true, minLength: 3, maxLength: 500 }],
    };
    const card = renderCard({ status: 'pending', title: 'alice requests a new VM', text: 'web07 from web-small', actions: [deny] });
    const show = card.actions![0]!;
    expect(show).toMatchObject({ type: 'Action.ShowCard', title: 'Deny r-abc123' });
    const input = ofType(show, 'Input.Text')[0]!;
    expect(input).toMatchObject({ label: 'Why is web07 denied? (the requester reads this)', isRequired: true, isMultiline: true, maxLength: 500 });
    const send = (show as any).card.actions[0];
    expect(send).toMatchObject({ type: 'Action.Execute', style: 'destructive', fallback: { type: 'Action.Submit' } });
    // What Teams sends back: the button's data plus the typed value under the input's id.
    const click = readButton({ ...send.data, [input.id]: 'not this quarter; "quotes" --turnoff' });
    expect(click).toEqual({ command: 'deny r-abc123', actionId: 'deny:r-abc123', inputs: { reason: 'not this quarter; "quotes" --turnoff' } });
  });

  it('user text cannot format, link, mention or run card functions', () => {
    const evil = '**urgent** [click](https://evil.example) _x_ `code` <at>Everyone</at> {{DATE(2017-02-14T06:08:39Z, SHORT)}}\n# heading\n- item\n1. first';
    const esc = escapeCardText(evil);
    expect(esc).toBe(
      '\\*\\*urgent\\*\\* \\[click\\](https://evil.example) \\_x\\_ \\`code\\` \\<at\\>Everyone\\</at\\> {\u200B{DATE(2017-02-14T06:08:39Z, SHORT)}}\n\\# heading\n\\- item\n1\\. first',
    );
    const card = renderCard({ status: 'denied', text: 'carol denied your request r-1: ' + evil });
    expect(JSON.stringify(card)).not.toContain('**urgent**');
    expect(JSON.stringify(card)).not.toContain('[click]');
    expect(texts(card)[0]).toBe('Not permitted');
  });

  it('one-line answers stay plain messages; structured ones become cards', async () => {
    const app = await open();
    expect(wantsCard(await app.say('alice', 'start web01'))).toBe(false);
    expect(wantsCard(await app.say('alice', 'status web01'))).toBe(true);
    expect(wantsCard(await app.say('alice', 'help'))).toBe(true);
  });

  it('data that is not a vmbot button is ignored', () => {
    expect(readButton({ vmbot: { command: 'x', id: 'y', extra: 1 } })).toBeNull();
    expect(readButton({ msteams: { type: 'messageBack' } })).toBeNull();
    expect(readButton(null)).toBeNull();
    expect(readRefresh({ vmbot: { command: 'start web01', id: 'a' } })).toBeNull();
  });
});
