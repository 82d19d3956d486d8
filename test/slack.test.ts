import { slackFrontEnd } from '../src/adapters/slack/index';
import { createLogger } from '../src/log/logger';
import { readAuditRecords } from './support/audit';
import { serversStoppedAfterEach, until } from './support/server';
import { APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, SlackStandIn, TEAM, USERS, blockActionsBody, buttons, slackHeaders, slashBody, viewSubmissionBody } from './support/slack';
import type { Server } from '../src/serve';

const serve = serversStoppedAfterEach();
let slack: SlackStandIn;
beforeEach(async () => (slack = await new SlackStandIn().start()));
afterEach(() => slack.stop());

async function slackBot(opts: { env?: Record<string, string>; overrides?: Record<string, string> } = {}): Promise<Server & { url: string }> {
  const env = { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, ...opts.env };
  const s = await serve({ frontEnds: undefined, factories: [slackFrontEnd], env }, { VMBOT_SLACK_API_URL: `${slack.url}/api/`, ...opts.overrides });
  return Object.assign(s, { url: s.http!.address().url });
}

const post = (url: string, body: string, headers: Record<string, string> = slackHeaders(body)) =>
  fetch(`${url}/slack/events`, { method: 'POST', headers, body });

/** /vm <text> as `user`; resolves with the HTTP response and the response_url it gave. */
async function vm(bot: { url: string }, user: string, text: string, extra: Record<string, string> = {}) {
  const responseUrl = slack.responseUrl();
  const t0 = performance.now();
  const res = await post(bot.url, slashBody(user, text, responseUrl, extra));
  return { res, ms: performance.now() - t0, responseUrl, body: await res.text() };
}

const answersTo = (responseUrl: string) => slack.responses.filter((r) => r.url === new URL(responseUrl).pathname).map((r) => r.body);
const finalOf = async (responseUrl: string, n = 1) => {
  await until(() => answersTo(responseUrl).filter((b) => !b.delete_original).length >= n);
  return answersTo(responseUrl).filter((b) => !b.delete_original).at(-1)!;
};
const textOf = (m: Record<string, unknown>) => String(m.text);

