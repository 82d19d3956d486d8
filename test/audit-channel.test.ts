/**
 * Issue 9 item 4: each signed audit checkpoint is posted in an audit chat channel (Slack and/or
 * Teams) through the durable notice outbox: a copy in a system the host admin does not control.
 * What the channel shows is enough to check the log without the bot's host: the post, copied to
 * a file as it is, verifies the log with `audit verify --pubkey … --checkpoints <copy>`, and
 * stops verifying once the log is cut.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { slackFrontEnd } from '../src/adapters/slack/index';
import { verifyWithCheckpoints } from '../src/audit/assure';
import { readCheckpoints, type Checkpoint } from '../src/audit/checkpoint';
import { generateAuditKeys, loadPublicKeys } from '../src/audit/keys';
import { listSegments } from '../src/audit/segments';
import { loadConfig } from '../src/core/config';
import { VmbotError } from '../src/core/errors';
import type { Server } from '../src/serve';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { vmbot } from './support/cli';
import { serversStoppedAfterEach, until } from './support/server';
import { BOT_TOKEN, SIGNING_SECRET, SlackStandIn } from './support/slack';
import { activities, startTeamsRig, TENANT, type TeamsRig } from './support/teams';

const AUDIT_SLACK = 'C0AUDIT001';
const AUDIT_TEAMS = '19:a0d1700000000000000000000000a0d1@thread.tacv2';
const channel = { kind: 'local', id: 't' };

const serve = serversStoppedAfterEach();
let slack: SlackStandIn;
beforeEach(async () => (slack = await new SlackStandIn().start()));
afterEach(() => slack.stop());

const keys = () => generateAuditKeys(tempDir('vmbot-keys-'));

async function slackBot(overrides: Record<string, string>): Promise<Server> {
  return serve(
    { frontEnds: undefined, factories: [slackFrontEnd], env: { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET } },
    { VMBOT_SLACK_API_URL: `${slack.url}/api/`, VMBOT_SLACK_AUDIT_CHANNEL: AUDIT_SLACK, VMBOT_AUDIT_CHECKPOINT_RECORDS: '5', ...overrides },
  );
}

/** Some audited work: each command writes an intent and a result. */
async function work(s: { app: Server['app'] }, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await s.app.pipeline.handle({ principal: 'local:alice', text: i % 2 ? 'stop web01' : 'start web01', channel });
}

const slackAuditPosts = () => slack.called('chat.postMessage').filter((c) => c.args.channel === AUDIT_SLACK).map((c) => String(c.args.text));
const checkpointsIn = (dataDir: string): Checkpoint[] => readCheckpoints(join(dataDir, 'audit-checkpoints.jsonl')).found.map((f) => f.cp);
const auditDir = (dataDir: string) => join(dataDir, 'audit');

/** Save chat text to a file, as an auditor copying the channel would. */
function copyOf(texts: string[]): string {
  const file = join(tempDir('vmbot-chat-copy-'), 'audit-channel.txt');
  writeFileSync(file, texts.join('\n\n') + '\n');
  return file;
}

/** Cut the log's tail so that record `keep` is its last one (the host admin's edit). */
function cutTail(dataDir: string, keep: number): void {
  const seg = listSegments(auditDir(dataDir)).at(-1)!.file;
  const lines = readFileSync(seg, 'utf8').split('\n').filter(Boolean);
  writeFileSync(seg, lines.filter((l) => (JSON.parse(l) as { id: number }).id <= keep).join('\n') + '\n');
}

/** Slack with a signing key, after `n` audited commands. */
async function keyedSlackBot(n: number) {
  const k = keys();
  const s = await slackBot({ VMBOT_AUDIT_KEY_FILE: k.keyFile });
  await work(s, n);
  return { k, s, dataDir: s.app.config.VMBOT_DATA_DIR };
}

