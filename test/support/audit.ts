import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from '../../src/audit/record';
import { listSegments } from '../../src/audit/segments';

/** Every record of a data dir's audit log, in file order (segment headers included). */
export function readAuditRecords(dataDir: string): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const seg of listSegments(join(dataDir, 'audit')))
    for (const line of readFileSync(seg.file, 'utf8').split('\n')) if (line.length) out.push(JSON.parse(line) as AuditRecord);
  return out;
}

/** The raw text of every segment, concatenated. */
export function readAuditText(dataDir: string): string {
  return listSegments(join(dataDir, 'audit')).map((s) => readFileSync(s.file, 'utf8')).join('');
}

/** The records of one request: everything sharing the correlation id of record `auditId`. */
export function recordsOf(dataDir: string, auditId: number | undefined): AuditRecord[] {
  const all = readAuditRecords(dataDir);
  const last = all.find((r) => r.id === auditId);
  if (!last) throw new Error(`audit record ${auditId} is not in the log`);
  return all.filter((r) => r.correlationId === last.correlationId);
}