describe('Slack over HTTP: /vm', () => {
  test('an allowed command is acked at once and its final state delivered through response_url, replacing "starting…"', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SIM_LATENCY_MS: '300' } });
    const r = await vm(bot, USERS.alice, 'start web01');
    expect(r.res.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    const final = await finalOf(r.responseUrl, 2);
    const all = answersTo(r.responseUrl);
    expect(textOf(all[0]!)).toContain('web01 is starting');
    expect(all[0]).toMatchObject({ response_type: 'ephemeral' });
    // The final state is for the channel: the ephemeral progress is removed and the result posted.
    expect(all[1]).toEqual({ delete_original: true });
    expect(final).toMatchObject({ response_type: 'in_channel' });
    expect(textOf(final)).toBe('web01 is running.');
    const recs = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.vm === 'web01');
    expect(recs.map((x) => [x.kind, x.principal, x.user])).toEqual([['intent', `slack:${USERS.alice}`, 'alice'], ['result', `slack:${USERS.alice}`, 'alice']]);
  });

  test('denied, invalid and unregistered users get private (ephemeral) answers, each audited', async () => {
    const bot = await slackBot();
    const denied = await vm(bot, USERS.alice, 'start db01');
    const invalid = await vm(bot, USERS.alice, 'start');
    const stranger = await vm(bot, USERS.stranger, 'start web01');
    for (const r of [denied, invalid, stranger]) expect(r.res.status).toBe(200);
    expect(await finalOf(denied.responseUrl)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('not permitted to do that on db01, or there is no such VM') });
    expect(await finalOf(invalid.responseUrl)).toMatchObject({ response_type: 'ephemeral' });
    expect(await finalOf(stranger.responseUrl)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('not known to vmbot') });
    const recs = readAuditRecords(bot.app.config.VMBOT_DATA_DIR);
    expect(recs.find((x) => x.principal === `slack:${USERS.stranger}`)).toMatchObject({ decision: 'deny', outcome: 'denied', user: null });
    expect(recs.find((x) => x.vm === 'db01')).toMatchObject({ decision: 'deny', user: 'alice' });
  });

  test('list is private Block Kit: a section per VM with state and host, and buttons for exactly what the user holds', async () => {
    const bot = await slackBot();
    const r = await vm(bot, USERS.alice, 'list');
    const m = await finalOf(r.responseUrl);
    expect(m.response_type).toBe('ephemeral');
    const blocks = m.blocks as Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }> }>;
    const rows = blocks.filter((b) => b.type === 'section' && b.fields);
    expect(rows.map((b) => b.text!.text)).toEqual(['*web01*', '*web02*']);
    expect(rows[0]!.fields!.map((f) => f.text)).toEqual(['*State*\noff', '*Host*\nhv01']);
    // A running VM shows its uptime too.
    expect(rows[1]!.fields!.map((f) => f.text)).toEqual(['*State*\nrunning', expect.stringMatching(/^\*Host\*\nhv\d+$/), expect.stringMatching(/^\*Uptime\*\n\d+s$/)]);
    expect(JSON.stringify(m)).not.toMatch(/db0|dc01/);
    const labels = buttons(blocks).map((b) => `${JSON.parse(b.value).c}`);
    // web01 is off: Start; web02 is running: Stop, Console (alice may not turn off).
    expect(labels).toEqual(['start web01', 'stop web02', 'console web02']);
    expect(buttons(blocks).find((b) => b.text.text === 'Stop')!.confirm).toBeDefined();
  });

  test('a long list stays within Slack’s limits (50 blocks a message) and still names every VM', async () => {
    const inventory = JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ name: `web${String(i + 1).padStart(2, '0')}`, host: 'hv01', state: i % 2 ? 'Running' : 'Off' })));
    const bot = await slackBot({ overrides: { VMBOT_SIM_INVENTORY: inventory } });
    const m = await finalOf((await vm(bot, USERS.alice, 'list')).responseUrl);
    const blocks = m.blocks as Array<{ type: string; text?: { text: string }; fields?: unknown[]; elements?: unknown[] }>;
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const b of blocks) {
      expect((b.fields ?? []).length).toBeLessThanOrEqual(10);
      expect((b.elements ?? []).length).toBeLessThanOrEqual(25);
      expect((b.text?.text ?? '').length).toBeLessThanOrEqual(3000);
    }
    const json = JSON.stringify(blocks);
    for (let i = 1; i <= 40; i++) expect(json).toContain(`web${String(i).padStart(2, '0')}`);
  });

  test('status is private Block Kit: the VM’s facts as fields (state, host, uptime) and buttons for exactly what the user holds', async () => {
    const bot = await slackBot();
    const m = await finalOf((await vm(bot, USERS.alice, 'status web02')).responseUrl);
    expect(m.response_type).toBe('ephemeral');
    const fields = (m.blocks as Array<{ type: string; fields?: Array<{ text: string }> }>).filter((b) => b.type === 'section' && b.fields).flatMap((b) => b.fields!.map((f) => f.text.split('\n')[0]));
    expect(fields).toEqual(expect.arrayContaining(['*State*', '*Host*', '*Uptime*']));
    const bs = buttons(m.blocks);
    expect(bs.map((b) => b.text.text)).toEqual(['Stop', 'Console']); // alice may not turn off
    expect(bs[0]!.confirm).toMatchObject({ title: { text: 'Shut down web02?' } });
  });

  test('Turn off is offered only where the role allows it, and always behind a confirm dialog', async () => {
    const bot = await slackBot();
    const r = await vm(bot, USERS.bob, 'list');
    const bs = buttons((await finalOf(r.responseUrl)).blocks);
    const off = bs.filter((b) => b.text.text === 'Turn off');
    expect(off.length).toBeGreaterThan(0);
    for (const b of off) expect(b).toMatchObject({ style: 'danger', confirm: { title: { text: expect.stringMatching(/^Turn off /) }, style: 'danger' } });
  });

  test('a bad signature and a timestamp older than 5 minutes are refused with 401, and nothing runs', async () => {
    const bot = await slackBot();
    const body = slashBody(USERS.alice, 'start web01', slack.responseUrl());
    expect((await post(bot.url, body, slackHeaders(body, { secret: 'f'.repeat(32) }))).status).toBe(401);
    expect((await post(bot.url, body, slackHeaders(body, { ts: Math.floor(Date.now() / 1000) - 301 }))).status).toBe(401);
    const tampered = slackHeaders(body);
    expect((await post(bot.url, body.replace('start', 'stop'), tampered)).status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(slack.responses).toHaveLength(0);
    expect(readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.command)).toHaveLength(0);
    expect((await bot.app.backend.get('web01'))!.state).toBe('Off');
  });

  test('Slack’s Request URL check when the admin saves the manifest (url_verification) is answered with the challenge', async () => {
    const bot = await slackBot();
    const body = JSON.stringify({ token: 'x', challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
    const res = await post(bot.url, body, slackHeaders(body, { contentType: 'application/json' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  test('a workspace outside VMBOT_SLACK_TEAM_IDS is refused and the refusal audited; nothing runs', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SLACK_TEAM_IDS: `${TEAM},T0OTHER002` } });
    const r = await vm(bot, USERS.alice, 'start web01', { team_id: 'T0EVIL0001' });
    expect(r.res.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('does not take requests from this workspace') });
    const rec = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).find((x) => x.principal === `slack:${USERS.alice}`);
    expect(rec).toMatchObject({ decision: 'deny', outcome: 'denied', reason: expect.stringContaining('T0EVIL0001') });
    expect((await bot.app.backend.get('web01'))!.state).toBe('Off');
    // The allowed workspace still works.
    const ok = await vm(bot, USERS.alice, 'status web01');
    expect(textOf(await finalOf(ok.responseUrl))).toMatch(/web01 is off/i);
  });

  test('shutdown (SIGTERM) after the ack: the command still runs to its end and its answer is delivered before the log closes', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SIM_LATENCY_MS: '400' } });
    const r = await vm(bot, USERS.alice, 'start web01');
    expect(r.res.status).toBe(200); // acked: the HTTP request is over, the work is not
    await bot.stop();
    expect(answersTo(r.responseUrl).map((m) => m.text).filter(Boolean).at(-1)).toBe('web01 is running.');
    const recs = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.vm === 'web01');
    expect(recs.map((x) => `${x.kind}:${x.outcome ?? ''}`)).toEqual(['intent:', 'result:ok']);
  });

  test('a redelivered /vm (same trigger_id) runs once: one intent, and the redelivery is answered with the first reply', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SIM_LATENCY_MS: '200' } });
    const responseUrl = slack.responseUrl();
    const body = slashBody(USERS.alice, 'start web01', responseUrl);
    const [a, b] = await Promise.all([post(bot.url, body), post(bot.url, body)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await until(() => answersTo(responseUrl).filter((m) => textOf(m) === 'web01 is running.').length === 2);
    const recs = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.vm === 'web01');
    expect(recs.map((x) => x.kind)).toEqual(['intent', 'result']);
  });

  test('a button click from a workspace outside VMBOT_SLACK_TEAM_IDS is refused and audited; nothing runs', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SLACK_TEAM_IDS: TEAM } });
    const list = await finalOf((await vm(bot, USERS.alice, 'list')).responseUrl);
    const start = buttons(list.blocks).find((b) => JSON.parse(b.value).c === 'start web01')!;
    const responseUrl = slack.responseUrl();
    await post(bot.url, blockActionsBody(USERS.alice, start, { responseUrl, team: 'T0EVIL0001' }));
    expect(await finalOf(responseUrl)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('does not take requests from this workspace') });
    const rec = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).find((x) => x.command === 'start web01');
    expect(rec).toMatchObject({ decision: 'deny', outcome: 'denied', reason: expect.stringContaining('T0EVIL0001') });
    expect((await bot.app.backend.get('web01'))!.state).toBe('Off');
  });

  test('user text is escaped: <!channel>, <@U…>, & < > never ping or link', async () => {
    const bot = await slackBot();
    const r = await vm(bot, USERS.alice, 'request web05 --template web-small --reason "<!channel> ping <@U0BOB00001> & <http://evil|x>"');
    const m = await finalOf(r.responseUrl);
    const json = JSON.stringify(m);
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<@U0BOB00001>');
    expect(json).toContain('&lt;!channel&gt; ping &lt;@U0BOB00001&gt; &amp; &lt;http://evil|x&gt;');
    await until(() => slack.called('chat.postMessage').length >= 2);
    for (const c of slack.called('chat.postMessage')) expect(JSON.stringify(c.args)).not.toContain('<!channel>');
  });
});

