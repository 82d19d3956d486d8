import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, join } from 'node:path';
import type { Config } from '../core/config';
import { VmbotError } from '../core/errors';
import { Checkpointer, type Checkpoint } from './checkpoint';
import { cursorFileFor, Forwarder, type ForwardStatus } from './forward/forwarder';
import { HttpSink } from './forward/http';
import type { Sink } from './forward/sink';
import { SyslogSink } from './forward/syslog';
import { loadSigningKey } from './keys';
import type { AuditLog } from './log';
import { describeFailure, verifyAtStartup, type StartupCheck } from './startup';

/** The checkpoint file: VMBOT_AUDIT_CHECKPOINTS, or inside the data directory. */
export const checkpointsFile = (c: Pick<Config, 'VMBOT_AUDIT_CHECKPOINTS' | 'VMBOT_DATA_DIR'>) =>
  c.VMBOT_AUDIT_CHECKPOINTS ?? join(c.VMBOT_DATA_DIR, 'audit-checkpoints.jsonl');

export interface AuditAssurance {
  startup: StartupCheck;
  checkpointer: Checkpointer | null;
  forwarders: Forwarder[];
  /** Forwarding lag per sink (for /metrics and `audit status`). */
  forwarding(): ForwardStatus[];
  /** Final checkpoint, then let the forwarders deliver it; call before closing the log. */
  close(): Promise<void>;
}

/**
 * Start-up verification, then the checkpoint schedule (with a key configured). A log that does
 * not verify stops start-up with one message naming the broken record.
 */
export interface AssuranceOptions {
  clock?: () => Date;
  acceptBroken?: string;
  /**
   * Each signed checkpoint, once it is durable (the app posts it in the audit chat channels).
   * Called synchronously after the checkpoint is written: it must return at once and not throw.
   */
  onCheckpoint?: (cp: Checkpoint) => void;
}

export async function startAssurance(config: Config, log: AuditLog, opts: AssuranceOptions = {}): Promise<AuditAssurance> {
  const signing = config.VMBOT_AUDIT_KEY_FILE ? loadSigningKey(config.VMBOT_AUDIT_KEY_FILE, config.VMBOT_DATA_DIR) : null;
  const file = checkpointsFile(config);
  const startup = await verifyAtStartup(log.dir, { key: signing?.key, keyId: signing?.keyId, checkpointsFile: file });
  if (!startup.ok) {
    const where = breakToken(startup);
    if (opts.acceptBroken !== where)
      throw new VmbotError('config', `The audit log does not verify: ${describeFailure(startup)}. Refusing to serve on a broken chain; run "vmbot audit verify" for the full report.${opts.acceptBroken ? ` (--accept-broken-audit ${opts.acceptBroken} does not name this break.)` : ''} After investigating, an operator may serve anyway, once and audited: vmbot serve --accept-broken-audit ${where}`);
    await acceptBrokenChain(log, startup, where);
  }
  const checkpointer = signing
    ? new Checkpointer(log, {
        key: signing.key, keyId: signing.keyId, file, clock: opts.clock,
        everyRecords: config.VMBOT_AUDIT_CHECKPOINT_RECORDS, everyMs: config.VMBOT_AUDIT_CHECKPOINT_SECONDS * 1000,
        onError: (e) => console.error(`audit checkpoint failed: ${e instanceof Error ? e.message : e}`),
        onCheckpoint: opts.onCheckpoint,
      }).start()
    : null;
  const forwarders: Forwarder[] = [];
  try {
    for (const sink of sinksFor(config)) forwarders.push(await new Forwarder(log.dir, sink, cursorFileFor(config.VMBOT_DATA_DIR, sink.name), { log }).start());
  } catch (e) {
    await checkpointer?.stop();
    for (const f of forwarders) await f.stop(0);
    throw e;
  }
  let closed = false;
  return {
    startup, checkpointer, forwarders,
    forwarding: () => forwarders.map((f) => f.status()),
    async close() {
      if (closed) return;
      closed = true;
      await checkpointer?.stop();
      // Let the sinks receive the final checkpoint (bounded: an unreachable collector must not hold shutdown).
      await Promise.all(forwarders.map((f) => f.stop()));
    },
  };
}

/** The configured collectors (VMBOT_AUDIT_SYSLOG, VMBOT_AUDIT_HTTP_URL). */
export function sinksFor(config: Config): Sink[] {
  for (const k of ['VMBOT_AUDIT_SYSLOG_CA', 'VMBOT_AUDIT_HTTP_CA'] as const) {
    const f = config[k];
    if (f && !existsSync(f)) throw new VmbotError('config', `${k} (${f}): no such file (a PEM file with the CA certificate(s) the collector's certificate must chain to).`);
  }
  const sinks: Sink[] = [];
  if (config.VMBOT_AUDIT_SYSLOG) sinks.push(new SyslogSink({ url: config.VMBOT_AUDIT_SYSLOG, caFile: config.VMBOT_AUDIT_SYSLOG_CA }));
  if (config.VMBOT_AUDIT_HTTP_URL) sinks.push(new HttpSink({ url: config.VMBOT_AUDIT_HTTP_URL, token: config.VMBOT_AUDIT_HTTP_TOKEN, caFile: config.VMBOT_AUDIT_HTTP_CA, maxEvents: config.VMBOT_AUDIT_HTTP_MAX_EVENTS }));
  return sinks;
}

/** How an operator names the break they accept: `<segment file>:<line>` (as the refusal prints it). */
function breakToken(r: StartupCheck): string {
  if (r.broken) return `${basename(r.broken.file)}:${r.broken.line}`;
  return r.missing ? `missing:${r.missing.from}-${r.missing.to}` : 'unknown';
}

/**
 * The operator's override of a chain that does not verify: recorded in the chain itself (who,
 * where, why), at the head of a new segment, so start-up verifies again from there and the
 * override is not needed twice. `audit verify` still reports the break, and this record.
 */
async function acceptBrokenChain(log: AuditLog, r: StartupCheck, where: string): Promise<void> {
  let operator = 'unknown';
  try {
    operator = userInfo().username;
  } catch {
    /* no user database entry (containers) */
  }
  log.startNewSegment();
  await log.append({
    kind: 'event', correlationId: 'startup', principal: `os:${operator}`, channel: 'system', operation: 'audit.accept-broken', outcome: 'ok',
    reason: `started with --accept-broken-audit ${where}: the chain does not verify at ${describeFailure(r)}`,
    details: { accepted: where, broken: r.broken ?? null, missing: r.missing ? { from: r.missing.from, to: r.missing.to, reason: r.missing.reason } : null, operator, host: hostname(), pid: process.pid },
  });
}
