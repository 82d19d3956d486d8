import type { Backend } from '../hyperv/backend';
import type { AuditLog } from './log';
import type { AuditRecord } from './record';

/**
 * Start-up: an intent without a result means the bot stopped between the two. The action may
 * or may not have happened; record outcome `unknown` with the state Hyper-V reports now, so an
 * auditor sees exactly what is known.
 */
export async function reconcileOpenIntents(audit: AuditLog, backend: Backend): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (const intent of audit.openIntents()) {
    let observed: string | null = null;
    let lookupError: string | null = null;
    if (intent.vm) {
      try {
        observed = (await backend.get(intent.vm))?.state ?? 'not found';
      } catch (e) {
        lookupError = e instanceof Error ? e.message : String(e);
      }
    }
    out.push(await audit.append({
      kind: 'result', intentId: intent.id, correlationId: intent.correlationId, principal: intent.principal, user: intent.user,
      channel: intent.channel, command: intent.command, operation: intent.operation, vm: intent.vm, host: intent.host,
      decision: intent.decision, outcome: 'unknown', error: lookupError,
      reason: 'vmbot stopped after recording the intent and before recording its result; reconciled at start-up',
      details: { reconciled: true, observedState: observed },
    }));
  }
  return out;
}
