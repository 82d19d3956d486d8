/**
 * Acceptance review of issue 10 (day one): what the first pass left short, each as the user sees
 * it. Chat replies never carry zod's own text; explain names the assignment for every decision
 * and answers an unknown command as the chat does; every audit subcommand on a data directory
 * that does not exist fails in words; states read the same in Slack and Teams rows as in text.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_COMMANDS } from '../commands/index';
import { renderBlocks } from '../src/adapters/slack/render';
import { renderCard } from '../src/adapters/teams/cards';
import { explain } from '../src/policy/explain';
import { appsClosedAfterEach, EXAMPLE_POLICY, REPO, tempDir } from './support/app';
import { envWithoutVmbot, vmbot } from './support/cli';
import { policyVariant } from './support/policy';

const open = appsClosedAfterEach();
/** zod's generic wording (v4) and internal slot names: never in a chat reply. */
const ZOD_TEXT = /Invalid (input|option|string|type)|expected (one of|string|number|date)|received|Too (small|big)|Unrecognized key|\brest\b|"vm"|"id"/;

describe('chat replies carry no zod text', () => {
  test.each([
    ['dave', 'audit --outcome bad', /^--outcome must be one of ok, failed, unknown, denied, invalid, pending; "bad" is not one\. Usage: audit /],
    ['dave', 'audit --limit -3', /^--limit must be at least 1\. /],
    ['dave', 'audit --since', /^--since needs a value\. /],
    ['alice', 'console web01 --minutes -3', /^--minutes must be at least 1\. /],
    ['alice', 'console web01 --minutes 1.5', /^--minutes needs a whole number/],
    ['alice', 'request web30 --template', /^--template needs a value\. /],
    ['alice', 'request web30 --template web-small --reason', /^--reason needs a value\. /],
    ['carol', 'approve', /^approve needs a request id/],
    ['carol', 'approve x', /^A request id looks like r-7k2mqx\. /],
    ['carol', 'deny r-abcdef', /^deny needs a reason\. /],
  ])('%s: "%s"', async (user, text, expected) => {
    const app = await open();
    const r = await app.say(user, text);
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(expected);
    expect(r.text).not.toMatch(ZOD_TEXT);
  });
});