describe('escaping everywhere user text reaches Slack', () => {
  const NASTY = '<!channel> <!here> <@U0BOB00001> & <http://evil|x>';
  const ESCAPED = '&lt;!channel&gt; &lt;!here&gt; &lt;@U0BOB00001&gt; &amp; &lt;http://evil|x&gt;';
  /** Every string Slack would render as mrkdwn in a message or view we sent. */
  const rendered = (x: unknown): string => JSON.stringify(x);
  const clean = (what: string, x: unknown) => {
    const json = rendered(x);
    for (const raw of ['<!channel>', '<!here>', '<@U0BOB00001>', '<http://evil|x>']) expect(`${what}: ${json.includes(raw) ? raw : 'clean'}`).toBe(`${what}: clean`);
  };

  test('a request reason and a deny reason are escaped in the cards, the updated cards, the requester’s notice, the modal and App Home', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SLACK_APPROVALS_CHANNEL: 'C0APPROVE1' } });
    const r = await vm(bot, USERS.alice, `request web05 --template web-small --reason "${NASTY}"`);
    const id = /r-[a-z2-9]{6}/.exec(textOf(await finalOf(r.responseUrl)))![0];
    await until(() => slack.called('chat.postMessage').length >= 3);
    for (const c of slack.called('chat.postMessage')) clean(`card to ${String(c.args.channel)}`, c.args);
    expect(rendered(slack.called('chat.postMessage')[0]!.args.blocks)).toContain(ESCAPED);
    // App Home of the approver lists the waiting request with its reason.
    const home = JSON.stringify({ type: 'event_callback', team_id: TEAM, api_app_id: 'A0VMBOT', event_id: 'EvHome1', event_time: 1, event: { type: 'app_home_opened', user: USERS.carol, channel: 'D1', tab: 'home' } });
    await post(bot.url, home, slackHeaders(home, { contentType: 'application/json' }));
    await until(() => slack.called('views.publish').length === 1);
    clean('App Home', slack.called('views.publish')[0]!.args);
    // Deny through the modal with a reason that tries the same.
    const card = slack.called('chat.postMessage').find((c) => c.args.channel === USERS.carol)!;
    const deny = buttons(card.args.blocks).find((b) => b.text.text.startsWith('Deny'))!;
    const responseUrl = slack.responseUrl();
    await post(bot.url, blockActionsBody(USERS.carol, deny, { responseUrl, channel: 'D0CAROL001' }));
    await until(() => slack.called('views.open').length === 1);
    const view = slack.called('views.open')[0]!.args.view as { private_metadata: string; callback_id: string };
    clean('deny modal', { ...view, private_metadata: undefined });
    await post(bot.url, viewSubmissionBody(USERS.carol, view, { reason: `no ${NASTY}` }));
    await until(() => bot.app.store.data.approvals[id]!.status === 'denied');
    await until(() => slack.called('chat.update').length === 3 && slack.called('chat.postMessage').some((c) => c.args.channel === USERS.alice));
    for (const u of slack.called('chat.update')) {
      clean(`updated card in ${String(u.args.channel)}`, u.args);
      expect(rendered(u.args.blocks)).toContain(`no ${ESCAPED}`);
    }
    clean('requester notice', slack.called('chat.postMessage').find((c) => c.args.channel === USERS.alice)!.args);
    await until(() => answersTo(responseUrl).length > 0);
    for (const m of answersTo(responseUrl)) clean('reply to the decider', m);
  });
});

