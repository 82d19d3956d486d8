import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditLog } from '../audit/log';
import type { AuditEntryInput, AuditRecord } from '../audit/record';
import type { StateStore } from '../state/store';

/**
 * The operator's numbers, in Prometheus format at GET /metrics. They are derived from the audit
 * records as they are appended (every request ends in exactly one decision or result record, and
 * every denial is a `decision: deny` record), so the metrics can never tell a different story
 * from the audit log. One registry per app (tests open several apps in one process).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'vmbot_requests_total', help: 'Requests by command (the audited operation) and status (the audited outcome)',
    labelNames: ['command', 'status'] as const, registers: [this.registry],
  });
  private readonly decisions = new Counter({
    name: 'vmbot_decisions_total', help: 'Authorisation decisions by result (allow, deny)',
    labelNames: ['decision'] as const, registers: [this.registry],
  });
  private readonly actionSeconds = new Histogram({
    name: 'vmbot_action_duration_seconds', help: 'Time from the audited intent to its result (Hyper-V actions, VM creation)',
    labelNames: ['operation', 'outcome'] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300], registers: [this.registry],
  });
  private readonly appendSeconds = new Histogram({
    name: 'vmbot_audit_append_duration_seconds', help: 'Audit append latency (chain, write, fsync)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers: [this.registry],
  });
  private readonly intents = new Map<number, { at: number; operation: string }>();

  constructor(store: StateStore, now: () => number = () => performance.now()) {
    this.now = now;
    new Gauge({
      name: 'vmbot_pending_approvals', help: 'New-VM requests waiting for approval', registers: [this.registry],
      collect() {
        this.set(Object.values(store.data.approvals).filter((r) => r.status === 'pending').length);
      },
    });
    new Gauge({
      name: 'vmbot_active_console_grants', help: 'Console grants in force', registers: [this.registry],
      collect() {
        this.set(Object.values(store.data.consoleGrants).filter((g) => g.status === 'active').length);
      },
    });
  }

  private readonly now: () => number;

  /** Time every append of `audit` and count what it records. */
  instrument(audit: AuditLog): void {
    const append = audit.append.bind(audit);
    // Wrapping the one instance (not the class) keeps the audit module free of metrics.
    audit.append = async (entry: AuditEntryInput): Promise<AuditRecord> => {
      const t0 = this.now();
      const rec = await append(entry);
      this.appendSeconds.observe((this.now() - t0) / 1000);
      this.record(rec, t0);
      return rec;
    };
  }

  private record(rec: AuditRecord, t0: number): void {
    if (rec.decision && (rec.kind === 'decision' || rec.kind === 'intent')) this.decisions.inc({ decision: rec.decision });
    if (rec.kind === 'intent') this.intents.set(rec.id, { at: t0, operation: rec.operation ?? 'unknown' });
    if (rec.kind === 'result' && rec.intentId !== null) {
      const start = this.intents.get(rec.intentId);
      this.intents.delete(rec.intentId);
      if (start) this.actionSeconds.observe({ operation: start.operation, outcome: rec.outcome ?? 'unknown' }, (t0 - start.at) / 1000);
    }
    // The record that ends a request through the pipeline carries the command text.
    if ((rec.kind === 'decision' || rec.kind === 'result') && rec.command !== null)
      this.requests.inc({ command: rec.operation ?? 'unparsed', status: rec.outcome ?? 'unknown' });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
