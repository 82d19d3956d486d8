import { join } from 'node:path';
import type { Config } from '../core/config';
import { VmbotError } from '../core/errors';
import { Checkpointer } from './checkpoint';
import { loadSigningKey } from './keys';
import type { AuditLog } from './log';
import { describeFailure, verifyAtStartup, type StartupCheck } from './startup';

/** The checkpoint file: VMBOT_AUDIT_CHECKPOINTS, or inside the data directory. */
export const checkpointsFile = (c: Pick<Config, 'VMBOT_AUDIT_CHECKPOINTS' | 'VMBOT_DATA_DIR'>) =>
  c.VMBOT_AUDIT_CHECKPOINTS ?? join(c.VMBOT_DATA_DIR, 'audit-checkpoints.jsonl');

export interface AuditAssurance {
  startup: StartupCheck;
  checkpointer: Checkpointer | null;
  /** Final checkpoint, then let the forwarders deliver it; call before closing the log. */
  close(): Promise<void>;
}

/**
 * Start-up verification, then the checkpoint schedule (with a key configured). A log that does
 * not verify stops start-up with one message naming the broken record.
 */
export async function startAssurance(config: Config, log: AuditLog, opts: { clock?: () => Date } = {}): Promise<AuditAssurance> {
  const signing = config.VMBOT_AUDIT_KEY_FILE ? loadSigningKey(config.VMBOT_AUDIT_KEY_FILE, config.VMBOT_DATA_DIR) : null;
  const file = checkpointsFile(config);
  const startup = await verifyAtStartup(log.dir, { key: signing?.key, keyId: signing?.keyId, checkpointsFile: file });
  if (!startup.ok)
    throw new VmbotError('config', `The audit log does not verify: ${describeFailure(startup)}. Refusing to serve on a broken chain; run "vmbot audit verify" for the full report.`);
  const checkpointer = signing
    ? new Checkpointer(log, {
        key: signing.key, keyId: signing.keyId, file, clock: opts.clock,
        everyRecords: config.VMBOT_AUDIT_CHECKPOINT_RECORDS, everyMs: config.VMBOT_AUDIT_CHECKPOINT_SECONDS * 1000,
        onError: (e) => console.error(`audit checkpoint failed: ${e instanceof Error ? e.message : e}`),
      }).start()
    : null;
  let closed = false;
  return {
    startup, checkpointer,
    async close() {
      if (closed) return;
      closed = true;
      await checkpointer?.stop();
    },
  };
}
