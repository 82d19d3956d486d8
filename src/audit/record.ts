import { z } from 'zod';
import { canonicalJson, sha256 } from '../core/hash';

export const GENESIS_HASH = '0'.repeat(64);

export const AuditKind = z.enum(['intent', 'result', 'decision', 'event', 'segment']);
export const AuditOutcome = z.enum(['ok', 'failed', 'unknown', 'denied', 'invalid', 'pending']);

/** What a caller supplies; the log adds id, time, prev and hash. */
export const AuditEntrySchema = z.object({
  kind: AuditKind,
  principal: z.string().nullable().default(null),
  user: z.string().nullable().default(null),
  channel: z.string().nullable().default(null),
  command: z.string().nullable().default(null),
  operation: z.string().nullable().default(null),
  vm: z.string().nullable().default(null),
  host: z.string().nullable().default(null),
  decision: z.enum(['allow', 'deny']).nullable().default(null),
  reason: z.string().nullable().default(null),
  outcome: AuditOutcome.nullable().default(null),
  error: z.string().nullable().default(null),
  correlationId: z.string(),
  /** A result's intent. */
  intentId: z.number().int().nullable().default(null),
  details: z.record(z.string(), z.unknown()).nullable().default(null),
});
export type AuditEntryInput = z.input<typeof AuditEntrySchema>;

export const AuditRecordSchema = AuditEntrySchema.extend({
  /** Sequence number: 1, 2, 3… across all segments. */
  id: z.number().int().positive(),
  time: z.string(),
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/** What a collector's envelope names of a record (the record itself travels as its line). */
export type RecordHead = Pick<AuditRecord, 'id' | 'time' | 'hash' | 'kind' | 'outcome' | 'operation'>;
export const headOf = (r: AuditRecord): RecordHead => ({ id: r.id, time: r.time, hash: r.hash, kind: r.kind, outcome: r.outcome, operation: r.operation });

/** SHA-256 over the canonical form of everything but the hash itself (prev included). */
export function hashRecord(rec: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _h, ...body } = rec as AuditRecord;
  return sha256(canonicalJson(body));
}
