import type { AuditLog } from '../audit/log';
import type { Backend } from '../hyperv/backend';
import type { PolicyEvaluator } from '../policy/evaluator';
import type { StateStore } from '../state/store';
import type { Notices } from './notices';

/** What the workflows share: state, policy, Hyper-V, the audit log, notices and a clock. */
export interface WorkflowDeps {
  store: StateStore;
  policy: () => PolicyEvaluator;
  backend: Backend;
  audit: AuditLog;
  notices: Notices;
  clock: () => Date;
}

/** Who acted: a user in a request, or vmbot itself for background steps (expiry, recovery). */
export interface Actor {
  user: string | null;
  principal: string | null;
  channel?: string | null;
}

export const SYSTEM: Actor = { user: null, principal: 'vmbot', channel: 'system' };

export const fmtTime = (d: Date | string) => new Date(d).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