describe('checkpoints in the Slack audit channel', () => {
  test('each signed checkpoint is posted with its head hash and signature; a copy of the post verifies the log, and catches a cut tail', async () => {
    const { k, s, dataDir } = await keyedSlackBot(4);
    await until(() => checkpointsIn(dataDir).length >= 1 && slackAuditPosts().length >= checkpointsIn(dataDir).length);
    const cps = checkpointsIn(dataDir);
    const posts = slackAuditPosts();
    // Everything an auditor needs, readable in the post itself.
    for (const [i, cp] of cps.entries()) {
      expect(posts[i]).toContain(cp.head);
      expect(posts[i]).toContain(cp.sig);
      expect(posts[i]).toContain(cp.keyId);
      expect(posts[i]).toContain(cp.time);
      expect(posts[i]).toContain(`${cp.records} records`);
    }
    expect(posts[0]).toContain('vmbot audit verify --pubkey');
    const newest = cps.at(-1)!;
    await s.stop();

    // The copy from chat, as it is, is accepted as a checkpoint file.
    const copy = copyOf(posts);
    const fromChat = readCheckpoints(copy).found.map((f) => f.cp);
    expect(fromChat).toEqual(cps.slice(0, posts.length));
    const pub = loadPublicKeys([k.pubFile]);
    const ok = await verifyWithCheckpoints(auditDir(dataDir), { keys: pub, sources: [copy] });
    expect(ok.ok).toBe(true);
    expect(ok.checkpoints.verified).toBe(posts.length);
    // The CLI an auditor runs says the same.
    const cli = vmbot(['audit', 'verify', '--pubkey', k.pubFile, '--checkpoints', copy], { VMBOT_DATA_DIR: dataDir, VMBOT_POLICY: EXAMPLE_POLICY });
    expect(cli.code).toBe(0);

    // The host admin cuts the log below the newest checkpoint in chat: the chain alone still
    // verifies; with the copy from chat it does not, and the missing records are named.
    cutTail(dataDir, newest.records - 2);
    expect((await verifyWithCheckpoints(auditDir(dataDir), { keys: pub, sources: [] })).ok).toBe(true);
    const cut = await verifyWithCheckpoints(auditDir(dataDir), { keys: pub, sources: [copy] });
    expect(cut.ok).toBe(false);
    expect(cut.missing?.reason).toMatch(new RegExp(`records #${newest.records - 1}–#${newest.records} are missing`));
    const cliCut = vmbot(['audit', 'verify', '--pubkey', k.pubFile, '--checkpoints', copy], { VMBOT_DATA_DIR: dataDir, VMBOT_POLICY: EXAMPLE_POLICY });
    expect(cliCut.code).not.toBe(0);
  }, 60_000);

  test('the channel unreachable across a restart: no checkpoint post is lost, none is posted twice, and audit appends never wait for it', async () => {
    const k = keys();
    slack.refusedChannels.add(AUDIT_SLACK);
    const first = await slackBot({ VMBOT_AUDIT_KEY_FILE: k.keyFile });
    const dataDir = first.app.config.VMBOT_DATA_DIR;
    const t0 = performance.now();
    await work(first, 6);
    const elapsed = performance.now() - t0;
    await until(() => checkpointsIn(dataDir).length >= 2);
    await until(() => slack.called('chat.postMessage').filter((c) => c.args.channel === AUDIT_SLACK).length >= 2); // tried, refused
    expect(slackAuditPosts().length).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(10_000);
    await first.stop(); // signs a last checkpoint at shutdown: queued in state too
    const signed = checkpointsIn(dataDir);
    const queued = JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')).outbox as Record<string, { notice: { channels?: string[] } }>;
    expect(Object.values(queued).filter((e) => e.notice.channels?.includes('audit'))).toHaveLength(signed.length);

    // The bot is invited to the channel; vmbot starts again on the same data directory.
    slack.refusedChannels.delete(AUDIT_SLACK);
    slack.calls.length = 0;
    const second = await slackBot({ VMBOT_AUDIT_KEY_FILE: k.keyFile, VMBOT_DATA_DIR: dataDir });
    await until(() => slackAuditPosts().length >= signed.length, 15_000);
    await until(() => !Object.keys(second.app.store.data.outbox).length);
    const posted = readCheckpoints(copyOf(slackAuditPosts())).found.map((f) => f.cp);
    expect(posted.map((c) => c.records).sort((a, b) => a - b)).toEqual(signed.map((c) => c.records));
    await new Promise((r) => setTimeout(r, 200));
    expect(slackAuditPosts()).toHaveLength(signed.length); // once each
  }, 60_000);

  test('a malformed audit channel id stops start-up with a message naming the variable', () => {
    const base = { VMBOT_DATA_DIR: tempDir(), VMBOT_POLICY: EXAMPLE_POLICY };
    const fails = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
      } catch (e) {
        expect(e).toBeInstanceOf(VmbotError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(fails({ VMBOT_SLACK_AUDIT_CHANNEL: '#audit' })).toMatch(/VMBOT_SLACK_AUDIT_CHANNEL.*Slack channel id such as C0123ABCD/s);
    expect(fails({ VMBOT_TEAMS_AUDIT_CHANNEL: 'General' })).toMatch(/VMBOT_TEAMS_AUDIT_CHANNEL.*19:.*@thread\.tacv2/s);
    expect(loadConfig({ ...base, VMBOT_SLACK_AUDIT_CHANNEL: 'C0AUDIT001', VMBOT_TEAMS_AUDIT_CHANNEL: AUDIT_TEAMS })).toMatchObject({ VMBOT_SLACK_AUDIT_CHANNEL: 'C0AUDIT001', VMBOT_TEAMS_AUDIT_CHANNEL: AUDIT_TEAMS });
    // Through the real start-up too.
    const r = vmbot(['serve'], { ...base, VMBOT_TEAMS_AUDIT_CHANNEL: 'https://teams.microsoft.com/l/channel/x' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('VMBOT_TEAMS_AUDIT_CHANNEL');
  }, 60_000);
});

describe('checkpoints in the Teams audit channel', () => {
  let rig: TeamsRig | null = null;
  afterEach(async () => {
    await rig?.close();
    rig = null;
  });

  test('posted as a new thread in the channel through the connector; the copied post verifies the log and catches a cut tail', async () => {
    const k = keys();
    rig = await startTeamsRig({ overrides: { VMBOT_TEAMS_AUDIT_CHANNEL: AUDIT_TEAMS, VMBOT_AUDIT_KEY_FILE: k.keyFile, VMBOT_AUDIT_CHECKPOINT_RECORDS: '5' } });
    const dataDir = rig.app.config.VMBOT_DATA_DIR;
    // VM Bot is added to the team that holds the audit channel: from then on the service URL is known.
    const act = activities(rig.connector.url);
    const added = { ...act.channel('alice', ''), type: 'conversationUpdate', membersAdded: [{ id: '28:vmbot-test' }], conversation: { id: AUDIT_TEAMS, conversationType: 'channel', isGroup: true, tenantId: TENANT }, channelData: { tenant: { id: TENANT }, team: { id: AUDIT_TEAMS } } } as Record<string, unknown>;
    delete added.text;
    delete added.entities;
    expect((await rig.post(added)).status).toBe(200);
    await work({ app: rig.app }, 4);
    await until(() => checkpointsIn(dataDir).length >= 1 && rig!.connector.in(AUDIT_TEAMS).length >= checkpointsIn(dataDir).length);
    const threads = rig.connector.calls.filter((c) => c.method === 'POST' && c.path === '/v3/conversations' && c.body?.channelData?.channel?.id === AUDIT_TEAMS);
    expect(threads[0]!.body).toMatchObject({ isGroup: true, channelData: { tenant: { id: TENANT } } });
    const posts = rig.connector.in(AUDIT_TEAMS).map((m) => m.activity);
    for (const p of posts) expect(p).toMatchObject({ type: 'message', textFormat: 'plain' });
    const texts = posts.map((p) => String(p.text));
    const cps = checkpointsIn(dataDir);
    expect(texts[0]).toContain(cps[0]!.head);
    expect(texts[0]).toContain(cps[0]!.sig);
    const newest = readCheckpoints(copyOf(texts)).found.map((f) => f.cp).at(-1)!;
    await rig.server.stop();

    const copy = copyOf(texts);
    const pub = loadPublicKeys([k.pubFile]);
    expect((await verifyWithCheckpoints(auditDir(dataDir), { keys: pub, sources: [copy] })).ok).toBe(true);
    cutTail(dataDir, newest.records - 1);
    const cut = await verifyWithCheckpoints(auditDir(dataDir), { keys: pub, sources: [copy] });
    expect(cut.ok).toBe(false);
    expect(cut.missing?.reason).toMatch(new RegExp(`record(s)? #${newest.records}.* missing`));
  }, 60_000);
});

describe('audit verify --checkpoints reads checkpoints copied from chat', () => {
  test('a channel export (the message as a JSON string) and a copied line with text after the JSON are read as checkpoints', async () => {
    const { k, s, dataDir } = await keyedSlackBot(3);
    await until(() => slackAuditPosts().length >= 1);
    await s.stop();
    const [post] = slackAuditPosts();
    const cp = checkpointsIn(dataDir)[0]!;
    const exportLine = JSON.stringify({ type: 'message', user: 'U0VMBOTBOT', text: post, ts: '1700000001.000100' }); // Slack export: one JSON object per message
    const edited = `${JSON.stringify(cp)} (edited)`;
    for (const text of [exportLine, edited]) {
      const file = copyOf([text]);
      expect(readCheckpoints(file).found.map((f) => f.cp)).toEqual([cp]);
      expect((await verifyWithCheckpoints(auditDir(dataDir), { keys: loadPublicKeys([k.pubFile]), sources: [file] })).checkpoints.verified).toBe(1);
    }
  }, 60_000);
});
