import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { AuditKind, AuditOutcome, GENESIS_HASH, type AuditRecord } from './record';
import { scanLines, type LineAt } from './lines';
import { listSegments, segmentName } from './segments';

/**
 * The one reading of the audit log that everything trusts: `audit verify`, start-up, queries and
 * the SIEM forwarder all take records through checkLine(), so none of them can be shown a record
 * whose bytes differ from what was hashed.
 *
 * The writer puts on disk exactly the canonical JSON it hashed, with `,"hash":"<hex>"}` in place
 * of the closing brace. So a record is genuine iff SHA-256 of (line without that suffix) + "}"
 * equals the hash in the suffix: any added, removed or changed byte — a new field, a dropped
 * null, whitespace, a re-spelled escape — fails, without re-serialising anything.
 */

const SUFFIX = ',"hash":"'.length + 64 + '"}'.length;
const SUFFIX_HEAD = Buffer.from(',"hash":"', 'latin1');
const COMMA = 0x2c;
const CLOSE = 0x7d;

type FieldCheck = (v: unknown) => boolean;
const str: FieldCheck = (v) => typeof v === 'string';
const strOrNull: FieldCheck = (v) => v === null || typeof v === 'string';
const oneOf = (values: readonly string[]): FieldCheck => (v) => typeof v === 'string' && values.includes(v);
const positiveInt: FieldCheck = (v) => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * Every field of a record and what it may hold: nothing more, nothing less. `hash` and `prev`
 * need no format check of their own: the hash must equal a SHA-256 hex digest, and the walk
 * compares each `prev` with the previous record's hash.
 */
const FIELDS: Record<keyof AuditRecord, FieldCheck> = {
  channel: strOrNull, command: strOrNull, correlationId: str,
  decision: (v) => v === null || v === 'allow' || v === 'deny',
  details: (v) => v === null || (typeof v === 'object' && !Array.isArray(v)),
  error: strOrNull, hash: str, host: strOrNull, id: positiveInt,
  intentId: (v) => v === null || positiveInt(v), kind: oneOf(AuditKind.options),
  operation: strOrNull, outcome: (v) => v === null || oneOf(AuditOutcome.options)(v),
  prev: str, principal: strOrNull, reason: strOrNull,
  time: str, user: strOrNull, vm: strOrNull,
};
const FIELD_MAP = new Map<string, FieldCheck>(Object.entries(FIELDS));
const FIELD_COUNT = FIELD_MAP.size;

export type LineCheck = { ok: true; rec: AuditRecord } | { ok: false; id: number | null; reason: string };

/** Parse one line and prove its bytes are the ones that were hashed. (The hot loop of `audit verify`.) */
export function checkLine(buf: Buffer, start: number, end: number): LineCheck {
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8', start, end));
  } catch {
    return { ok: false, id: null, reason: 'not valid JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, id: null, reason: 'not an audit record' };
  const o = raw as Record<string, unknown>;
  const id = positiveInt(o.id) ? (o.id as number) : null;
  let n = 0;
  for (const k in o) {
    const check = FIELD_MAP.get(k);
    if (!check) return { ok: false, id, reason: `unknown field "${k}" (added after the record was written)` };
    if (!check(o[k])) return { ok: false, id, reason: `field "${k}" does not hold what an audit record holds` };
    n++;
  }
  if (n !== FIELD_COUNT) {
    const gone = [...FIELD_MAP.keys()].find((k) => !(k in o));
    return { ok: false, id, reason: `field "${gone}" missing (removed after the record was written)` };
  }
  const hash = o.hash as string;
  const body = end - SUFFIX; // where `,"hash":"` starts: the writer's closing brace stood here
  if (end - start <= SUFFIX || buf[end - 1] !== CLOSE || buf.compare(SUFFIX_HEAD, 0, SUFFIX_HEAD.length, body, body + SUFFIX_HEAD.length) !== 0 || buf.toString('latin1', end - 66, end - 2) !== hash)
    return { ok: false, id, reason: 'its bytes are not as written: the hash is not where the writer puts it (edited)' };
  // Hash the bytes as written with the closing brace put back in place (restored at once).
  buf[body] = CLOSE;
  const h = createHash('sha256').update(buf.subarray(start, body + 1)).digest('hex');
  buf[body] = COMMA;
  if (h !== hash) return { ok: false, id, reason: 'its bytes do not match its hash (edited after it was written)' };
  return { ok: true, rec: o as AuditRecord };
}

/** A signed head the walk must meet: record `records` must have hash `head`. */
export interface Anchor {
  records: number;
  head: string;
  /** The segment that held record `records` when it was signed. */
  segment?: number;
  /** How to name it in a message ("checkpoint of 2026-12-01T10:00:00Z by key ab12…"). */
  label: string;
}

export interface WalkOptions {
  /**
   * Start at this anchor instead of record 1: reading begins in the segment that holds it
   * (`segment`), records before it are hash-checked but not chained, and the anchor's own
   * record must carry the anchored hash. The anchor must be one the caller trusts (a verified
   * checkpoint signature).
   */
  resume?: { records: number; head: string; segment: number };
  /** Start at the first record of the last segment, trusting its `prev` (start-up). */
  lastSegmentOnly?: boolean;
  /** Heads to meet on the way (verified checkpoints), by record number. */
  anchors?: Anchor[];
  /** Each genuine record, in order, after its checks passed; a returned text breaks the walk there, as the reason. */
  onRecord?: (rec: AuditRecord) => string | void;
  /** Bytes read and total bytes to read. */
  onProgress?: (done: number, total: number) => void;
}

export interface Broken {
  file: string;
  line: number;
  id: number | null;
  reason: string;
}

export interface WalkResult {
  ok: boolean;
  /** Records that verified (from the start of the walk). */
  records: number;
  head: { id: number; hash: string };
  /** The first record that does not fit the chain, and why. */
  broken?: Broken;
  /** The record the walk started after (0 = from the beginning). */
  from: number;
  /** Segment files read, and files that look like renamed segments. */
  segments: string[];
  strays: string[];
  /** Anchors met (their record was present with the signed hash). */
  anchorsMet: number;
  /** Anchors beyond the end of the log: records that were there when signed and are gone now. */
  missing?: { from: number; to: number; anchor: Anchor; lastSegment: string | null; reason: string };
}

/** Files in the audit directory that are not segments but are named like one (audit-*). */
function strayFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const segs = new Set(listSegments(dir).map((s) => basename(s.file)));
  return names.filter((n) => /^audit-/i.test(n) && !segs.has(n)).sort();
}