describe('policy explain: the assignment for every decision, and the chat\'s answer to a typo', () => {
  test.each([
    ['alice', 'request web31 --template web-small', true, { index: 2, role: 'requester', scope: 'web' }],
    ['alice', 'request shop --template web-small', false, { index: 2, role: 'requester', scope: 'web' }], // the command refuses; the policy allowed it
    ['carol', 'approve r-abcdef', true, { index: 3, role: 'approver', scope: 'web' }],
    ['erin', 'requests', true, { index: 3, role: 'approver', scope: 'web' }],
    ['dave', 'audit', true, { index: 4, role: 'auditor', scope: 'estate' }],
    ['alice', 'console', true, { index: 0, role: 'guest-admin', scope: 'web' }],
  ])('%s: "%s" names its assignment', async (user, text, allow, matched) => {
    const app = await open();
    const x = explain(app.policy(), ALL_COMMANDS, `local:${user}`, text);
    expect(x.decision).toMatchObject({ allow, matched });
  });

  test('the CLI prints it (numbered from 1), not "none" beside an ALLOW', () => {
    const r = vmbot(['policy', 'explain', '--as', 'local:alice', 'request', 'web31', '--template', 'web-small'], { VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_DATA_DIR: tempDir() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('matched    assignment #3: role requester in scope web (user)');
  });

  test('an unknown command: the chat\'s words ("did you mean"), exit 2 as a usage error', async () => {
    const app = await open();
    const chat = await app.say('alice', 'strat web01');
    const r = vmbot(['policy', 'explain', '--as', 'local:alice', 'strat', 'web01'], { VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_DATA_DIR: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')[0]).toBe(chat.text.split('\n')[0]);
    expect(r.stderr).toContain('Did you mean "start"?');
  });

  test('a principal without its channel is named as such (alice is local:alice)', () => {
    const r = vmbot(['policy', 'explain', '--as', 'alice', 'start', 'web01'], { VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_DATA_DIR: tempDir() });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('principal  alice → not in the policy (a principal names its channel: local:alice, slack:U…, teams:…)');
  });
});

describe('audit subcommands on a data directory that does not exist', () => {
  test.each([['query'], ['export'], ['reindex'], ['status']])('audit %s: exit 1, "No audit log at …", no internal error, nothing created', (sub) => {
    const dir = `${tempDir()}/nope`;
    const r = vmbot(['audit', sub], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`No audit log at ${dir}/audit. Check VMBOT_DATA_DIR (now ${dir}).`);
    expect(r.stdout).toBe('');
  });
});

describe('one casing for states in the Slack and Teams rows too', () => {
  test('list: Block Kit sections and Adaptive Card rows say "off"/"running" as the text does', async () => {
    const app = await open();
    await app.say('alice', 'start web02');
    const list = await app.say('alice', 'list');
    const slack = JSON.stringify(renderBlocks(list).blocks);
    expect(slack).toContain('*State*\\noff');
    expect(slack).toContain('*State*\\nrunning');
    expect(slack).not.toMatch(/State\*\\n(Off|Running)/);
    const rows = JSON.stringify(renderCard(list));
    expect(rows).toContain('"text":"running"');
    expect(rows).not.toMatch(/"text":"(Off|Running)"/);
  });
});

describe('small words', () => {
  test('an approver who cannot request is not told to "help request" on an empty list', async () => {
    const app = await open();
    const r = await app.say('carol', 'requests');
    expect(r.status).toBe('done');
    expect(r.text).toBe('No requests for you to see.');
    expect((await app.say('alice', 'requests')).text).toContain('Type "help request" to ask for a new VM.');
  });

  test('help keeps its columns readable: a long usage goes on a line of its own', async () => {
    const app = await open();
    const lines = (await app.say('dave', 'help')).text.split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(120);
    expect(lines).toContain('  whoami          Show who vmbot thinks you are and what you may do');
  });

  test('request show: the trail reads in words, no error code names', async () => {
    const app = await open();
    const r = await app.say('alice', 'request web32 --template web-small');
    const id = r.data!.requestId as string;
    await app.say('erin', `deny ${id} "too big"`);
    await app.say('carol', `approve ${id}`);
    // carol decides in web: she sees why her late approval was refused.
    const show = await app.say('carol', `request show ${id}`);
    expect(show.text).toContain('already denied by erin');
    expect(show.text).not.toMatch(/\b(conflict|usage|invalid_state|not_found):/);
  });
});

describe('the audit views say what happened', () => {
  test('chat\'s audit reads as the CLI text view: a no-op says so, turn-off and shutdown differ, an intent is "allowed"', async () => {
    const app = await open();
    await app.say('alice', 'start web02');
    await app.say('alice', 'start web02');
    await app.say('bob', 'start db01');
    await app.say('bob', 'stop db01 --turnoff');
    const lines = (await app.say('dave', 'audit')).text.split('\n');
    expect(lines.filter((l) => /alice: Start Virtual Machine web02/.test(l)).at(-1)).toMatch(/decision alice: Start Virtual Machine web02 → ok \(nothing to do: already running\)/);
    expect(lines).toContainEqual(expect.stringMatching(/intent bob: Stop Virtual Machine \(turn off\) db01 → allowed \(/));
    const cli = vmbot(['audit', 'query', '--vm', 'web02'], { VMBOT_DATA_DIR: app.config.VMBOT_DATA_DIR, VMBOT_POLICY: EXAMPLE_POLICY });
    expect(cli.stdout.trim().split('\n').at(-1)).toMatch(/decision alice +Start Virtual Machine web02 → ok \(nothing to do: already running\)$/);
  });
});


describe('npm start rebuilds only when it must', () => {
  // tools/start.js in a tiny project of its own (one source file): a real tsc run, in seconds.
  test('no build: builds; current: runs without building; a source newer than the build: builds again', () => {
    const root = tempDir();
    mkdirSync(join(root, 'tools'));
    mkdirSync(join(root, 'src'));
    mkdirSync(join(root, 'commands'));
    copyFileSync(join(REPO, 'tools', 'start.js'), join(root, 'tools', 'start.js'));
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), '{"private": true}\n');
    writeFileSync(join(root, 'tsconfig.json'), '{}\n');
    writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: '.', module: 'commonjs', target: 'es2022', types: [] }, include: ['src/**/*.ts', 'commands/**/*.ts'] }));
    writeFileSync(join(root, 'commands', 'none.ts'), 'export {};\n');
    const cli = join(root, 'src', 'cli.ts');
    writeFileSync(cli, 'console.log("build one");\n');
    const start = () => spawnSync(process.execPath, [join(root, 'tools', 'start.js')], { cwd: root, encoding: 'utf8', timeout: 60_000, env: envWithoutVmbot() });
    const first = start();
    expect(first.stderr).toContain('Building (no build yet)');
    expect(first.stdout.trim()).toBe('build one');
    const again = start();
    expect(again.stderr).not.toContain('Building');
    expect(again.stdout.trim()).toBe('build one');
    writeFileSync(cli, 'console.log("build two");\n');
    const later = (Date.now() + 5_000) / 1000;
    utimesSync(cli, later, later);
    const changed = start();
    expect(changed.stderr).toContain('Building (sources changed since the last build)');
    expect(changed.stdout.trim()).toBe('build two');
  });
});

describe('words that match what happens', () => {
  test('a fresh 3-minute console grant shows "3 min left", not 2 (whole minutes rounded up)', async () => {
    const app = await open();
    await app.say('alice', 'console web01 --minutes 3');
    expect((await app.say('alice', 'console')).text).toMatch(/web01 for CONTOSO\\alice until .* \(3 min left\)/);
  });

  test('"resume" is what a paused VM needs (Resume-VM); a saved one is started, and help says so', async () => {
    const app = await open();
    const help = (await app.say('alice', 'help')).text;
    expect(help).toMatch(/start <vm>\s+Boot one of your VMs \(a saved one starts from its saved state\)/);
    expect(help).not.toContain('resume');
  });
});

