import { Gauge, type Registry } from 'prom-client';
import type { AuditLog } from './log';
import type { AuditAssurance } from './runtime';

/**
 * Audit assurance gauges for GET /metrics, read at scrape time: how far each SIEM sink is
 * behind the log, and how old the newest signed checkpoint is. Alert on a lag that grows, or
 * a checkpoint age well past VMBOT_AUDIT_CHECKPOINT_SECONDS.
 */
export function registerAuditMetrics(registry: Registry, audit: AuditLog, assurance: AuditAssurance): void {
  new Gauge({
    name: 'vmbot_audit_head_id', help: 'Id of the newest durable audit record', registers: [registry],
    collect() {
      this.set(audit.durable.id);
    },
  });
  new Gauge({
    name: 'vmbot_audit_forward_lag_records', help: 'Audit records not yet delivered to the SIEM sink', labelNames: ['sink'] as const, registers: [registry],
    collect() {
      for (const s of assurance.forwarding()) this.set({ sink: s.sink }, s.lagRecords);
    },
  });
  new Gauge({
    name: 'vmbot_audit_forward_lag_seconds', help: 'Age of the oldest audit record not yet delivered to the SIEM sink (0 when caught up)', labelNames: ['sink'] as const, registers: [registry],
    collect() {
      for (const s of assurance.forwarding()) this.set({ sink: s.sink }, s.lagSeconds);
    },
  });
  new Gauge({
    name: 'vmbot_audit_forward_failing', help: '1 while the last attempt to deliver to the SIEM sink failed', labelNames: ['sink'] as const, registers: [registry],
    collect() {
      for (const s of assurance.forwarding()) this.set({ sink: s.sink }, s.lastError ? 1 : 0);
    },
  });
  if (assurance.checkpointer) {
    const cp = assurance.checkpointer;
    new Gauge({
      name: 'vmbot_audit_checkpoint_age_seconds', help: 'Seconds since this process signed its newest audit checkpoint (absent before the first)', registers: [registry],
      collect() {
        if (cp.last) this.set((Date.now() - Date.parse(cp.last.time)) / 1000);
      },
    });
    new Gauge({
      name: 'vmbot_audit_records_since_checkpoint', help: 'Durable audit records not yet covered by a signed checkpoint', registers: [registry],
      collect() {
        this.set(Math.max(0, audit.durable.id - (cp.last?.records ?? 0)));
      },
    });
  }
}