describe('Slack approvals: cards by DM, buttons, the Deny modal, every card updated', () => {
  async function requestWeb05(bot: { url: string }) {
    const r = await vm(bot, USERS.alice, 'request web05 --template web-small --reason "shop"');
    const reply = await finalOf(r.responseUrl);
    const id = /r-[a-z2-9]{6}/.exec(textOf(reply))![0];
    await until(() => slack.called('chat.postMessage').length >= 2);
    const cards = slack.called('chat.postMessage');
    return { id, cards };
  }
  const cardFor = (cards: ReturnType<SlackStandIn['called']>, user: string) => cards.find((c) => c.args.channel === user)!;

  test('approvers get a DM card with requester, template sizing and reason; approve succeeds once; double click and self-approval refused harmlessly', async () => {
    const bot = await slackBot();
    const { id, cards } = await requestWeb05(bot);
    expect(cards.map((c) => c.args.channel).sort()).toEqual([USERS.carol, USERS.erin].sort());
    const card = cardFor(cards, USERS.carol);
    const json = JSON.stringify(card.args.blocks);
    expect(json).toContain('*Requested by*\\nalice');
    expect(json).toMatch(/web-small: gen 2, 2 vCPU, 4096 MB, 60 GB/);
    expect(json).toContain('*Reason*\\nshop');
    const approve = buttons(card.args.blocks).find((b) => b.text.text.startsWith('Approve'))!;
    const messageTs = '1700000001.000100';
    const click = async (user: string) => {
      const responseUrl = slack.responseUrl();
      const res = await post(bot.url, blockActionsBody(user, approve, { responseUrl, messageTs, channel: `D${user.slice(1)}` }));
      expect(res.status).toBe(200);
      return finalOf(responseUrl);
    };
    const self = await click(USERS.alice);
    expect(textOf(self)).toMatch(/cannot approve your own request/);
    const outsider = await click(USERS.bob);
    expect(textOf(outsider)).toMatch(/not permitted/);
    const first = await click(USERS.carol);
    expect(textOf(first)).toMatch(/web05 created/);
    const again = await click(USERS.carol);
    expect(textOf(again)).toBe(textOf(first));
    const creates = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.operation === 'Create Virtual Machine' && x.kind === 'intent');
    expect(creates).toHaveLength(1);
    const approveIntents = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.correlationId === id && x.kind === 'intent' && x.operation === 'Approve Virtual Machine Request');
    expect(approveIntents).toHaveLength(1);
    // Every approver's card now says who decided, with no buttons left.
    await until(() => slack.called('chat.update').length === 2);
    for (const u of slack.called('chat.update')) {
      expect(JSON.stringify(u.args.blocks)).toMatch(/approved by carol at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
      expect(buttons(u.args.blocks)).toEqual([]);
    }
    expect(slack.called('chat.update').map((u) => u.args.channel).sort()).toEqual([`D${USERS.carol.slice(1)}`, `D${USERS.erin.slice(1)}`].sort());
    // The requester is told the outcome by DM.
    await until(() => slack.called('chat.postMessage').some((c) => c.args.channel === USERS.alice));
    expect(String(slack.called('chat.postMessage').find((c) => c.args.channel === USERS.alice)!.args.text)).toMatch(/web05.*approved|approved.*web05|created/i);
  });

  test('Deny opens a modal asking for the reason; its submission denies with exactly that reason; the requester is told', async () => {
    const bot = await slackBot();
    const { id, cards } = await requestWeb05(bot);
    const deny = buttons(cardFor(cards, USERS.erin).args.blocks).find((b) => b.text.text.startsWith('Deny'))!;
    const responseUrl = slack.responseUrl();
    await post(bot.url, blockActionsBody(USERS.erin, deny, { responseUrl, channel: 'D0ERIN0001' }));
    await until(() => slack.called('views.open').length === 1);
    const view = slack.called('views.open')[0]!.args.view as { private_metadata: string; callback_id: string; blocks: Array<{ type: string; element?: { multiline: boolean; min_length: number } }> };
    expect(view.blocks.find((b) => b.type === 'input')!.element).toMatchObject({ multiline: true, min_length: 3 });
    expect(bot.app.store.data.approvals[id]!.status).toBe('pending'); // nothing decided by opening the modal
    // Too short: Slack shows the error on the field; nothing runs.
    const short = await post(bot.url, viewSubmissionBody(USERS.erin, view, { reason: 'no' }));
    expect(await short.json()).toMatchObject({ response_action: 'errors' });
    const reason = 'no budget "this" quarter --turnoff';
    const ok = await post(bot.url, viewSubmissionBody(USERS.erin, view, { reason }));
    expect(ok.status).toBe(200);
    await until(() => bot.app.store.data.approvals[id]!.status === 'denied');
    expect(bot.app.store.data.approvals[id]).toMatchObject({ deniedBy: 'erin', denyReason: reason });
    expect(textOf(await finalOf(responseUrl))).toMatch(/denied/);
    await until(() => slack.called('chat.postMessage').some((c) => c.args.channel === USERS.alice));
    expect(String(slack.called('chat.postMessage').find((c) => c.args.channel === USERS.alice)!.args.text)).toContain(reason);
  });

  test('with an approvals channel configured, the card is posted there too and updated when decided', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SLACK_APPROVALS_CHANNEL: 'C0APPROVE1' } });
    const { id } = await requestWeb05(bot);
    await until(() => slack.called('chat.postMessage').some((c) => c.args.channel === 'C0APPROVE1'));
    await vm(bot, USERS.carol, `deny ${id} not now`);
    await until(() => slack.called('chat.update').some((c) => c.args.channel === 'C0APPROVE1'));
  });
});

