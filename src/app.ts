import { join } from 'node:path';
import { AuditIndex } from './audit/index/index';
import { AuditLog } from './audit/log';
import { reconcileOpenIntents } from './audit/reconcile';
import { registerAuditMetrics } from './audit/metrics';
import { startAssurance, type AuditAssurance } from './audit/runtime';
import { checkpointMessage, type Checkpoint } from './audit/checkpoint';
import type { AuditRecord } from './audit/record';
import type { AnyCommand, Services } from './core/command';
import type { Config } from './core/config';
import { Pipeline } from './core/pipeline';
import type { Backend } from './hyperv/backend';
import { openBackend } from './hyperv/index';
import { PolicyEvaluator } from './policy/evaluator';
import { loadPolicyFile, type LoadedPolicy } from './policy/loader';
import { acquireDataLock } from './state/lock';
import { StateStore } from './state/store';
import { ALL_COMMANDS } from '../commands/index';
import { Approvals } from './workflows/approvals';
import { AuditReader } from './workflows/audit-reader';
import { ConsoleGrants } from './workflows/console';
import { Notices } from './workflows/notices';
import { Outbox } from './workflows/outbox';
import { Metrics } from './http/metrics';
import { silentLogger, type Logger } from './log/logger';

export interface App {
  config: Config;
  pipeline: Pipeline;
  audit: AuditLog;
  /** Query index derived from the audit log (caught up at start-up and before each query). */
  auditIndex: AuditIndex;
  /** Start-up verification, signed checkpoints, SIEM forwarding. */
  assurance: AuditAssurance;
  store: StateStore;
  backend: Backend;
  loaded: LoadedPolicy;
  policy(): PolicyEvaluator;
  services: Services;
  /** Notices on their way to the front-ends (retry, backoff; held until a front-end is up). */
  outbox: Outbox;
  /** Prometheus metrics (GET /metrics on the HTTP host), derived from the audit records. */
  metrics: Metrics;
  log: Logger;
  /** What start-up recovered: intents reconciled to outcome unknown. */
  recovered: AuditRecord[];
  /** Overdue console grants revoked, requests expired and approved requests finished at start-up. */
  startup: { corrected: number; orphans: number; revoked: number; expired: number; resumed: number };
  /** One pass of the background work (revoke expired grants, expire requests); the timer calls it. */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/**
 * With an audit channel configured (VMBOT_SLACK_AUDIT_CHANNEL, VMBOT_TEAMS_AUDIT_CHANNEL), each
 * signed checkpoint becomes a notice to the `audit` channel: kept in state until every front-end
 * with such a channel has posted it, so neither a restart nor a chat outage loses it. Posting
 * only queues (never blocks an audit append) and never throws into the checkpointer.
 */
function auditChannelPoster(config: Config) {
  if (!config.VMBOT_SLACK_AUDIT_CHANNEL && !config.VMBOT_TEAMS_AUDIT_CHANNEL) return null;
  const early: Checkpoint[] = [];
  let send: ((cp: Checkpoint) => void) | null = null;
  return {
    post: (cp: Checkpoint) => (send ? send(cp) : void early.push(cp)),
    through(outbox: Outbox, log: Logger) {
      send = (cp) => {
        try {
          outbox.enqueue({ to: [], channels: ['audit'], reply: { status: 'done', visibility: 'conversation', ...checkpointMessage(cp), data: { checkpoint: cp } } });
        } catch (e) {
          log.error({ error: e instanceof Error ? e.message : String(e), records: cp.records }, 'audit checkpoint: could not queue its chat post');
        }
      };
      for (const cp of early.splice(0)) send(cp);
    },
  };
}

/** Where a data directory keeps its audit query index (derived; safe to delete). */
export const auditIndexFile = (dataDir: string) => join(dataDir, 'audit-index.sqlite');

export interface AppOptions {
  /** Replace the configured backend (tests). */
  backend?: Backend;
  commands?: readonly AnyCommand[];
  clock?: () => Date;
  /** The operator log (default: silent). */
  log?: Logger;
  /**
   * Serve although the audit chain does not verify at this place (`<segment file>:<line>`, as
   * the refusal names it): audited, once (`vmbot serve --accept-broken-audit`).
   */
  acceptBrokenAudit?: string;
  /** The data-directory lock, when the caller took it first (serve: before it listens); released on close. */
  lock?: () => void;
  /** Told how long each start-up step took, in ms (the start-up bench prints them). */
  onPhase?: (phase: StartupPhase, ms: number) => void;
}

/** The steps of openApp, in order, as the start-up bench reports them. */
export type StartupPhase = 'policy' | 'evaluator' | 'audit' | 'state' | 'backend' | 'recovery' | 'auditIndex' | 'startupPasses';

/** Calls onPhase with the time since the previous mark (nothing when nobody listens). */
function stopwatch(onPhase?: (phase: StartupPhase, ms: number) => void): (phase: StartupPhase) => void {
  if (!onPhase) return () => undefined;
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    onPhase(phase, now - last);
    last = now;
  };
}

