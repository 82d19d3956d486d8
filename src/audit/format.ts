import type { AuditRecord } from './record';
import { stateWord } from '../core/text';
import { toCsv } from './query';

/** The output formats `audit query` and `audit export` accept (README lists exactly these). */
export const AUDIT_FORMATS = ['text', 'json', 'jsonl', 'csv'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

/** Stop with -TurnOff is a different act from a graceful shutdown: say which, in the text view. */
function operationOf(r: AuditRecord): string {
  const op = r.operation ?? '-';
  const data = (r.details?.data ?? {}) as { mode?: string };
  const turnOff = data.mode === 'turnoff' || (op === 'Stop Virtual Machine' && /(^|\s)--turnoff(\s|$)/i.test(r.command ?? ''));
  return turnOff ? `${op} (turn off)` : op === 'Stop Virtual Machine' ? `${op} (shutdown)` : op;
}

/** ok, failed, unknown, denied, invalid, pending; a bare decision reads "allowed"/"denied". */
const outcomeOf = (r: AuditRecord) => r.outcome ?? (r.decision === 'deny' ? 'denied' : r.decision === 'allow' ? 'allowed' : '-');

/**
 * One line per record for people. A failed or unknown result shows its error (what went wrong),
 * not the permission reason of the decision before it.
 */
export function auditTextLine(r: AuditRecord): string {
  return `#${r.id} ${r.time} ${r.kind.padEnd(8)} ${(r.user ?? r.principal ?? '-').padEnd(8)} ${recordWords(r)}`;
}

/**
 * "Stop Virtual Machine (turn off) db01 → ok (why)": the same words in the CLI's text view and
 * in chat's `audit`. A request whose desired state already held says so (details.noop).
 */
export function recordWords(r: AuditRecord): string {
  const outcome = outcomeOf(r);
  const noop = r.details?.noop === true && typeof r.details.state === 'string' ? `nothing to do: already ${stateWord(r.details.state)}` : null;
  const why = outcome === 'failed' || outcome === 'unknown' ? r.error ?? r.reason : noop ?? r.reason;
  return `${operationOf(r)}${r.vm ? ` ${r.vm}` : ''} → ${outcome}${why ? ` (${why})` : ''}`;
}

/**
 * The records in one format: `json` is one JSON document (an array), `jsonl` one record a line;
 * an empty result is an empty array, a header-only CSV, and nothing at all as text.
 */
export function formatAuditRecords(records: AuditRecord[], format: AuditFormat): string {
  switch (format) {
    case 'csv':
      return toCsv(records);
    case 'json':
      return `${JSON.stringify(records, null, 2)}\n`;
    case 'jsonl':
      return records.map((r) => `${JSON.stringify(r)}\n`).join('');
    case 'text':
      return records.map((r) => `${auditTextLine(r)}\n`).join('');
  }
}