describe('Slack buttons on VMs', () => {
  test('a Start button runs start as the clicker; a retry of the same click or a double click never runs it twice', async () => {
    const bot = await slackBot();
    const list = await finalOf((await vm(bot, USERS.alice, 'list')).responseUrl);
    const start = buttons(list.blocks).find((b) => JSON.parse(b.value).c === 'start web01')!;
    const responseUrl = slack.responseUrl();
    const at = Date.now() / 1000;
    const body = blockActionsBody(USERS.alice, start, { responseUrl, messageTs: '1700000009.000100', actionTs: at });
    // A double click: a second payload of its own, a moment later.
    const second = blockActionsBody(USERS.alice, start, { responseUrl, messageTs: '1700000009.000100', actionTs: at + 0.4 });
    const [a, b, c] = await Promise.all([post(bot.url, body), post(bot.url, body), post(bot.url, second)]);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    await until(() => answersTo(responseUrl).filter((m) => String(m.text).includes('running')).length === 3);
    // One request in the audit log: one intent, one result, nothing else (not even a no-op decision).
    const recs = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.vm === 'web01');
    expect(recs.map((x) => x.kind)).toEqual(['intent', 'result']);
  });

  test('a click’s answers never replace or delete the message the button is on (Slack applies them to that message: the list, the card)', async () => {
    const bot = await slackBot({ overrides: { VMBOT_SIM_LATENCY_MS: '300' } });
    const list = await finalOf((await vm(bot, USERS.alice, 'list')).responseUrl);
    const start = buttons(list.blocks).find((b) => JSON.parse(b.value).c === 'start web01')!;
    const responseUrl = slack.responseUrl();
    await post(bot.url, blockActionsBody(USERS.alice, start, { responseUrl, messageTs: '1700000011.000100' }));
    await until(() => answersTo(responseUrl).some((m) => textOf(m) === 'web01 is running.'));
    const answers = answersTo(responseUrl);
    expect(answers.map((m) => textOf(m))).toEqual([expect.stringContaining('web01 is starting'), 'web01 is running.']);
    for (const m of answers) expect(m).toMatchObject({ replace_original: false });
    expect(answers.some((m) => m.delete_original)).toBe(false);
    expect(answers.at(-1)).toMatchObject({ response_type: 'in_channel' });
  });

  test('the same button clicked again later (not a double click) runs again: a re-click is not answered with the first reply', async () => {
    const bot = await slackBot();
    const list = await finalOf((await vm(bot, USERS.alice, 'list')).responseUrl);
    const start = buttons(list.blocks).find((b) => JSON.parse(b.value).c === 'start web01')!;
    const click = async (at: number) => {
      const responseUrl = slack.responseUrl();
      await post(bot.url, blockActionsBody(USERS.alice, start, { responseUrl, messageTs: '1700000010.000100', actionTs: at }));
      await until(() => answersTo(responseUrl).some((m) => m.text !== undefined && !textOf(m).endsWith('…')));
      return textOf(answersTo(responseUrl).find((m) => m.text !== undefined && !textOf(m).endsWith('…'))!);
    };
    const t = Date.now() / 1000;
    expect(await click(t)).toBe('web01 is running.');
    await bot.app.pipeline.handle({ principal: `slack:${USERS.alice}`, text: 'stop web01', channel: { kind: 'slack', id: 'C1' } });
    expect((await bot.app.backend.get('web01'))!.state).toBe('Off');
    // A minute later, on the same message: the user expects web01 to start again.
    expect(await click(t + 60)).toBe('web01 is running.');
    expect((await bot.app.backend.get('web01'))!.state).toBe('Running');
  });

  test('a Stop button (after its confirm dialog, which Slack shows) shuts the VM down as the clicker', async () => {
    const bot = await slackBot();
    const list = await finalOf((await vm(bot, USERS.alice, 'list')).responseUrl);
    const stop = buttons(list.blocks).find((b) => JSON.parse(b.value).c === 'stop web02')!;
    expect(stop.confirm).toBeDefined();
    const responseUrl = slack.responseUrl();
    await post(bot.url, blockActionsBody(USERS.alice, stop, { responseUrl, messageTs: '1700000012.000100' }));
    await until(() => answersTo(responseUrl).some((m) => /web02 is (off|shut down)/i.test(textOf(m))));
    expect((await bot.app.backend.get('web02'))!.state).toBe('Off');
    const recs = readAuditRecords(bot.app.config.VMBOT_DATA_DIR).filter((x) => x.vm === 'web02' && x.kind === 'intent');
    expect(recs).toEqual([expect.objectContaining({ operation: 'Stop Virtual Machine', principal: `slack:${USERS.alice}` })]);
  });

  test('a button clicked by someone else runs under their rights, not the card owner’s', async () => {
    const bot = await slackBot();
    const list = await finalOf((await vm(bot, USERS.alice, 'list')).responseUrl);
    const start = buttons(list.blocks).find((b) => JSON.parse(b.value).c === 'start web01')!;
    const responseUrl = slack.responseUrl();
    await post(bot.url, blockActionsBody(USERS.mallory, start, { responseUrl }));
    expect(textOf(await finalOf(responseUrl))).toMatch(/not permitted/);
    expect((await bot.app.backend.get('web01'))!.state).toBe('Off');
  });
});

