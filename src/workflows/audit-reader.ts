import { recordWords } from '../audit/format';
import type { AuditIndex, HistogramBucket, IndexedQuery } from '../audit/index/index';
import type { AuditLog } from '../audit/log';
import type { QuerySkip } from '../audit/query';
import type { AuditRecord } from '../audit/record';
import { authorize } from '../policy/authorize';
import type { PolicyEvaluator } from '../policy/evaluator';

export const READ_AUDIT_LOG = 'Read Audit Log' as const;

/** What an auditor may read: records about VMs of the scopes in which they hold Read Audit Log. */
export interface AuditScope {
  /** Holds Read Audit Log in a scope of every VM on every host: also records about no VM. */
  all: boolean;
  /** Lower-case VM names the log mentions that lie in one of those scopes. */
  vms: string[];
  /** The scopes, for the reply. */
  scopes: string[];
}

export interface ChainState {
  /** Records checked (hash and link to the one before), in log order, by the index as it read them. */
  checkedUpTo: number;
  head: { id: number; hash: string } | null;
  /** The writer's head in this process (what the next record will chain to). */
  writerHead: { id: number; hash: string } | null;
  skipped: QuerySkip[];
  chainBreak: QuerySkip | null;
}

export type AuditFilter = Omit<IndexedQuery, 'vms' | 'withoutVm'>;

/**
 * The auditor's reading of the log, shared by the `audit` chat command and the web view: every
 * answer goes through the index and is cut to the caller's audit scope, decided by the policy
 * evaluator (Read Audit Log on the record's VM, with its host when the record has one).
 */
export class AuditReader {
  constructor(
    private readonly deps: { index: AuditIndex; policy: () => PolicyEvaluator; audit?: AuditLog },
  ) {}

  async scopeOf(userId: string): Promise<AuditScope> {
    await this.deps.index.catchUp(); // the VMs of records written a moment ago count too
    const ev = this.deps.policy();
    const scopes = ev.scopesWith(userId, READ_AUDIT_LOG);
    const all = scopes.some((s) => {
      const def = ev.policy.scopes[s];
      return !!def && !def.hosts && def.vms.includes('*');
    });
    const vms = new Set<string>();
    if (scopes.length && !all)
      for (const { vm, host } of this.deps.index.vmsInLog()) {
        // A record without a host (denied before the lookup) is judged by its VM name alone.
        const d = authorize(ev, userId, { kind: 'vm', vm: host ? { name: vm, host } : { name: vm }, operations: [READ_AUDIT_LOG], requireHost: !!host });
        if (d.allow) vms.add(vm);
      }
    return { all, vms: [...vms], scopes };
  }

  private scoped(scope: AuditScope, q: AuditFilter): IndexedQuery {
    return scope.all ? q : { ...q, vms: scope.vms, withoutVm: false };
  }

  /** A page of matching records (newest `limit`, oldest first) and how many match in all. */
  async search(userId: string, q: AuditFilter & { limit: number }): Promise<{ records: AuditRecord[]; total: number; scope: AuditScope }> {
    const scope = await this.scopeOf(userId);
    const sq = this.scoped(scope, q);
    const { records } = await this.deps.index.query(sq);
    return { records, total: await this.deps.index.count(sq), scope };
  }

  /** Every matching record in the caller's scope, oldest first, a page at a time (exports). */
  async *all(userId: string, q: AuditFilter, page = 5000): AsyncGenerator<AuditRecord[]> {
    const scope = await this.scopeOf(userId);
    let afterId = q.afterId;
    for (;;) {
      const { records } = await this.deps.index.query({ ...this.scoped(scope, { ...q, afterId }), limit: page, oldestFirst: true });
      if (!records.length) return;
      yield records;
      afterId = records[records.length - 1]!.id;
    }
  }

  /** Every record of one request, grant or correlation id, in order; none if outside the scope. */
  async trail(userId: string, correlationId: string): Promise<AuditRecord[]> {
    const scope = await this.scopeOf(userId);
    return (await this.deps.index.query(this.scoped(scope, { correlationId }))).records;
  }

  /** One record, if it is in the caller's scope. */
  async record(userId: string, id: number): Promise<AuditRecord | null> {
    const scope = await this.scopeOf(userId);
    return (await this.deps.index.query(this.scoped(scope, { afterId: id - 1, beforeId: id + 1 }))).records[0] ?? null;
  }

  /** A result's intent, or an intent's result (the pair a reviewer reads together). */
  async pairOf(userId: string, rec: AuditRecord): Promise<AuditRecord | null> {
    if (rec.intentId !== null) return this.record(userId, rec.intentId);
    if (rec.kind !== 'intent') return null;
    return (await this.trail(userId, rec.correlationId)).find((r) => r.intentId === rec.id) ?? null;
  }

  async histogram(userId: string, q: AuditFilter, buckets = 48): Promise<{ buckets: HistogramBucket[]; bucketMs: number }> {
    const scope = await this.scopeOf(userId);
    const sq = this.scoped(scope, q);
    const range = this.deps.index.timeRange(sq);
    if (!range) return { buckets: [], bucketMs: 3_600_000 };
    const from = q.since?.getTime() ?? range.min;
    const to = q.until?.getTime() ?? range.max;
    const steps = [60_000, 300_000, 900_000, 3_600_000, 6 * 3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000];
    const bucketMs = steps.find((s) => (to - from) / s <= buckets) ?? steps[steps.length - 1]!;
    return { buckets: await this.deps.index.histogram(sq, bucketMs), bucketMs };
  }

  /** How far the chain is checked, its head, and any damage (the index checks each line as `audit verify` does). */
  async chain(): Promise<ChainState> {
    await this.deps.index.catchUp();
    const c = this.deps.index.chain();
    return { ...c, writerHead: this.deps.audit ? this.deps.audit.head : null };
  }
}

/** One line per record, for chat and text exports. */
export function recordLine(r: AuditRecord): string {
  const who = r.user ?? r.principal ?? '-';
  // The CLI text view's words (turn-off vs shutdown, a failure's error, no-ops).
  return `#${r.id} ${r.time.slice(0, 19).replace('T', ' ')} ${r.kind} ${who}: ${recordWords(r)} [${r.correlationId}]`;
}