/**
 * Open everything one running bot needs, in order: lock the data dir, policy (fail fast),
 * audit log, state, backend, then recover from any crash before serving a request.
 */
export async function openApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const clock = opts.clock ?? (() => new Date());
  const mark = stopwatch(opts.onPhase);
  // The lock first: a second process stops at once, before doing any work or reading anything.
  const release = opts.lock ?? acquireDataLock(config.VMBOT_DATA_DIR);
  let loaded: LoadedPolicy;
  try {
    loaded = loadPolicyFile(config.VMBOT_POLICY, clock());
  } catch (e) {
    release();
    throw e;
  }
  mark('policy');
  const evaluator = new PolicyEvaluator(loaded.policy, () => clock().getTime());
  mark('evaluator');
  // Opened resources, so a failed start-up closes them (an open FileHandle would leak).
  const opened: { close(): Promise<void> }[] = [];
  try {
    const audit = await AuditLog.open(join(config.VMBOT_DATA_DIR, 'audit'), { segmentRecords: config.VMBOT_AUDIT_SEGMENT_RECORDS, clock });
    opened.push(audit);
    // Each signed checkpoint is posted in the audit chat channel(s) through the durable outbox;
    // those signed before the outbox exists (start-up recovery writes records) wait for it.
    const checkpoints = auditChannelPoster(config);
    const assurance = await startAssurance(config, audit, { clock, acceptBroken: opts.acceptBrokenAudit, onCheckpoint: checkpoints?.post });
    opened.push(assurance);
    mark('audit');
    const store = await StateStore.open(join(config.VMBOT_DATA_DIR, 'state.json'));
    mark('state');
    // Before recovery, so what start-up records is counted too.
    const metrics = new Metrics(store);
    metrics.instrument(audit);
    registerAuditMetrics(metrics.registry, audit, assurance);
    const backend = opts.backend ?? (await openBackend(config));
    opened.push(backend);
    mark('backend');
    const recovered = await reconcileOpenIntents(audit, backend);
    mark('recovery');
    // After recovery, so the records start-up wrote are indexed too.
    const auditIndex = await AuditIndex.open(audit.dir, auditIndexFile(config.VMBOT_DATA_DIR));
    opened.push(auditIndex);
    mark('auditIndex');
    const notices = new Notices(store, clock);
    const log = opts.log ?? silentLogger();
    // Subscribed before start-up recovery, so its notices (expired requests, revoked grants)
    // wait in the outbox until a front-end is up. They are in state already (written in the
    // workflow step's own update): the outbox only delivers them.
    const outbox = new Outbox({ log: log.child({ component: 'outbox' }), store });
    notices.deliverThrough(outbox);
    checkpoints?.through(outbox, log);
    const deps = { store, policy: () => evaluator, backend, audit, notices, clock };
    const auditReader = new AuditReader({ index: auditIndex, policy: () => evaluator, audit });
    const services: Services = { approvals: new Approvals(deps), consoles: new ConsoleGrants(deps), notices, auditReader };
    // Overdue grants go first: access past its expiry is the one thing that must not wait.
    const startup = {
      // The audit log, not a hand-edited state.json, says how long a grant lasts; then grants
      // Hyper-V holds that state does not know are revoked.
      corrected: await services.consoles.enforceAuditedExpiry(),
      orphans: await services.consoles.reconcile(),
      revoked: await services.consoles.revokeDue(),
      expired: await services.approvals.expireDue(),
      resumed: await services.approvals.resumeApproved(),
    };
    mark('startupPasses');
    let ticking: Promise<void> | null = null;
    const tick = () =>
      (ticking ??= (async () => {
        try {
          await services.consoles.revokeDue();
          await services.consoles.reconcile();
          await services.consoles.warnDue();
          await services.approvals.expireDue();
        } finally {
          ticking = null;
        }
      })());
    const timer = setInterval(() => void tick().catch((e) => log.error({ error: e instanceof Error ? e.message : String(e) }, 'background pass failed')), config.VMBOT_REVOKER_INTERVAL_MS);
    timer.unref();
    const pipeline = new Pipeline({
      policy: () => evaluator, backend, audit, store, commands: opts.commands ?? ALL_COMMANDS, services,
      actionTimeoutMs: config.VMBOT_ACTION_TIMEOUT_MS, clock,
    });
    let closed = false;
    return {
      config, pipeline, audit, auditIndex, assurance, store, backend, loaded, policy: () => evaluator, services, outbox, metrics, log, recovered, startup, tick,
      async close() {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        outbox.stop();
        await ticking;
        await backend.close();
        await assurance.close();
        // The final checkpoint's chat post is queued in state before close returns (posted on the next start).
        await store.update(() => undefined).catch((e) => log.error({ error: e instanceof Error ? e.message : String(e) }, 'state write at shutdown failed'));
        await audit.close();
        await auditIndex.close();
        release();
      },
    };
  } catch (e) {
    for (const r of opened.reverse()) await r.close().catch(() => undefined);
    release();
    throw e;
  }
}
