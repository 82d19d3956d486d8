import type { KeyObject } from 'node:crypto';
import { walkChain, type WalkResult } from './chain';
import { anchorOf, CHECKPOINT_OPERATION, checkCheckpointSignature, checkpointInRecord, readCheckpoints, type Checkpoint } from './checkpoint';

export interface CheckpointReport {
  /** Where checkpoints were read from. */
  sources: string[];
  /** Signed checkpoints found there with a good signature by a given key. */
  verified: number;
  /** Checkpoints refused (unknown key, bad signature), with where they are. */
  refused: { file: string; line: number; reason: string }[];
  /** Checkpoint records inside the log that were checked against the chain. */
  inLog: number;
  /** Lines in the sources that held no checkpoint. */
  ignoredLines: number;
  /** The newest verified checkpoint (external or in the log). */
  last: Checkpoint | null;
  /** Records after the newest checkpoint, not counting checkpoint records themselves: not yet signed. */
  after: number;
  /** Key ids that signed the verified checkpoints. */
  keyIds: string[];
}

export interface AssuredResult extends WalkResult {
  checkpoints: CheckpointReport;
}

export interface AssureOptions {
  keys: Map<string, KeyObject>;
  /** Checkpoint files or directories (missing ones are skipped and not listed). */
  sources: string[];
  /** Verify only from the newest verified checkpoint on (the records before it were verified when it was). */
  resume?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * `audit verify --pubkey`: the chain, plus every signed checkpoint it must meet. With only
 * public keys this proves each checkpointed record is present and unchanged; a cut tail, a
 * removed or renamed last segment and a rewritten-and-re-hashed chain each fail at a named place.
 * Checkpoints by an unknown key or with a bad signature are refused, and fail the verification.
 */
export async function verifyWithCheckpoints(dir: string, opts: AssureOptions): Promise<AssuredResult> {
  const report: CheckpointReport = { sources: [], verified: 0, refused: [], inLog: 0, ignoredLines: 0, last: null, after: 0, keyIds: [] };
  const good = new Map<string, Checkpoint>();
  const keyIds = new Set<string>();
  for (const src of opts.sources) {
    const { found, ignoredLines, files } = readCheckpoints(src);
    report.sources.push(...files);
    report.ignoredLines += ignoredLines;
    for (const { cp, file, line } of found) {
      const bad = checkCheckpointSignature(cp, opts.keys);
      if (bad) report.refused.push({ file, line, reason: `checkpoint for record #${cp.records} (${cp.time}) is ${bad}` });
      else {
        good.set(`${cp.records}:${cp.head}`, cp);
        keyIds.add(cp.keyId);
      }
    }
  }
  const external = [...good.values()].sort((a, b) => a.records - b.records);
  report.verified = external.length;
  const newest = external[external.length - 1] ?? null;
  report.last = newest;

  // In-log checkpoints sign a record just before their own: a short ring of recent hashes suffices.
  const RING = 16;
  const recentIds = new Array<number>(RING).fill(0);
  const recentHashes = new Array<string>(RING).fill('');
  const onRecord = (rec: { id: number; hash: string; operation: string | null; details: Record<string, unknown> | null }): string | void => {
    recentIds[rec.id % RING] = rec.id;
    recentHashes[rec.id % RING] = rec.hash;
    const cp = rec.operation === CHECKPOINT_OPERATION ? checkpointInRecord(rec) : null;
    if (!cp) {
      if (report.last && rec.id > report.last.records) report.after++;
      return;
    }
    const bad = checkCheckpointSignature(cp, opts.keys);
    if (bad) return `the checkpoint logged in this record is ${bad}`;
    const h = recentIds[cp.records % RING] === cp.records ? recentHashes[cp.records % RING] : undefined;
    if (h !== undefined && h !== cp.head) return `the checkpoint logged in this record signed a different record #${cp.records}: the chain was rewritten and re-hashed at or before #${cp.records}`;
    report.inLog++;
    keyIds.add(cp.keyId);
    if (!report.last || cp.records > report.last.records) {
      report.last = cp;
      report.after = 0;
    }
  };
  const walk = await walkChain(dir, {
    anchors: external.map(anchorOf),
    resume: opts.resume && newest ? { records: newest.records, head: newest.head, segment: newest.segment } : undefined,
    onRecord,
    onProgress: opts.onProgress,
  });
  report.keyIds = [...keyIds].sort();
  return { ...walk, ok: walk.ok && report.refused.length === 0, checkpoints: report };
}
