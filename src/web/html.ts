import type { HistogramBucket } from '../audit/index/index';
import type { AuditRecord } from '../audit/record';

/** Escape text for HTML content and attribute values: every page builds on this alone. */
export const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!);

/** A tagged template whose interpolations are escaped, except Html values (already safe). */
export class Html {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
}
export const raw = (s: string) => new Html(s);
export function html(parts: TemplateStringsArray, ...values: unknown[]): Html {
  let out = parts[0]!;
  values.forEach((v, i) => {
    out += (Array.isArray(v) ? v.map((x) => (x instanceof Html ? x.text : esc(x))).join('') : v instanceof Html ? v.text : esc(v)) + parts[i + 1]!;
  });
  return new Html(out);
}

export const STYLE = `
:root { --fg:#1b1f24; --muted:#5b6570; --line:#d8dde3; --bg:#f6f8fa; --accent:#0b5cad; --deny:#b3261e; --ok:#1e7d34; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:#fff; }
header { display:flex; align-items:center; gap:24px; padding:10px 24px; background:#102a43; color:#fff; }
header a { color:#dbe7f3; text-decoration:none; }
header a:hover, header a.on { color:#fff; text-decoration:underline; }
header .who { margin-left:auto; display:flex; gap:12px; align-items:center; color:#c8d6e5; }
header form { margin:0; }
header button { background:none; border:1px solid #7a93ad; color:#fff; border-radius:4px; padding:2px 10px; cursor:pointer; }
main { padding:16px 24px 40px; max-width:1400px; }
h1 { font-size:20px; margin:4px 0 12px; }
h2 { font-size:16px; margin:20px 0 8px; }
form.filters { display:flex; flex-wrap:wrap; gap:8px 12px; align-items:flex-end; padding:12px; background:var(--bg); border:1px solid var(--line); border-radius:6px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); }
form.filters input, form.filters select { font:inherit; padding:4px 6px; border:1px solid #b8c2cc; border-radius:4px; min-width:120px; }
form.filters button { font:inherit; padding:5px 16px; background:var(--accent); color:#fff; border:0; border-radius:4px; cursor:pointer; }
table { border-collapse:collapse; width:100%; margin-top:8px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:var(--bg); font-weight:600; font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
td.num { font-variant-numeric:tabular-nums; white-space:nowrap; }
td.reason { color:var(--muted); max-width:420px; }
a { color:var(--accent); }
.outcome-denied, .state-broken { color:var(--deny); font-weight:600; }
.outcome-ok, .state-intact { color:var(--ok); font-weight:600; }
.bar { display:flex; gap:16px; align-items:center; margin:10px 0; color:var(--muted); }
.bar a { white-space:nowrap; }
.hash { font-family:ui-monospace, Consolas, monospace; font-size:12px; word-break:break-all; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; }
dl.kv dt { color:var(--muted); }
dl.kv dd { margin:0; }
.pair { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.card { border:1px solid var(--line); border-radius:6px; padding:12px; }
pre { background:var(--bg); padding:8px; border-radius:4px; overflow:auto; font-size:12px; }
.chart { margin:12px 0 4px; }
.legend { font-size:12px; color:var(--muted); }
.legend .all { color:#6b8fb5; } .legend .den { color:var(--deny); }
.error { color:var(--deny); }
`;

export interface Layout {
  title: string;
  user?: { id: string; name: string; csrf: string };
  active?: 'search' | 'chain' | 'access';
  base: string;
}

export function page(l: Layout, body: Html): string {
  const nav = (key: Layout['active'], href: string, label: string) => html`<a href="${href}" class="${l.active === key ? 'on' : ''}">${label}</a>`;
  return `<!doctype html>
${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${l.title} · vmbot audit</title><link rel="stylesheet" href="${l.base}/static/style.css"></head>
<body><header><strong>vmbot audit</strong>
${l.user ? html`<nav>${nav('search', `${l.base}`, 'Search')} &nbsp; ${nav('chain', `${l.base}/chain`, 'Chain')} &nbsp; ${nav('access', `${l.base}/access`, 'Access review')}</nav>
<div class="who"><span>${l.user.name}</span><form method="post" action="${l.base}/logout"><input type="hidden" name="csrf" value="${l.user.csrf}"><button type="submit">Sign out</button></form></div>` : raw('')}
</header><main>${body}</main></body></html>`.text}`;
}

export const outcomeCell = (r: AuditRecord) => {
  const o = r.outcome ?? r.decision ?? '';
  return html`<span class="outcome-${o}">${o || '–'}</span>`;
};

export function recordsTable(base: string, records: readonly AuditRecord[]): Html {
  if (!records.length) return html`<p>No records.</p>`;
  return html`<table><thead><tr><th>#</th><th>Time (UTC)</th><th>Kind</th><th>User</th><th>Operation</th><th>VM</th><th>Host</th><th>Outcome</th><th>Reason</th><th>Trail</th></tr></thead><tbody>
