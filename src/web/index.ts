import express, { type Request as ExpressRequest, type Response, type Router } from 'express';
import type * as Oidc from 'openid-client';
import { z } from 'zod';
import type { App } from '../app';
import type { FrontEnd, FrontEndContext, FrontEndFactory } from '../adapters/frontend';
import { readCheckpoints } from '../audit/checkpoint';
import { AuditKind, AuditOutcome, type AuditRecord } from '../audit/record';
import { toCsv } from '../audit/query';
import { checkpointsFile } from '../audit/runtime';
import { VmbotError } from '../core/errors';
import { newCorrelationId } from '../core/pipeline';
import { accessReport, describeGrant } from '../policy/access';
import { authorize } from '../policy/authorize';
import { PrincipalSchema } from '../policy/schema';
import { READ_AUDIT_LOG, type AuditFilter } from '../workflows/audit-reader';
import { plural } from '../core/text';
import { chartSvg, html, page, raw, recordsTable, STYLE, type Html } from './html';
import { clearCookie, CookieSigner, randomToken, readCookies, sameToken, setCookie } from './session';

export const BASE = '/audit';
const SESSION = 'vmbot_audit';
const LOGIN = 'vmbot_audit_login';
const SESSION_HOURS = 8;
const PAGE_SIZE = 50;

/** Content-Security-Policy: nothing but our own stylesheet; no script at all; no framing. */
export const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface WebOptions {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  publicUrl: URL;
  /** `teams:{oid}` by default: claims in braces are replaced by the ID token's values. */
  principalTemplate: string;
}

interface Session {
  exp: number;
  principal: string;
  name: string;
  csrf: string;
}

interface LoginTx {
  exp: number;
  state: string;
  nonce: string;
  verifier: string;
  ret: string;
}

/** `teams:{oid}` + claims -> `teams:0da0e…`; null if a claim is missing or the result is no principal. */
export function principalFrom(template: string, claims: Record<string, unknown>): string | null {
  let missing = false;
  const p = template.replace(/\{([A-Za-z0-9_.-]+)\}/g, (_, k: string) => {
    const v = claims[k];
    if (typeof v !== 'string' || !v) missing = true;
    return typeof v === 'string' ? v : '';
  });
  return !missing && PrincipalSchema.safeParse(p).success ? p : null;
}

/** The web view is on when the issuer is set; then client id, secret and public URL are required. */
export const webFrontEnd: FrontEndFactory = (_env, config) => {
  if (!config.VMBOT_OIDC_ISSUER) return null;
  const need = (['VMBOT_OIDC_CLIENT_ID', 'VMBOT_OIDC_CLIENT_SECRET', 'VMBOT_PUBLIC_URL'] as const).filter((k) => !config[k]);
  if (need.length) throw new VmbotError('config', `${need.join(', ')}: required for the web view when VMBOT_OIDC_ISSUER is set`);
  const template = config.VMBOT_OIDC_PRINCIPAL ?? 'teams:{oid}';
  if (!/^(local|slack|teams):.*\{[A-Za-z0-9_.-]+\}/.test(template))
    throw new VmbotError('config', 'VMBOT_OIDC_PRINCIPAL: must be local:, slack: or teams: followed by a claim in braces, e.g. teams:{oid} or local:{preferred_username}');
  return new WebFrontEnd({
    issuer: new URL(config.VMBOT_OIDC_ISSUER), clientId: config.VMBOT_OIDC_CLIENT_ID!, clientSecret: config.VMBOT_OIDC_CLIENT_SECRET!,
    publicUrl: new URL(config.VMBOT_PUBLIC_URL!), principalTemplate: template,
  });
};

const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

