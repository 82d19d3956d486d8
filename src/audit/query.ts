import { z } from 'zod';
import { AuditKind, AuditOutcome, type AuditRecord } from './record';
import { readLines } from './segments';

export const AuditQuerySchema = z.strictObject({
  user: z.string().optional(),
  vm: z.string().optional(),
  operation: z.string().optional(),
  outcome: AuditOutcome.optional(),
  kind: AuditKind.optional(),
  correlationId: z.string().optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
  limit: z.coerce.number().int().positive().optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

const eq = (a: string | null, b: string | undefined) => b === undefined || (a ?? '').toLowerCase() === b.toLowerCase();

export function matches(r: AuditRecord, q: AuditQuery): boolean {
  if (!eq(r.user, q.user) || !eq(r.vm, q.vm) || !eq(r.operation, q.operation) || !eq(r.correlationId, q.correlationId)) return false;
  if (q.outcome && r.outcome !== q.outcome) return false;
  if (q.kind && r.kind !== q.kind) return false;
  const t = Date.parse(r.time);
  if (q.since && t < q.since.getTime()) return false;
  if (q.until && t > q.until.getTime()) return false;
  return true;
}

/** Matching records, oldest first; with a limit, the newest `limit` of them. */
export async function queryAudit(dir: string, q: AuditQuery): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const { text } of readLines(dir)) {
    let r: AuditRecord;
    try {
      r = JSON.parse(text) as AuditRecord;
    } catch {
      continue; // verify reports damage; a query shows what can be read
    }
    if (r.kind === 'segment' || !matches(r, q)) continue;
    out.push(r);
    if (q.limit && out.length > q.limit) out.shift();
  }
  return out;
}

const CSV_COLUMNS = ['id', 'time', 'kind', 'principal', 'user', 'channel', 'command', 'operation', 'vm', 'host', 'decision', 'reason', 'outcome', 'error', 'correlationId', 'intentId', 'prev', 'hash'] as const;

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote always; neutralise spreadsheet formulas (=, +, -, @) an attacker could type into chat.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
};

export function toCsv(records: AuditRecord[]): string {
  const rows = records.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}