/**
 * Walk the chain: each record's bytes match its hash, it carries the next id, names the
 * previous record's hash, and segments follow one another with no gap. Edited, extended,
 * deleted, inserted and reordered records break one of these at the first place they touch;
 * a cut tail or a removed last segment shows only against an anchor (a signed checkpoint).
 */
export async function walkChain(dir: string, opts: WalkOptions = {}): Promise<WalkResult> {
  let segments = listSegments(dir);
  const strays = strayFiles(dir);
  const anchors = [...(opts.anchors ?? [])].sort((a, b) => a.records - b.records);
  let nextAnchor = 0;
  let anchorsMet = 0;
  let prevHash = GENESIS_HASH;
  let expectedId = 1;
  let records = 0;
  let from = 0;
  let trustFirstPrev = false;
  if (opts.resume) {
    const r = opts.resume;
    const i = segments.findIndex((s) => s.n === r.segment);
    if (i === -1) {
      return {
        ok: false, records: 0, head: { id: 0, hash: GENESIS_HASH }, from: r.records, segments: [], strays, anchorsMet: 0,
        broken: { file: segmentName(r.segment), line: 0, id: r.records, reason: `segment ${segmentName(r.segment)}, which held record #${r.records} when it was checkpointed, is missing (deleted or renamed)` },
      };
    }
    segments = segments.slice(i);
    from = r.records;
    // Records up to the anchor are checked one by one; the anchor's own record must carry its head.
    expectedId = r.records + 1;
    prevHash = r.head;
  } else if (opts.lastSegmentOnly && segments.length > 1) {
    segments = segments.slice(-1);
    trustFirstPrev = true;
  }
  while (nextAnchor < anchors.length && anchors[nextAnchor]!.records <= from) nextAnchor++;

  let total = 0;
  for (const s of segments) total += statSync(s.file).size;
  let done = 0;
  const onBytes = opts.onProgress ? (n: number) => opts.onProgress!((done += n), total) : undefined;

  let broken: Broken | undefined;
  let lastN = opts.resume ? opts.resume.segment - 1 : segments[0] ? segments[0].n - 1 : 0;
  if (!opts.resume && !trustFirstPrev && segments[0] && segments[0].n !== 1)
    broken = { file: segments[0].file, line: 0, id: null, reason: `the log starts at ${basename(segments[0].file)}: segment${segments[0].n > 2 ? 's' : ''} ${segmentName(1)}${segments[0].n > 2 ? `–${segmentName(segments[0].n - 1)}` : ''} missing (deleted or renamed)` };

  const fromHead = opts.resume?.head;
  let resumedAt = !opts.resume || from === 0;
  for (const seg of broken ? [] : segments) {
    const file = seg.file;
    if (seg.n !== lastN + 1) {
      broken = { file, line: 0, id: null, reason: `${basename(file)} follows ${segmentName(lastN)}: segment ${segmentName(lastN + 1)}${seg.n - lastN > 2 ? ` to ${segmentName(seg.n - 1)}` : ''} missing (deleted or renamed)` };
      break;
    }
    lastN = seg.n;
    let first = true;
    const each = (l: LineAt): boolean => {
      const c = checkLine(l.buf, l.start, l.end);
      if (!c.ok) {
        broken = { file, line: l.line, id: c.id, reason: c.reason };
        return false;
      }
      const rec = c.rec;
      const isFirst = first;
      first = false;
      if (isFirst && seg.n > 1 && (rec.kind !== 'segment' || (rec.details as { segment?: unknown } | null)?.segment !== seg.n)) {
        const says = rec.kind === 'segment' ? (rec.details as { segment?: unknown } | null)?.segment : undefined;
        broken = { file, line: l.line, id: rec.id, reason: typeof says === 'number' ? `${basename(file)} holds segment ${says} (its header says so): renamed` : `${basename(file)} does not start with its segment header (records removed from its start, or the file was renamed)` };
        return false;
      }
      if (opts.resume && rec.id <= from) {
        // Before the resume point, inside its segment: only the anchor record itself matters.
        if (rec.id === from && rec.hash !== fromHead) {
          broken = { file, line: l.line, id: rec.id, reason: `record #${rec.id} has changed since it was checkpointed (its hash is not the signed one)` };
          return false;
        }
        if (rec.id === from) resumedAt = true;
        return true;
      }
      if (opts.resume && !resumedAt) {
        broken = { file, line: l.line, id: rec.id, reason: `record #${from}, which the checkpoint signed, is not in ${basename(file)} (deleted or moved)` };
        return false;
      }
      if (trustFirstPrev && isFirst) {
        expectedId = rec.id;
        prevHash = rec.prev;
        from = rec.id - 1;
      }
      if (rec.id !== expectedId) {
        broken = { file, line: l.line, id: rec.id, reason: rec.id > expectedId
          ? `expected record ${expectedId} here, found ${rec.id}: record ${expectedId}${rec.id - expectedId > 1 ? `–${rec.id - 1}` : ''} missing here (deleted or moved)`
          : `id ${rec.id} out of order (expected ${expectedId})` };
        return false;
      }
      if (rec.prev !== prevHash) {
        broken = { file, line: l.line, id: rec.id, reason: 'prev does not match the hash of the record before it (deleted, inserted, reordered or rewritten before it)' };
        return false;
      }
      for (let a = anchors[nextAnchor]; a && a.records === rec.id; a = anchors[++nextAnchor]) {
        if (rec.hash !== a.head) {
          broken = { file, line: l.line, id: rec.id, reason: `record #${rec.id} is not the one the ${a.label} signed: the chain was rewritten and re-hashed at or before #${rec.id}${anchorBefore(anchors, nextAnchor)}` };
          return false;
        }
        anchorsMet++;
      }
      const objection = opts.onRecord?.(rec);
      if (objection) {
        broken = { file, line: l.line, id: rec.id, reason: objection };
        return false;
      }
      prevHash = rec.hash;
      expectedId++;
      records++;
      return true;
    };
    await scanLines(file, each, {
      onBytes,
      onTorn: (l) => void (broken ??= { file, line: l.line, id: null, reason: 'an incomplete last line (a write cut off)' }),
    });
    if (broken) break;
    if (opts.resume && !resumedAt) {
      broken = { file, line: 0, id: from, reason: `record #${from}, which the checkpoint signed, is not in ${basename(file)} (deleted or moved)` };
      break;
    }
  }
  const head = { id: expectedId - 1, hash: prevHash };
  const result: WalkResult = { ok: !broken, records, head, broken, from, segments: segments.map((s) => s.file), strays, anchorsMet };
  if (!broken && nextAnchor < anchors.length) {
    const last = anchors[anchors.length - 1]!;
    const lastSegN = segments.length ? segments[segments.length - 1]!.n : 0;
    const lastSeg = lastSegN ? segmentName(lastSegN) : null;
    const range = head.id + 1 === last.records ? `record #${last.records} is` : `records #${head.id + 1}–#${last.records} are`;
    const gone = last.segment !== undefined && last.segment > lastSegN
      ? `segment ${segmentName(last.segment)}${last.segment - lastSegN > 1 ? ` (and every segment after ${lastSeg ?? 'the start'})` : ''}, which held record #${last.records} when it was signed, is missing: deleted or renamed${strays.length ? ` (the directory holds ${strays.join(', ')}: renamed?)` : ''}`
      : `the tail of ${lastSeg ?? 'the log'} was cut: it ends at #${head.id}`;
    result.ok = false;
    result.missing = {
      from: head.id + 1, to: last.records, anchor: last, lastSegment: lastSeg,
      reason: `${range} missing — the ${last.label} covers #${last.records}; ${gone}`,
    };
  }
  return result;
}

/** "(the checkpoint at #N before it still matches)" — narrows where the rewrite began. */
function anchorBefore(anchors: Anchor[], i: number): string {
  for (let j = i - 1; j >= 0; j--) if (anchors[j]!.records < anchors[i]!.records) return `, after #${anchors[j]!.records} (which still matches the ${anchors[j]!.label})`;
  return '';
}