const Filters = z.strictObject({
  user: z.string().trim().max(200).optional(),
  vm: z.string().trim().max(200).optional(),
  operation: z.string().trim().max(200).optional(),
  outcome: AuditOutcome.optional(),
  kind: AuditKind.optional(),
  // <input type="datetime-local"> sends 2026-11-30T08:00 (read as UTC, as every time here)
  since: z.string().trim().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/, 'since: use 2026-11-30 or 2026-11-30T08:00').optional(),
  until: z.string().trim().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/, 'until: use 2026-11-30 or 2026-11-30T08:00').optional(),
  before: z.coerce.number().int().positive().optional(),
});
type FilterInput = z.infer<typeof Filters>;

/** Query string -> filters; empty fields mean "any". */
function parseFilters(query: unknown): { input: FilterInput; filter: AuditFilter } | { error: string } {
  const plain = Object.fromEntries(Object.entries((query ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === 'string' && v.trim() !== ''));
  const r = Filters.safeParse(plain);
  if (!r.success) return { error: r.error.issues.map((i) => (i.path.length ? `${String(i.path[0])}: ${i.message}` : i.message)).join('; ') };
  const i = r.data;
  const utc = (s: string | undefined, end: boolean) => (s ? new Date(s.length === 10 ? `${s}T${end ? '23:59:59.999' : '00:00:00'}Z` : `${s}Z`) : undefined);
  return { input: i, filter: { user: i.user, vm: i.vm, operation: i.operation, outcome: i.outcome, kind: i.kind, since: utc(i.since, false), until: utc(i.until, true), beforeId: i.before } };
}

const qs = (input: FilterInput, extra: Record<string, string | number | undefined> = {}) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...input, before: undefined, ...extra })) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

/**
 * The auditor's web view (docs/architecture.md, "The front-end seam"): server-rendered pages at /audit, sign-in through
 * any OpenID Connect provider, access only with Read Audit Log, every page view audited.
 */
export class WebFrontEnd implements FrontEnd {
  readonly name = 'web';
  private readonly signer = new CookieSigner();
  private oidc!: typeof Oidc;
  private config!: Oidc.Configuration;
  private app!: App;
  private ctx!: FrontEndContext;

  constructor(private readonly opts: WebOptions) {}

  private get secure() {
    return this.opts.publicUrl.protocol === 'https:';
  }
  private get redirectUri() {
    return new URL(`${BASE}/callback`, this.opts.publicUrl).toString();
  }

  async start(ctx: FrontEndContext): Promise<void> {
    this.ctx = ctx;
    this.app = ctx.app;
    // openid-client 6 is an ES module: loaded here, only when the web view is configured.
    this.oidc = await import('openid-client');
    const insecure = this.opts.issuer.protocol === 'http:';
    if (insecure && !isLoopback(this.opts.issuer)) throw new VmbotError('config', 'VMBOT_OIDC_ISSUER: must be https (http only for a provider on this machine, for tests)');
    try {
      this.config = await this.oidc.discovery(this.opts.issuer, this.opts.clientId, this.opts.clientSecret, undefined, insecure ? { execute: [this.oidc.allowInsecureRequests] } : undefined);
    } catch (e) {
      throw new VmbotError('config', `VMBOT_OIDC_ISSUER: cannot read the provider's configuration from ${this.opts.issuer.href} (${e instanceof Error ? e.message : String(e)})`);
    }
    ctx.http.mount(BASE, this.router());
    ctx.log.info({ issuer: this.opts.issuer.origin, principal: this.opts.principalTemplate }, 'web audit view at /audit');
  }

  async stop(): Promise<void> {}

  private cookieOpts(maxAgeSec: number) {
    return { maxAgeSec, secure: this.secure, path: BASE };
  }

