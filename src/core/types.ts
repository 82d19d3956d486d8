import { z } from 'zod';
import { PrincipalSchema } from '../policy/schema';

/** Channel kinds an adapter can be. */
export const ChannelKind = z.enum(['local', 'slack', 'teams', 'cli']);

/** What every adapter hands the pipeline: nothing platform-specific beyond opaque ids. */
export const RequestSchema = z.object({
  principal: PrincipalSchema,
  text: z.string().max(2000, 'command text is too long (2000 characters at most)'),
  channel: z.object({ kind: ChannelKind, id: z.string().max(200).default('') }),
  /** Where the adapter will put replies (opaque to the pipeline; never audited as a secret). */
  replyTo: z.string().max(500).optional(),
  /** Set by adapters whose platform may redeliver (Slack trigger_id, Teams activity id). */
  idempotencyKey: z.string().max(200).optional(),
});
export type Request = z.infer<typeof RequestSchema>;

export type ReplyStatus = 'done' | 'pending' | 'invalid' | 'denied' | 'failed';

export interface ReplyField {
  label: string;
  value: string;
}

/** A button an adapter may render (Block Kit button, Adaptive Card Action.Execute, text hint). */
export interface ReplyAction {
  id: string;
  label: string;
  /** The command text the action stands for, e.g. `approve r-7k2m`. */
  command: string;
  style?: 'primary' | 'danger';
}

/** Platform-neutral reply: plain text always, structure for adapters that render cards. */
export interface Reply {
  status: ReplyStatus;
  text: string;
  title?: string;
  fields?: ReplyField[];
  actions?: ReplyAction[];
  /** Machine-readable extras (requestId, grantId, vm state) for `--json` and adapters. */
  data?: Record<string, unknown>;
  auditId?: number;
  /** The error's machine code, when status is invalid/denied/failed. */
  code?: string;
}

/** A message to someone other than the caller (approvers, a requester): adapters deliver it. */
export interface Notice {
  /** Policy user ids; adapters map them to their own identities. */
  to: string[];
  reply: Reply;
}

/** Adapter hooks for one request (messages to others go through the app's Notices). */
export interface Delivery {
  /** Interim progress for the caller ("web01 is starting…"). */
  progress?(reply: Reply): void | Promise<void>;
}
