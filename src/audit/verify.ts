import { AuditRecordSchema, GENESIS_HASH, hashRecord } from './record';
import { readLines } from './segments';

export interface VerifyResult {
  ok: boolean;
  records: number;
  head: { id: number; hash: string };
  /** The first record that does not fit the chain, and why. */
  broken?: { file: string; line: number; id: number | null; reason: string };
}

/**
 * Walk every segment: each record must parse, carry the next id, name the previous record's
 * hash, and hash to what it claims. Edited, deleted, inserted and reordered records all break
 * one of these at the first place they touch.
 */
export async function verifyAudit(dir: string): Promise<VerifyResult> {
  let prevHash = GENESIS_HASH;
  let expectedId = 1;
  let records = 0;
  for await (const { file, line, text } of readLines(dir)) {
    const fail = (id: number | null, reason: string): VerifyResult => ({
      ok: false, records, head: { id: expectedId - 1, hash: prevHash }, broken: { file, line, id, reason },
    });
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return fail(null, 'not valid JSON');
    }
    const parsed = AuditRecordSchema.safeParse(raw);
    if (!parsed.success) return fail(typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : null, 'not an audit record');
    const rec = parsed.data;
    if (rec.id !== expectedId)
      return fail(rec.id, rec.id > expectedId
        ? `expected record ${expectedId} here, found ${rec.id}: record ${expectedId}${rec.id - expectedId > 1 ? `–${rec.id - 1}` : ''} missing here (deleted or moved)`
        : `id ${rec.id} out of order (expected ${expectedId})`);
    if (rec.prev !== prevHash) return fail(rec.id, 'prev does not match the hash of the record before it (deleted, inserted or reordered)');
    if (hashRecord(rec) !== rec.hash) return fail(rec.id, 'content does not match its hash (edited)');
    prevHash = rec.hash;
    expectedId++;
    records++;
  }
  return { ok: true, records, head: { id: expectedId - 1, hash: prevHash } };
}