  private router(): Router {
    const r = express.Router();
    r.use((_req, res, next) => {
      res.set({
        'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own forms
        'Referrer-Policy': 'same-origin',
        'X-Frame-Options': 'DENY', 'Cache-Control': 'no-store', 'Cross-Origin-Opener-Policy': 'same-origin',
      });
      next();
    });
    r.get('/static/style.css', (_req, res) => void res.set('Cache-Control', 'public, max-age=3600').type('text/css').send(STYLE));
    r.get('/login', (req, res) => void this.login(req, res).catch((e) => this.fail(res, e)));
    r.get('/callback', (req, res) => void this.callback(req, res).catch((e) => this.fail(res, e)));
    r.post('/logout', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => void this.logout(req, res).catch((e) => this.fail(res, e)));
    const view = (fn: (req: ExpressRequest, res: Response, s: Session, userId: string) => Promise<void>) => (req: ExpressRequest, res: Response) =>
      void this.guard(req, res, fn).catch((e) => this.fail(res, e));
    r.get('/', view((req, res, s, u) => this.search(req, res, s, u)));
    r.get('/record/:id', view((req, res, s, u) => this.record(req, res, s, u)));
    r.get('/trail/:cid', view((req, res, s, u) => this.trail(req, res, s, u)));
    r.get('/chain', view((req, res, s) => this.chain(req, res, s)));
    r.get('/access', view((req, res, s, u) => this.access(req, res, s, u)));
    r.get('/export.csv', view((req, res, s, u) => this.export(req, res, s, u, 'csv')));
    r.get('/export.jsonl', view((req, res, s, u) => this.export(req, res, s, u, 'jsonl')));
    r.use((_req, res) => void res.status(404).type('html').send(page({ title: 'Not found', base: BASE }, html`<h1>Not found</h1>`)));
    return r;
  }

  private fail(res: Response, e: unknown): void {
    this.ctx.log.error({ error: e instanceof Error ? e.message : String(e) }, 'web view request failed');
    if (!res.headersSent) res.status(500).type('html').send(page({ title: 'Error', base: BASE }, html`<h1>Something went wrong</h1><p>The details are in the operator log.</p>`));
    else res.end();
  }

  private session(req: ExpressRequest): Session | null {
    return this.signer.verify<Session>(readCookies(req.headers.cookie).get(SESSION));
  }

  /** Audit one page view (or its refusal): who, what page, allowed or not. */
  private audit(req: ExpressRequest, principal: string, userId: string | null, allow: boolean, reason: string): Promise<AuditRecord> {
    return this.app.audit.append({
      kind: 'decision', correlationId: newCorrelationId(), principal, user: userId, channel: 'web',
      command: `${req.method} ${req.originalUrl}`.slice(0, 500), operation: READ_AUDIT_LOG,
      decision: allow ? 'allow' : 'deny', outcome: allow ? 'ok' : 'denied', reason,
    });
  }

  /**
   * Signed in (else: to the provider), known to the policy and holding Read Audit Log somewhere
   * (else: 403 and an audited denial). The page then sees only its scope (AuditReader).
   */
  private async guard(req: ExpressRequest, res: Response, fn: (req: ExpressRequest, res: Response, s: Session, userId: string) => Promise<void>): Promise<void> {
    const s = this.session(req);
    if (!s) {
      const ret = req.originalUrl.startsWith(BASE) ? req.originalUrl : BASE;
      return void res.redirect(303, `${BASE}/login?return=${encodeURIComponent(ret)}`);
    }
    const ev = this.app.policy();
    const identity = ev.identify(s.principal);
    // The same decision as the chat command's: authorize(), "holds Read Audit Log somewhere".
    const decision = identity ? authorize(ev, identity.id, { kind: 'any', operations: [READ_AUDIT_LOG] }) : null;
    if (!identity || !decision?.allow) {
      const reason = decision?.reason ?? `principal ${s.principal} is not in the policy`;
      const rec = await this.audit(req, s.principal, identity?.id ?? null, false, reason);
      res.status(403).type('html').send(page({ title: 'Not permitted', base: BASE, user: { id: s.principal, name: s.name, csrf: s.csrf } }, html`<h1>Not permitted</h1>
<p>You are signed in as <strong>${s.name}</strong> (${s.principal}), but none of your roles grants “${READ_AUDIT_LOG}”, so the audit log is not available to you.</p>
<p>This attempt was recorded (audit record #${rec.id}).</p>`));
      return;
    }
    await this.audit(req, s.principal, identity.id, true, decision.reason);
    await fn(req, res, s, identity.id);
  }