describe('plurals everywhere a count is printed', () => {
  test('audit verify and audit export of a one-record log say "1 record"', () => {
    const dir = tempDir();
    expect(vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY }).code).toBe(0);
    const verify = vmbot(['audit', 'verify'], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY });
    expect(verify.stdout).toMatch(/^OK: 1 record #1–#1,/);
    const exported = vmbot(['audit', 'export', '--out', join(dir, 'x.json')], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY });
    expect(exported.stderr.trim()).toBe(`1 record written to ${join(dir, 'x.json')}`);
  });

  test('a quota of one: "your quota of 1 VM"', async () => {
    const app = await open({ VMBOT_POLICY: policyVariant((p) => void (p.scopes!.web!.quotaPerUser = 1)) });
    await app.say('alice', 'request web40 --template web-small');
    const r = await app.say('alice', 'request web41 --template web-small');
    expect(r.text).toContain('You have reached your quota of 1 VM in web');
  });
});

describe('the CLI speaks as the chat does: no zod text in audit query filters or settings', () => {
  const withLog = () => {
    const dir = tempDir();
    vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY });
    return { VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY };
  };

  test.each([
    [['--since', 'yesterday'], '--since: "yesterday" is not a time: use 2026-11-30, 2026-11-30T08:00Z, or 90m / 24h / 7d.'],
    [['--until', '2026-13-45'], '--until: "2026-13-45" is not a time: use 2026-11-30, 2026-11-30T08:00Z, or 90m / 24h / 7d.'],
    [['--limit', 'abc'], '--limit needs a whole number of at least 1, such as --limit 50; "abc" is not one.'],
    [['--limit=-3'], '--limit needs a whole number of at least 1, such as --limit 50; "-3" is not one.'],
    [['--limit', '-3'], 'Option \'--limit\' argument is ambiguous. Did you forget to specify the option argument for \'--limit\'? To specify an option argument starting with a dash use \'--limit=-XYZ\'. Run "vmbot --help" for the usage.'],
    [['--outcome', 'nope'], '--outcome must be one of ok, failed, unknown, denied, invalid, pending; "nope" is not one.'],
  ])('audit query %j: one line in words, exit 2', (args, message) => {
    const r = vmbot(['audit', 'query', ...args], withLog());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(message);
  });

  test('--since takes the chat\'s spans too (24h)', () => {
    const r = vmbot(['audit', 'query', '--since', '24h', '--format', 'jsonl'], withLog());
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  test.each([
    ['abc', 'VMBOT_SIM_LATENCY_MS: must be a whole number; "abc" is not one'],
    ['1.5', 'VMBOT_SIM_LATENCY_MS: must be a whole number; "1.5" is not one'],
    ['-5', 'VMBOT_SIM_LATENCY_MS: must be at least 0'],
  ])('a setting that is not a number (VMBOT_SIM_LATENCY_MS=%s) is named in words', (value, message) => {
    const r = vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], { VMBOT_DATA_DIR: tempDir(), VMBOT_SIM_LATENCY_MS: value });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/Invalid input|expected number|Too small/);
  });

  test('keygen --out where no directory can be made: one message, exit 1 (Node\'s recursive mkdir spins forever on /proc)', () => {
    const r = vmbot(['audit', 'keygen', '--out', '/proc/vmbot-nope/keys']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('/proc/vmbot-nope');
  });
});

describe('settings in words', () => {
  test.each([
    ['VMBOT_BACKEND', 'foo', 'VMBOT_BACKEND: must be one of simulator, powershell; "foo" is not one'],
    ['VMBOT_LOG_LEVEL', 'verbose', 'VMBOT_LOG_LEVEL: must be one of debug, info, warn, error; "verbose" is not one'],
    ['VMBOT_OIDC_ISSUER', 'notaurl', 'VMBOT_OIDC_ISSUER: must be a URL such as https://login.example.org/realms/it'],
  ])('%s=%s', (name, value, message) => {
    const r = vmbot(['exec', '--as', 'local:alice', '--', 'whoami'], { VMBOT_DATA_DIR: tempDir(), [name]: value });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/Invalid (option|URL)|expected one of/);
  });
});

describe('a requester who tries to deny their own request', () => {
  test('is pointed to "request cancel" while it is pending', async () => {
    const app = await open();
    const r = await app.say('alice', 'request web60 --template web-small');
    const id = r.data!.requestId as string;
    const deny = await app.say('alice', `deny ${id} "changed my mind"`);
    expect(deny.status).toBe('denied');
    expect(deny.text).toBe(`You cannot deny your own request ${id}; another approver must decide it. To withdraw it, type "request cancel ${id}".`);
    expect((await app.say('alice', `approve ${id}`)).text).toBe(`You cannot approve your own request ${id}; another approver must decide it.`);
  });
});
