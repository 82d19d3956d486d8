import { slackFrontEnd } from '../src/adapters/slack/index';
import { teamsFrontEnd } from '../src/adapters/teams/index';
import type { Server } from '../src/serve';
import { readAuditRecords } from './support/audit';
import { serversStoppedAfterEach, until } from './support/server';
import { BOT_TOKEN, SIGNING_SECRET, SlackStandIn, USERS, slackHeaders, slashBody } from './support/slack';
import { activities, AAD, personalChatId } from './support/teams';
import { ConnectorStandIn } from './support/teams-connector';

/**
 * Slack and Teams served by one vmbot (both registered front-ends, one HTTP host, one pipeline):
 * the same person acting from either door is one policy user, and an approval card sent to both
 * doors is updated in both when it is decided in one.
 */
const serve = serversStoppedAfterEach();
let slack: SlackStandIn;
let connector: ConnectorStandIn;
beforeEach(async () => {
  slack = await new SlackStandIn().start();
  connector = new ConnectorStandIn();
  await connector.start();
});
afterEach(async () => {
  await slack.stop();
  await connector.stop();
});

async function bothDoors(): Promise<Server & { url: string }> {
  const s = await serve(
    { frontEnds: undefined, factories: [slackFrontEnd, teamsFrontEnd], env: { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET } },
    { VMBOT_SLACK_API_URL: `${slack.url}/api/`, VMBOT_TEAMS_DEV: '1' },
  );
  expect(s.frontEnds.map((f) => f.name).sort()).toEqual(['slack', 'teams']);
  return Object.assign(s, { url: s.http!.address().url });
}

const slash = async (url: string, user: string, text: string) => {
  const responseUrl = slack.responseUrl();
  const body = slashBody(user, text, responseUrl);
  const res = await fetch(`${url}/slack/events`, { method: 'POST', headers: slackHeaders(body), body });
  expect(res.status).toBe(200);
  return responseUrl;
};
const teams = (url: string, activity: Record<string, unknown>) =>
  fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });

describe('Slack and Teams in one vmbot', () => {
  it('alice from Slack and from Teams is one policy user in every audit record', async () => {
    const s = await bothDoors();
    const act = activities(connector.url);
    const responseUrl = await slash(s.url, USERS.alice, 'start web01');
    await until(() => slack.responses.some((r) => r.url === new URL(responseUrl).pathname && /web01 is running/.test(JSON.stringify(r.body))));
    await teams(s.url, act.personal('alice', 'stop web01'));
    expect(connector.in(personalChatId('alice')).at(-1)!.activity.text).toMatch(/web01 is (off|shut down)/i);
    const results = readAuditRecords(s.app.config.VMBOT_DATA_DIR).filter((r) => r.kind === 'result');
    expect(results.map((r) => [r.operation, r.principal, r.user])).toEqual([
      ['Start Virtual Machine', `slack:${USERS.alice}`, 'alice'],
      ['Stop Virtual Machine', `teams:${AAD.alice}`, 'alice'],
    ]);
  });

  it('a request made in Slack, approved on carol\'s Teams card: her Slack card and erin\'s cards in both doors show the decision', async () => {
    const s = await bothDoors();
    const act = activities(connector.url);
    // Teams needs to have heard from the tenant once (service URL); erin has a Teams 1:1 chat.
    await teams(s.url, act.personal('erin', 'whoami'));
    await slash(s.url, USERS.alice, 'request web07 --template web-small --reason "shop"');
    await until(() => !!connector.personalChatOf(AAD.carol) && connector.in(connector.personalChatOf(AAD.carol)!).length > 0 && slack.called('chat.postMessage').length >= 2);
    const carolChat = connector.personalChatOf(AAD.carol)!;
    const card = connector.in(carolChat)[0]!;
    const approve = JSON.stringify(card.activity).match(/"data":(\{"vmbot":\{"command":"approve r-[a-z0-9]+","id":"approve:r-[a-z0-9]+"\}\})/)![1]!;
    const res = await teams(s.url, act.execute('carol', JSON.parse(approve), card.id, carolChat));
    expect(res.status).toBe(200);
    expect(await s.app.backend.get('web07')).toMatchObject({ name: 'web07' });
    // Every approver's card, in both doors, now says who decided.
    await until(() => slack.called('chat.update').length >= 2 && connector.in(personalChatId('erin')).some((m) => m.history.length > 0));
    for (const u of slack.called('chat.update')) expect(JSON.stringify(u.args)).toMatch(/approved by carol/);
    const erinCard = connector.in(personalChatId('erin')).find((m) => m.history.length > 0)!;
    expect(JSON.stringify(erinCard.activity)).toMatch(/approved by carol/);
    expect(JSON.stringify(connector.in(carolChat)[0]!.activity)).toMatch(/approved by carol/);
    expect(readAuditRecords(s.app.config.VMBOT_DATA_DIR).find((r) => r.operation === 'request.approval')).toMatchObject({ user: 'carol', principal: `teams:${AAD.carol}` });
  });
});
