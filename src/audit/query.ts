import { z } from 'zod';
import { csvCell } from '../core/csv';
import { AuditKind, AuditOutcome, GENESIS_HASH, type AuditRecord } from './record';
import { checkLine } from './chain';
import { scanLines } from './lines';
import { listSegments } from './segments';

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

/** A line a query left out, and why (`audit verify` says more). */
export interface QuerySkip {
  file: string;
  line: number;
  id: number | null;
  reason: string;
}

export interface QueryResult {
  records: AuditRecord[];
  /** Records not shown because their bytes are not the ones that were hashed. */
  skipped: QuerySkip[];
  /** The first place where a record does not link to the one before it (results past it are unproven). */
  chainBreak: QuerySkip | null;
}

/**
 * Matching records, oldest first; with a limit, the newest `limit` of them. Every line goes
 * through the same check as `audit verify`: a record whose bytes were changed after writing
 * (a forged field, an edit) is never shown, only listed in `skipped`.
 */
export async function queryAuditDetailed(dir: string, q: AuditQuery): Promise<QueryResult> {
  const out: AuditRecord[] = [];
  const skipped: QuerySkip[] = [];
  let chainBreak: QuerySkip | null = null;
  let prev: AuditRecord | null = null;
  for (const seg of listSegments(dir)) {
    await scanLines(seg.file, ({ buf, start, end, line }) => {
      const c = checkLine(buf, start, end);
      if (!c.ok) {
        skipped.push({ file: seg.file, line, id: c.id, reason: c.reason });
        return;
      }
      const r = c.rec;
      if (!chainBreak && !skipped.length && (r.id !== (prev?.id ?? 0) + 1 || r.prev !== (prev?.hash ?? GENESIS_HASH)))
        chainBreak = { file: seg.file, line, id: r.id, reason: 'does not link to the record before it' };
      prev = r;
      if (r.kind === 'segment' || !matches(r, q)) return;
      out.push(r);
      if (q.limit && out.length > q.limit) out.shift();
    });
  }
  return { records: out, skipped, chainBreak };
}

/** Matching records, oldest first (see queryAuditDetailed; records that fail their check are left out). */
export async function queryAudit(dir: string, q: AuditQuery): Promise<AuditRecord[]> {
  return (await queryAuditDetailed(dir, q)).records;
}

const CSV_COLUMNS = ['id', 'time', 'kind', 'principal', 'user', 'channel', 'command', 'operation', 'vm', 'host', 'decision', 'reason', 'outcome', 'error', 'correlationId', 'intentId', 'details', 'prev', 'hash'] as const;

export function toCsv(records: AuditRecord[]): string {
  // details (matched assignment, VM state, stop mode…) as compact JSON in its own column.
  const rows = records.map((r) => CSV_COLUMNS.map((c) => csvCell(c === 'details' ? (r.details ? JSON.stringify(r.details) : null) : r[c])).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}
