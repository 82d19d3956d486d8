/**
 * The auditor's web view in a real browser: Debian's Chromium driven by playwright-core
 * (executablePath, never a downloaded browser), against the real `vmbot` binary serving the web
 * view, signing in through a local OpenID Connect provider (oidc-provider) started here. All on
 * 127.0.0.1; everything started is stopped after the file. Screenshots: test/artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { AuditRecord } from '../src/audit/record';
import { CookieSigner, setCookie } from '../src/web/session';
import { principalFrom } from '../src/web/index';
import { EXAMPLE_POLICY, REPO, tempDir } from './support/app';
import { CLI, vmbot, envWithoutVmbot } from './support/cli';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test', 'artifacts');
const CLIENT = { id: 'vmbot-audit', secret: 'test-client-secret-not-real' };

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** Start a child and resolve once a line of its output matches. */
const children: ChildProcess[] = [];
function startChild(args: string[], env: NodeJS.ProcessEnv, ready: RegExp | null, label: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  if (!ready) {
    child.stdout!.on('data', (b: Buffer) => void (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => void (out += b.toString()));
    return Promise.resolve({ child, output: () => out });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start:\n${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${label} exited (${code}):\n${out}`)));
  });
}

async function waitReady(url: string, output: () => string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never became ready:\n${output()}`);
}

const haveChromium = existsSync(CHROMIUM);
const describeBrowser = haveChromium ? describe : describe.skip;
if (!haveChromium) console.warn(`${CHROMIUM} is missing: the web view browser test is skipped (.ci/run installs Debian's chromium).`);

describe('web view building blocks', () => {
  test('VMBOT_OIDC_PRINCIPAL maps claims to a principal; a missing claim maps to nobody', () => {
    expect(principalFrom('teams:{oid}', { oid: '0da0e000-0000-4000-8000-000000000004' })).toBe('teams:0da0e000-0000-4000-8000-000000000004');
    expect(principalFrom('local:{preferred_username}', { preferred_username: 'dave' })).toBe('local:dave');
    expect(principalFrom('teams:{oid}', { sub: 'x' })).toBeNull();
    expect(principalFrom('local:{preferred_username}', { preferred_username: 'da ve<script>' })).toBeNull();
  });

  test('session cookies: a changed byte or an expired time is refused; Secure on https', () => {
    const s = new CookieSigner();
    const c = s.sign({ exp: Date.now() + 60_000, principal: 'local:dave' });
    expect(s.verify(c)).toMatchObject({ principal: 'local:dave' });
    const [body, mac] = c.split('.');
    const forged = Buffer.from(JSON.stringify({ exp: Date.now() + 60_000, principal: 'local:alice' })).toString('base64url');
    expect(s.verify(`${forged}.${mac}`)).toBeNull();
    expect(s.verify(`${body}.${mac!.slice(0, -2)}AA`)).toBeNull();
    expect(s.verify(s.sign({ exp: Date.now() - 1, principal: 'local:dave' }))).toBeNull();
    expect(new CookieSigner().verify(c)).toBeNull(); // another process's key
    expect(setCookie('vmbot_audit', 'v', { maxAgeSec: 60, secure: true, path: '/audit' })).toBe('vmbot_audit=v; Path=/audit; Max-Age=60; HttpOnly; SameSite=Lax; Secure');
  });
});

describeBrowser('web view in Chromium, signed in through OpenID Connect', () => {
  let idp: ChildProcess;
  let bot: ChildProcess;
  let botOut: () => string;
  let browser: Browser;
  let base: string;
  let issuer: string;
  let data: string;
  let requestId: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    data = tempDir();
    const env = { VMBOT_DATA_DIR: data, VMBOT_POLICY: EXAMPLE_POLICY };
    // History to read: a start, a denial, a request and its approval.
    expect(vmbot(['exec', '--as', 'local:alice', '--', 'start web01'], env).code).toBe(0);
    expect(vmbot(['exec', '--as', 'local:mallory', '--', 'start db01'], env).code).toBe(3);
    const req = JSON.parse(vmbot(['exec', '--as', 'local:alice', '--json', '--', 'request web07 --template web-small --reason "new shop"'], env).stdout) as { requestId: string };
    requestId = req.requestId;
    expect(vmbot(['exec', '--as', 'local:carol', '--', `approve ${requestId}`], env).code).toBe(0);

    const [idpPort, botPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${botPort}`;
    issuer = `http://127.0.0.1:${idpPort}`;
    idp = (await startChild([join(REPO, 'test', 'support', 'oidc-idp.mjs'), String(idpPort), `${base}/audit/callback`, CLIENT.id, CLIENT.secret], { ...process.env }, /^ready /m, 'oidc-provider')).child;
    const clean = envWithoutVmbot();
    const started = await startChild([CLI], {
      ...clean, ...env, VMBOT_SIM_LATENCY_MS: '0', VMBOT_HTTP_HOST: '127.0.0.1', VMBOT_HTTP_PORT: String(botPort), VMBOT_PUBLIC_URL: base,
      VMBOT_OIDC_ISSUER: issuer, VMBOT_OIDC_CLIENT_ID: CLIENT.id, VMBOT_OIDC_CLIENT_SECRET: CLIENT.secret,
    }, null, 'vmbot');
    bot = started.child;
    botOut = started.output;
    await waitReady(`${base}/readyz`, botOut);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  });

  /** Sign in at the provider's login form as `who`; ends back on the web view. */
  async function signIn(ctx: BrowserContext, who: string, path = '/audit'): Promise<Page> {
    const page = await ctx.newPage();
    await page.goto(`${base}${path}`);
    expect(page.url().startsWith(issuer)).toBe(true); // sent to sign in
    await page.fill('input[name=login]', who);
    await page.fill('input[name=password]', 'any');
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.href.startsWith(base), { timeout: 20_000 });
    return page;
  }

  test('a visitor without a session is sent to sign in', async () => {
    const r = await fetch(`${base}/audit?user=alice`, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/audit/login?return=%2Faudit%3Fuser%3Dalice');
    const login = await fetch(`${base}${r.headers.get('location')}`, { redirect: 'manual' });
    expect(login.headers.get('location')!.startsWith(`${issuer}/auth?`)).toBe(true);
    expect(login.headers.get('location')).toContain('code_challenge_method=S256');
  });

  test('the auditor signs in, searches, opens a trail and exports CSV', async () => {
    const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    const page = await signIn(ctx, 'dave');
    expect(new URL(page.url()).pathname).toBe('/audit');
    await expect(page.locator('h1').textContent()).resolves.toBe('Audit log');
    await expect(page.locator('header .who span').textContent()).resolves.toBe('Dave (test IdP)');
    expect(await page.locator('svg[aria-label="Actions and denials over time"] rect').count()).toBeGreaterThan(0);

    // the session cookie: HttpOnly, SameSite=Lax, expiring
    const cookie = (await ctx.cookies()).find((c) => c.name === 'vmbot_audit')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/audit' });
    expect(cookie.expires * 1000).toBeGreaterThan(Date.now() + 7 * 3_600_000);

    // search: alice's records only
    await page.fill('input[name=user]', 'alice');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/user=alice/);
    const users = await page.locator('table tbody tr td:nth-child(4)').allTextContents();
    expect(users.length).toBeGreaterThan(2);
    expect(new Set(users)).toEqual(new Set(['alice']));
    await page.screenshot({ path: join(ARTIFACTS, 'web-search.png'), fullPage: true });

    // the trail of alice's request: request, approval and creation, in order
    await page.click(`table a[href="/audit/trail/${requestId}"] >> nth=0`);
    await page.waitForURL(new RegExp(`/audit/trail/${requestId}$`));
    await expect(page.locator('h1').textContent()).resolves.toBe(`Trail of ${requestId}`);
    const ops = await page.locator('table tbody tr td:nth-child(5)').allTextContents();
    expect(ops).toEqual(expect.arrayContaining(['Request Virtual Machine', 'Approve Virtual Machine Request', 'Create Virtual Machine']));
    await page.screenshot({ path: join(ARTIFACTS, 'web-trail.png'), fullPage: true });

    // a record with its intent/result pair and matched assignment
    await page.goto(`${base}/audit?user=alice&kind=result&operation=Start+Virtual+Machine`);
    await page.click('table tbody tr >> nth=0 >> td >> nth=0 >> a');
    await expect(page.locator('h2', { hasText: 'Intent and result' }).count()).resolves.toBe(1);
    await expect(page.locator('dl.kv').first().textContent()).resolves.toContain('assignment #1: role guest-admin in scope web (group:web-admins)');

    // export the current filter as CSV
    await page.goto(`${base}/audit?user=alice`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a:text("CSV")')]);
    const csv = readFileSync((await download.path())!, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,time,kind,principal,user,channel,command,operation,vm,host,decision,reason,outcome,error,correlationId,intentId,details,prev,hash');
    expect(csv.length).toBeGreaterThan(3);
    for (const row of csv.slice(1)) expect(row.split('","')[4]).toBe('alice');

    // strict CSP on every page
    const res = await fetch(`${base}/audit/chain`, { headers: { cookie: `vmbot_audit=${cookie.value}` } });
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    expect(await res.text()).toMatch(/Verified up to<\/dt><dd>record #\d+/);
    await ctx.close();
  }, 90_000);

  test('a guest admin signs in and gets 403; the denial is audited', async () => {
    const ctx = await browser.newContext();
    const page = await signIn(ctx, 'alice');
    const status = (await page.reload())!.status();
    expect(status).toBe(403);
    await expect(page.locator('h1').textContent()).resolves.toBe('Not permitted');
    await ctx.close();
    const denied = vmbot(['audit', 'query', '--user', 'alice', '--outcome', 'denied', '--format', 'jsonl'], { VMBOT_DATA_DIR: data, VMBOT_POLICY: EXAMPLE_POLICY });
    const recs = denied.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(recs.filter((r) => r.channel === 'web')).toEqual(expect.arrayContaining([expect.objectContaining({ principal: 'teams:0a1ce000-0000-4000-8000-000000000001', operation: 'Read Audit Log', decision: 'deny', command: 'GET /audit' })]));
  }, 60_000);

  test('every page view is audited under the signed-in user', async () => {
    const out = vmbot(['audit', 'query', '--user', 'dave', '--format', 'jsonl'], { VMBOT_DATA_DIR: data, VMBOT_POLICY: EXAMPLE_POLICY });
    const views = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.channel === 'web');
    expect(views.map((r) => r.command)).toEqual(expect.arrayContaining(['GET /audit', 'GET /audit?user=alice', `GET /audit/trail/${requestId}`, 'GET /audit/export.csv?user=alice']));
    for (const v of views) expect(v).toMatchObject({ operation: 'Read Audit Log', decision: 'allow', outcome: 'ok' });
  });

  test('a tampered session cookie is refused: back to sign-in', async () => {
    const ctx = await browser.newContext();
    const page = await signIn(ctx, 'dave');
    const c = (await ctx.cookies()).find((x) => x.name === 'vmbot_audit')!;
    const [body, mac] = c.value.split('.');
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, principal: 'teams:0a1ce000-0000-4000-8000-000000000001' })).toString('base64url');
    const refused = await fetch(`${base}/audit`, { redirect: 'manual', headers: { cookie: `vmbot_audit=${forged}.${mac}` } });
    expect(refused.status).toBe(303);
    expect(refused.headers.get('location')).toBe('/audit/login?return=%2Faudit');
    // In the browser: refused, so back through the provider, which still knows dave: dave, never alice.
    await ctx.addCookies([{ ...c, value: `${forged}.${mac}` }]);
    await page.goto(`${base}/audit`);
    await page.waitForURL(`${base}/audit`);
    await expect(page.locator('header .who span').textContent()).resolves.toBe('Dave (test IdP)');
    await ctx.close();
  }, 60_000);

  test('sign-out is a POST with a CSRF token: without it, refused', async () => {
    const ctx = await browser.newContext();
    const page = await signIn(ctx, 'dave');
    const c = (await ctx.cookies()).find((x) => x.name === 'vmbot_audit')!;
    const r = await fetch(`${base}/audit/logout`, { method: 'POST', headers: { cookie: `vmbot_audit=${c.value}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=wrong' });
    expect(r.status).toBe(403);
    await page.click('header button[type=submit]');
    await expect(page.locator('h1').textContent()).resolves.toBe('Signed out');
    expect((await ctx.cookies()).find((x) => x.name === 'vmbot_audit')).toBeUndefined();
    await ctx.close();
    expect(botOut()).not.toContain(CLIENT.secret); // never in the operator log
  }, 60_000);
});