describe('App Home', () => {
  test('shows the user’s VMs with live state and buttons, console grants with expiry, and requests waiting for an approver', async () => {
    const bot = await slackBot();
    await vm(bot, USERS.alice, 'request web05 --template web-small');
    const c = await vm(bot, USERS.alice, 'console web02');
    await finalOf(c.responseUrl);
    const event = (user: string) => JSON.stringify({ type: 'event_callback', team_id: TEAM, api_app_id: 'A0VMBOT', event_id: `Ev${user}`, event_time: 1, event: { type: 'app_home_opened', user, channel: 'D1', tab: 'home' } });
    for (const u of [USERS.alice, USERS.carol]) {
      const body = event(u);
      expect((await post(bot.url, body, slackHeaders(body, { contentType: 'application/json' }))).status).toBe(200);
    }
    await until(() => slack.called('views.publish').length === 2);
    const home = (u: string) => slack.called('views.publish').find((p) => p.args.user_id === u)!.args.view as { blocks: unknown[] };
    const alice = JSON.stringify(home(USERS.alice).blocks);
    expect(alice).toContain('*web01*');
    expect(alice).toContain('Your console access');
    // The grant with its end time (as HH:MM UTC) and the minutes left.
    const grant = Object.values(bot.app.store.data.consoleGrants).find((g) => g.status === 'active')!;
    expect(alice).toMatch(new RegExp(`web02\\*\\\\n[^"]*until [^"]*${grant.expiresAt.slice(11, 16)}[^"]*\\(\\d+ min(ute)?s? left\\)`));
    expect(buttons(home(USERS.alice).blocks).map((b) => JSON.parse(b.value).c)).toContain('start web01');
    const carol = home(USERS.carol);
    expect(buttons(carol.blocks).some((b) => b.text.text.startsWith('Approve'))).toBe(true);
    // A click on the Home tab (Slack sends no response_url there) runs, answers by DM, and the Home
    // is published again with the live state.
    const start = buttons(home(USERS.alice).blocks).find((b) => JSON.parse(b.value).c === 'start web01')!;
    await post(bot.url, blockActionsBody(USERS.alice, start, { view: { id: 'V0HOMEALICE', type: 'home' } }));
    await until(() => slack.called('views.publish').filter((p) => p.args.user_id === USERS.alice).length === 2);
    const after = slack.called('views.publish').filter((p) => p.args.user_id === USERS.alice).at(-1)!.args.view as { blocks: unknown[] };
    expect(JSON.stringify(after.blocks)).toMatch(/\*web01\*"[^}]*\},"fields":\[\{"type":"mrkdwn","text":"\*State\*\\nrunning"/);
    expect(buttons(after.blocks).map((b) => JSON.parse(b.value).c)).toEqual(expect.arrayContaining(['stop web01', 'console web01']));
    await until(() => slack.called('chat.postMessage').some((c) => c.args.channel === USERS.alice && String(c.args.text).includes('web01 is running')));
  });
});

describe('Socket Mode', () => {
  test('a /vm envelope over the local WebSocket stand-in is acked and answered', async () => {
    const bot = await slackBot({ env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' } });
    await until(() => slack.socket !== undefined);
    const responseUrl = slack.responseUrl();
    const payload = Object.fromEntries(new URLSearchParams(slashBody(USERS.alice, 'status web01', responseUrl)));
    slack.socket!.send(JSON.stringify({ envelope_id: 'env-1', type: 'slash_commands', payload, accepts_response_payload: true }));
    await until(() => slack.acks.some((a) => a.envelope_id === 'env-1'));
    expect(textOf(await finalOf(responseUrl))).toMatch(/web01 is off/i);
    expect(bot.http).not.toBeNull();
    // No HTTP endpoint for Slack in Socket Mode.
    expect((await post(bot.url, 'x')).status).toBe(404);
  });
});

describe('operator log', () => {
  test.each(['http', 'socket'] as const)('at debug level (%s mode), no token or signing secret is ever written, while Slack traffic flows', async (mode) => {
    const lines: string[] = [];
    const log = createLogger('debug', { write: (l: string) => void lines.push(l) });
    const env = mode === 'socket' ? { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN } : { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET };
    const s = await serve({ frontEnds: undefined, factories: [slackFrontEnd], env, log }, { VMBOT_SLACK_API_URL: `${slack.url}/api/` });
    const url = s.http!.address().url;
    const responseUrl = slack.responseUrl();
    const body = slashBody(USERS.alice, 'request web05 --template web-small --reason "shop"', responseUrl);
    if (mode === 'socket') {
      await until(() => slack.socket !== undefined);
      slack.socket!.send(JSON.stringify({ envelope_id: 'env-log', type: 'slash_commands', payload: Object.fromEntries(new URLSearchParams(body)), accepts_response_payload: true }));
    } else {
      await post(url, body);
      await post(url, body, slackHeaders(body, { secret: 'f'.repeat(32) })); // a bad signature is logged as a warning
    }
    await until(() => slack.called('chat.postMessage').length >= 2);
    expect(lines.length).toBeGreaterThan(3);
    const all = lines.join('');
    for (const secret of [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, BOT_TOKEN.slice(5), APP_TOKEN.slice(5)]) expect(all).not.toContain(secret);
  });
});

describe('start-up checks', () => {
  const start = (env: Record<string, string>) => serve({ frontEnds: undefined, factories: [slackFrontEnd], env }, { VMBOT_SLACK_API_URL: `${slack.url}/api/` });
  test.each([
    [{ SLACK_BOT_TOKEN: 'xoxp-user-token-1234567890' , SLACK_SIGNING_SECRET: SIGNING_SECRET }, /^SLACK_BOT_TOKEN: malformed/],
    [{ SLACK_BOT_TOKEN: BOT_TOKEN }, /^SLACK_SIGNING_SECRET: missing/],
    [{ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: 'short' }, /^SLACK_SIGNING_SECRET: malformed/],
    [{ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: 'xoxb-wrong-kind-1234567' }, /^SLACK_APP_TOKEN: malformed/],
    [{ SLACK_APP_TOKEN: APP_TOKEN }, /^SLACK_BOT_TOKEN: missing/],
    [{ SLACK_BOT_TOKEN: 'xoxb-0000000000-revoked-token', SLACK_SIGNING_SECRET: SIGNING_SECRET }, /^SLACK_BOT_TOKEN: Slack did not accept the token \(invalid_auth\)/],
  ])('%j stops start-up with one message naming the variable', async (env, message) => {
    await expect(start(env)).rejects.toThrow(message);
  });

  test('the token never appears in the message', async () => {
    const bad = 'xoxb-0000000000-revoked-token';
    await expect(start({ SLACK_BOT_TOKEN: bad, SLACK_SIGNING_SECRET: SIGNING_SECRET })).rejects.toThrow(expect.objectContaining({ message: expect.not.stringContaining(bad) }));
  });
});