  private layout(s: Session, title: string, active?: 'search' | 'chain' | 'access') {
    return { title, base: BASE, active, user: { id: s.principal, name: s.name, csrf: s.csrf } };
  }

  private async login(req: ExpressRequest, res: Response): Promise<void> {
    const retRaw = typeof req.query.return === 'string' ? req.query.return : BASE;
    // Only back into the web view: never an open redirect.
    const ret = retRaw.startsWith(`${BASE}`) && !retRaw.startsWith('//') && !/[\\\r\n]/.test(retRaw) ? retRaw : BASE;
    const tx: LoginTx = { exp: Date.now() + 10 * 60_000, state: this.oidc.randomState(), nonce: this.oidc.randomNonce(), verifier: this.oidc.randomPKCECodeVerifier(), ret };
    const url = this.oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: this.redirectUri, scope: 'openid profile', response_type: 'code',
      code_challenge: await this.oidc.calculatePKCECodeChallenge(tx.verifier), code_challenge_method: 'S256', state: tx.state, nonce: tx.nonce,
    });
    res.append('Set-Cookie', setCookie(LOGIN, this.signer.sign(tx), this.cookieOpts(600)));
    res.redirect(303, url.href);
  }

  private async callback(req: ExpressRequest, res: Response): Promise<void> {
    const tx = this.signer.verify<LoginTx>(readCookies(req.headers.cookie).get(LOGIN));
    res.append('Set-Cookie', clearCookie(LOGIN, { secure: this.secure, path: BASE }));
    if (!tx) return void res.status(400).type('html').send(page({ title: 'Sign-in expired', base: BASE }, html`<h1>Sign-in expired</h1><p><a href="${BASE}/login">Sign in again</a>.</p>`));
    let claims: Record<string, unknown>;
    try {
      const tokens = await this.oidc.authorizationCodeGrant(this.config, new URL(req.originalUrl, this.opts.publicUrl), {
        pkceCodeVerifier: tx.verifier, expectedState: tx.state, expectedNonce: tx.nonce, idTokenExpected: true,
      });
      claims = (tokens.claims() ?? {}) as Record<string, unknown>;
    } catch (e) {
      this.ctx.log.warn({ error: e instanceof Error ? e.message : String(e) }, 'web view sign-in refused');
      return void res.status(401).type('html').send(page({ title: 'Sign-in failed', base: BASE }, html`<h1>Sign-in failed</h1><p>The identity provider's answer could not be accepted. <a href="${BASE}/login">Try again</a>.</p>`));
    }
    const principal = principalFrom(this.opts.principalTemplate, claims);
    if (!principal) {
      return void res.status(403).type('html').send(page({ title: 'Not permitted', base: BASE }, html`<h1>Not permitted</h1><p>Your sign-in carries no value for ${this.opts.principalTemplate} (VMBOT_OIDC_PRINCIPAL), so vmbot cannot tell who you are.</p>`));
    }
    const name = [claims.name, claims.preferred_username, claims.email].find((v): v is string => typeof v === 'string' && v.length > 0) ?? principal;
    const s: Session = { exp: Date.now() + SESSION_HOURS * 3_600_000, principal, name: name.slice(0, 100), csrf: randomToken() };
    res.append('Set-Cookie', setCookie(SESSION, this.signer.sign(s), this.cookieOpts(SESSION_HOURS * 3600)));
    res.redirect(303, tx.ret);
  }

  private async logout(req: ExpressRequest, res: Response): Promise<void> {
    const s = this.session(req);
    const origin = req.headers.origin;
    // CSRF: the form's token must match the session's, and a browser's Origin must be ours.
    if (!s || !sameToken((req.body as { csrf?: string } | undefined)?.csrf, s.csrf) || (origin && origin !== this.opts.publicUrl.origin)) {
      return void res.status(403).type('html').send(page({ title: 'Refused', base: BASE }, html`<h1>Refused</h1><p>That form did not come from this page (CSRF check failed).</p>`));
    }
    res.append('Set-Cookie', clearCookie(SESSION, { secure: this.secure, path: BASE }));
    res.type('html').send(page({ title: 'Signed out', base: BASE }, html`<h1>Signed out</h1><p><a href="${BASE}">Sign in again</a>.</p>`));
  }

  private badRequest(res: Response, s: Session, message: string): void {
    res.status(400).type('html').send(page(this.layout(s, 'Invalid filter', 'search'), html`<h1>Invalid filter</h1><p class="error">${message}</p><p><a href="${BASE}">Back to search</a></p>`));
  }

  private filterForm(input: FilterInput): Html {
    const opt = (values: readonly string[], current: string | undefined) =>
      [html`<option value="">any</option>`, ...values.map((v) => html`<option value="${v}"${raw(current === v ? ' selected' : '')}>${v}</option>`)];
    return html`<form class="filters" method="get" action="${BASE}">
<label>User <input name="user" value="${input.user ?? ''}" placeholder="alice"></label>
<label>VM <input name="vm" value="${input.vm ?? ''}" placeholder="web01"></label>
<label>Operation <input name="operation" value="${input.operation ?? ''}" placeholder="Start Virtual Machine"></label>
<label>Outcome <select name="outcome">${opt(AuditOutcome.options, input.outcome)}</select></label>
<label>Kind <select name="kind">${opt(AuditKind.options.filter((k) => k !== 'segment'), input.kind)}</select></label>
<label>Since (UTC) <input name="since" type="datetime-local" value="${input.since ?? ''}"></label>
<label>Until (UTC) <input name="until" type="datetime-local" value="${input.until ?? ''}"></label>
<button type="submit">Search</button> <a href="${BASE}">Clear</a>
</form>`;
  }

  private async search(req: ExpressRequest, res: Response, s: Session, userId: string): Promise<void> {
    const f = parseFilters(req.query);
    if ('error' in f) return this.badRequest(res, s, f.error);
    const reader = this.app.services.auditReader;
    const { records, total, scope } = await reader.search(userId, { ...f.filter, limit: PAGE_SIZE });
    const { beforeId: _b, ...chartFilter } = f.filter;
    const chart = await reader.histogram(userId, chartFilter);
    const newest = records.at(-1);
    const oldest = records[0];
    const shown = [...records].reverse(); // newest first on screen
    const body = html`<h1>Audit log</h1>
<p class="legend">Scope: ${scope.all ? 'every VM' : scope.scopes.join(', ')} · ${plural(total, 'matching record')}${f.filter.beforeId ? html` older than #${f.filter.beforeId}` : ''}</p>
${this.filterForm(f.input)}
${chartSvg(chart.buckets, chart.bucketMs)}
<div class="bar"><span>${records.length ? html`Showing #${newest!.id} … #${oldest!.id}, newest first` : 'No records match.'}</span>
${f.filter.beforeId ? html`<a href="${BASE}${qs(f.input)}">← Newest</a>` : raw('')}
${records.length === PAGE_SIZE ? html`<a href="${BASE}${qs(f.input, { before: oldest!.id })}" rel="next">Older →</a>` : raw('')}
<span>Export this filter:</span><a href="${BASE}/export.csv${qs(f.input)}">CSV</a><a href="${BASE}/export.jsonl${qs(f.input)}">JSON Lines</a></div>
${recordsTable(BASE, shown)}`;
    res.type('html').send(page(this.layout(s, 'Search', 'search'), body));
  }

  private async record(req: ExpressRequest, res: Response, s: Session, userId: string): Promise<void> {
    const id = Number(req.params.id);
    const reader = this.app.services.auditReader;
    const rec = Number.isSafeInteger(id) && id > 0 ? await reader.record(userId, id) : null;
    if (!rec) return void res.status(404).type('html').send(page(this.layout(s, 'No such record'), html`<h1>No such record</h1><p>No record #${req.params.id} among the VMs you audit.</p>`));
    const pair = await reader.pairOf(userId, rec);
    const [intent, result] = rec.kind === 'intent' ? [rec, pair] : rec.kind === 'result' ? [pair, rec] : [null, null];
    const matched = (rec.details as { matched?: { index: number; role: string; scope: string; via: string } } | null)?.matched ?? (intent?.details as typeof rec.details & { matched?: never })?.matched;
    const card = (title: string, r: AuditRecord | null) =>
      r
        ? html`<div class="card"><h2>${title}: <a href="${BASE}/record/${r.id}">#${r.id}</a></h2><dl class="kv">${(['time', 'kind', 'principal', 'user', 'channel', 'command', 'operation', 'vm', 'host', 'decision', 'reason', 'outcome', 'error', 'correlationId', 'intentId'] as const).map(
            (k) => html`<dt>${k}</dt><dd>${k === 'correlationId' ? html`<a href="${BASE}/trail/${encodeURIComponent(r.correlationId)}">${r.correlationId}</a>` : k === 'outcome' ? html`<span class="outcome-${r.outcome ?? ''}">${r.outcome ?? '–'}</span>` : (r[k] ?? '–')}</dd>`,
          )}<dt>prev</dt><dd class="hash">${r.prev}</dd><dt>hash</dt><dd class="hash">${r.hash}</dd></dl>${r.details ? html`<h2>Details</h2><pre>${JSON.stringify(r.details, null, 2)}</pre>` : raw('')}</div>`
        : html`<div class="card"><h2>${title}</h2><p>${title === 'Result' ? 'No result recorded (yet): the outcome is unknown until one is written.' : '–'}</p></div>`;
    const body = html`<h1>Audit record #${rec.id}</h1>
<dl class="kv"><dt>Decision</dt><dd><span class="outcome-${rec.decision === 'deny' ? 'denied' : 'ok'}">${rec.decision ?? '–'}</span> ${rec.reason ? html`— ${rec.reason}` : raw('')}</dd>
<dt>Matched assignment</dt><dd>${matched ? describeGrant(matched) : 'none'}</dd>
<dt>Trail</dt><dd><a href="${BASE}/trail/${encodeURIComponent(rec.correlationId)}">${rec.correlationId}</a></dd></dl>
${intent || result ? html`<h2>Intent and result</h2><div class="pair">${card('Intent', intent)}${card('Result', result)}</div>` : card('Record', rec)}`;
    res.type('html').send(page(this.layout(s, `Record #${rec.id}`), body));
  }

  private async trail(req: ExpressRequest, res: Response, s: Session, userId: string): Promise<void> {
    const cid = String(req.params.cid).slice(0, 100);
    const records = await this.app.services.auditReader.trail(userId, cid);
    const body = records.length
      ? html`<h1>Trail of ${cid}</h1><p class="legend">${plural(records.length, 'record')}, oldest first: every step of this request or grant.</p>${recordsTable(BASE, records)}`
      : html`<h1>Trail of ${cid}</h1><p>No records for ${cid} among the VMs you audit.</p>`;
    res.status(records.length ? 200 : 404).type('html').send(page(this.layout(s, `Trail ${cid}`), body));
  }

  private async chain(_req: ExpressRequest, res: Response, s: Session): Promise<void> {
    const c = await this.app.services.auditReader.chain();
    const broken = !!(c.chainBreak || c.skipped.length);
    let checkpoints: Html = html`<p>No checkpoints file.</p>`;
    try {
      const found = readCheckpoints(checkpointsFile(this.app.config)).found.slice(-20).reverse();
      if (found.length)
        checkpoints = html`<table><thead><tr><th>Records</th><th>Head hash</th><th>Time</th><th>Key</th></tr></thead><tbody>${found.map(
          ({ cp }) => html`<tr><td class="num">${cp.records}</td><td class="hash">${cp.head}</td><td>${cp.time}</td><td class="hash">${cp.keyId}</td></tr>`,
        )}</tbody></table><p class="legend">The newest 20 signed checkpoints. Their signatures are checked by <code>vmbot audit verify --pubkey</code> with the public key kept away from this host.</p>`;
    } catch {
      /* no checkpoints configured or readable: say so above */
    }
    const body = html`<h1>Chain status</h1>
<dl class="kv"><dt>State</dt><dd class="${broken ? 'state-broken' : 'state-intact'}">${broken ? 'BROKEN' : 'intact'}</dd>
<dt>Verified up to</dt><dd>record #${c.checkedUpTo} (each record's bytes hash-checked and linked to the one before, as <code>vmbot audit verify</code> checks them)</dd>
<dt>Head</dt><dd>${c.head ? html`#${c.head.id} <span class="hash">${c.head.hash}</span>` : 'empty log'}</dd>
<dt>Writer</dt><dd>${c.writerHead ? html`#${c.writerHead.id} <span class="hash">${c.writerHead.hash}</span>` : '–'}</dd></dl>
${c.chainBreak ? html`<p class="error">Broken at record #${c.chainBreak.id} (${c.chainBreak.file} line ${c.chainBreak.line}): it ${c.chainBreak.reason}.</p>` : raw('')}
${c.skipped.map((x) => html`<p class="error">Damaged: ${x.id !== null ? `record #${x.id}` : 'a line'} (${x.file} line ${x.line}): ${x.reason}.</p>`)}
<h2>Checkpoints</h2>${checkpoints}`;
    res.type('html').send(page(this.layout(s, 'Chain', 'chain'), body));
  }

  private async access(_req: ExpressRequest, res: Response, s: Session, userId: string): Promise<void> {
    const ev = this.app.policy();
    const inventory = (await this.app.backend.list()).map(({ name, host }) => ({ name, host }));
    // The report covers the VMs this auditor audits (Read Audit Log on the VM, as for records).
    const mine = inventory.filter((vm) => authorize(ev, userId, { kind: 'vm', vm, operations: [READ_AUDIT_LOG], requireHost: true }).allow);
    const rows = accessReport(ev, mine);
    const body = html`<h1>Access review</h1>
<p class="legend">Who may do which operation on which VM, and the assignment that grants it: ${rows.length} permissions over ${mine.length} VM(s) of your audit scope, decided by the same policy evaluator as every request. Same as <code>vmbot policy access</code>.</p>
<table><thead><tr><th>User</th><th>VM</th><th>Host</th><th>Operation</th><th>Granted by</th></tr></thead><tbody>${rows.map(
      (r) => html`<tr><td>${r.user}${r.displayName ? html` <span class="legend">(${r.displayName})</span>` : raw('')}</td><td>${r.vm}</td><td>${r.host}</td><td>${r.operation}${r.turnOff ? ' (incl. turn-off)' : ''}</td><td>${describeGrant(r.assignment)}</td></tr>`,
    )}</tbody></table>`;
    res.type('html').send(page(this.layout(s, 'Access review', 'access'), body));
  }

  private async export(req: ExpressRequest, res: Response, s: Session, userId: string, format: 'csv' | 'jsonl'): Promise<void> {
    const f = parseFilters(req.query);
    if ('error' in f) return this.badRequest(res, s, f.error);
    const { beforeId, ...filter } = f.filter;
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    res.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.set('Content-Disposition', `attachment; filename="vmbot-audit-${stamp}.${format}"`);
    let first = true;
    for await (const pageRecords of this.app.services.auditReader.all(userId, filter)) {
      const rows = beforeId ? pageRecords.filter((r) => r.id < beforeId) : pageRecords;
      if (format === 'csv') {
        const csv = toCsv(rows);
        res.write(first ? csv : csv.slice(csv.indexOf('\n') + 1));
      } else res.write(rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
      first = false;
    }
    if (first && format === 'csv') res.write(toCsv([]));
    res.end();
  }
}
