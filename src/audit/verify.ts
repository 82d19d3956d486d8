import { walkChain, type WalkOptions, type WalkResult } from './chain';

export type VerifyResult = WalkResult;

/**
 * Walk every segment (or, with `resume`, from a trusted checkpoint on): each record's bytes
 * must match its hash, carry the next id, name the previous record's hash, and meet every
 * anchor (signed checkpoint) given. Edited, extended, deleted, inserted and reordered records
 * break one of these at the first place they touch; see chain.ts.
 */
export function verifyAudit(dir: string, opts: WalkOptions = {}): Promise<VerifyResult> {
  return walkChain(dir, opts);
}