${records.map(
  (r) => html`<tr><td class="num"><a href="${base}/record/${r.id}">${r.id}</a></td><td class="num">${r.time.slice(0, 19).replace('T', ' ')}</td><td>${r.kind}</td><td>${r.user ?? r.principal ?? '–'}</td><td>${r.operation ?? r.command ?? '–'}</td><td>${r.vm ?? '–'}</td><td>${r.host ?? ''}</td><td>${outcomeCell(r)}</td><td class="reason">${r.reason ?? r.error ?? ''}</td><td><a href="${base}/trail/${encodeURIComponent(r.correlationId)}">${r.correlationId}</a></td></tr>
`,
)}</tbody></table>`;
}

const DAY = 86_400_000;
const label = (t: number, bucketMs: number) => new Date(t).toISOString().slice(0, bucketMs >= DAY ? 10 : 16).replace('T', ' ');

/**
 * Actions and denials over time as a server-rendered SVG bar chart: one bar per bucket (all
 * records), the denials drawn over it in red. Presentation attributes only, so the strict CSP
 * (no inline style) holds; a <title> per bar gives the figures on hover and to screen readers.
 */
export function chartSvg(buckets: readonly HistogramBucket[], bucketMs: number): Html {
  if (!buckets.length) return html`<p class="legend">No records to chart.</p>`;
  const W = 960;
  const H = 160;
  const padL = 44;
  const padB = 22;
  const first = buckets[0]!.t;
  const last = buckets[buckets.length - 1]!.t;
  // At least 24 slots: a burst within one bucket is one narrow bar, not a wall.
  const slots = Math.max(24, Math.round((last - first) / bucketMs) + 1);
  const max = Math.max(...buckets.map((b) => b.total));
  const bw = (W - padL) / slots;
  const y = (v: number) => (H - padB) - (v / max) * (H - padB - 8);
  const bars = buckets.map((b) => {
    const x = padL + Math.round((b.t - first) / bucketMs) * bw;
    const w = Math.max(1, bw - 1);
    return html`<g><title>${label(b.t, bucketMs)}: ${b.total} records, ${b.denied} denied</title><rect x="${x.toFixed(1)}" y="${y(b.total).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - padB - y(b.total)).toFixed(1)}" fill="#8fb1d3"></rect>${
      b.denied ? html`<rect x="${x.toFixed(1)}" y="${y(b.denied).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - padB - y(b.denied)).toFixed(1)}" fill="#b3261e"></rect>` : raw('')
    }</g>`;
  });
  const per = bucketMs >= DAY ? `${bucketMs / DAY} day` : bucketMs >= 3_600_000 ? `${bucketMs / 3_600_000} h` : `${bucketMs / 60_000} min`;
  return html`<div class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" height="${H}" role="img" aria-label="Actions and denials over time">
<line x1="${padL}" y1="${H - padB}" x2="${W}" y2="${H - padB}" stroke="#9aa5b1"></line>
<text x="${padL - 6}" y="14" text-anchor="end" font-size="11" fill="#5b6570">${max}</text><text x="${padL - 6}" y="${H - padB}" text-anchor="end" font-size="11" fill="#5b6570">0</text>
${bars}
<text x="${padL}" y="${H - 6}" font-size="11" fill="#5b6570">${label(first, bucketMs)}</text><text x="${W}" y="${H - 6}" text-anchor="end" font-size="11" fill="#5b6570">${label(first + (slots - 1) * bucketMs, bucketMs)}</text>
</svg><div class="legend"><span class="all">■</span> all records &nbsp; <span class="den">■</span> denied &nbsp; (per ${per}, UTC)</div></div>`;
}
