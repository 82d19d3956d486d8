import { createPublicKey, type KeyObject } from 'node:crypto';
import { walkChain, type WalkResult } from './chain';
import { anchorOf, checkCheckpointSignature, readCheckpoints, type Checkpoint } from './checkpoint';
import { listSegments } from './segments';

export interface StartupCheck extends WalkResult {
  /** The checkpoint the check linked to (the newest one signed by the bot's own key), if any. */
  checkpoint: Checkpoint | null;
}

/**
 * What start-up verifies before serving: the last segment from its first record, and — when a
 * signing key and a checkpoint by it exist — the link from the newest checkpoint to the head
 * (so a cut tail, a removed last segment or a rewrite since then stops the bot). Older segments
 * are left to `audit verify`, so start-up costs the same at 1M records as at 1k. Checkpoints by
 * other keys (before a rotation) are skipped here: only their public keys can check them.
 */
export async function verifyAtStartup(auditDir: string, opts: { key?: KeyObject; keyId?: string; checkpointsFile?: string } = {}): Promise<StartupCheck> {
  let checkpoint: Checkpoint | null = null;
  let refused: string | null = null;
  if (opts.key && opts.keyId && opts.checkpointsFile) {
    const keys = new Map([[opts.keyId, createPublicKey(opts.key)]]);
    for (const { cp, file, line } of readCheckpoints(opts.checkpointsFile).found) {
      if (cp.keyId !== opts.keyId) continue;
      const bad = checkCheckpointSignature(cp, keys);
      if (bad) refused ??= `${file} line ${line}: a checkpoint for record #${cp.records} claims the bot's key but ${bad.replace(/: refused$/, '')}`;
      else if (!checkpoint || cp.records > checkpoint.records) checkpoint = cp;
    }
  }
  const segments = listSegments(auditDir);
  const lastN = segments.length ? segments[segments.length - 1]!.n : 0;
  const walk = checkpoint && checkpoint.segment < lastN
    ? await walkChain(auditDir, { resume: { records: checkpoint.records, head: checkpoint.head, segment: checkpoint.segment } })
    : await walkChain(auditDir, { lastSegmentOnly: true, anchors: checkpoint ? [anchorOf(checkpoint)] : [] });
  if (refused) return { ...walk, ok: false, broken: walk.broken ?? { file: opts.checkpointsFile!, line: 0, id: null, reason: refused }, checkpoint };
  return { ...walk, checkpoint };
}

/** One sentence for an operator: where the chain is broken or what is missing. */
export function describeFailure(r: WalkResult): string {
  if (r.broken) return `${r.broken.file}${r.broken.line ? ` line ${r.broken.line}` : ''}${r.broken.id !== null ? ` (record #${r.broken.id})` : ''}: ${r.broken.reason}`;
  if (r.missing) return r.missing.reason;
  return 'verified';
}
