import { z } from 'zod';
import { VmRefSchema } from '../hyperv/backend';

/** cancelled: withdrawn by the requester while pending (no longer counts against the quota). */
export const ApprovalStatus = z.enum(['pending', 'approved', 'denied', 'expired', 'created', 'failed', 'cancelled']);

export const ApprovalRequestSchema = z.object({
  id: z.string(),
  requester: z.string(),
  principal: z.string(),
  name: z.string(),
  template: z.string(),
  scope: z.string(),
  host: z.string(),
  reason: z.string().optional(),
  required: z.number().int().min(1),
  createdAt: z.string(),
  expiresAt: z.string(),
  status: ApprovalStatus,
  approvals: z.array(z.object({ user: z.string(), at: z.string() })),
  decidedAt: z.string().optional(),
  deniedBy: z.string().optional(),
  denyReason: z.string().optional(),
  vm: VmRefSchema.optional(),
  error: z.string().optional(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequestSchema>;

export const ConsoleGrantSchema = z.object({
  id: z.string(),
  user: z.string(),
  account: z.string(),
  vm: VmRefSchema,
  grantedAt: z.string(),
  expiresAt: z.string(),
  /** superseded: replaced by a newer grant (an extension) for the same user and VM. */
  status: z.enum(['active', 'revoked', 'expired', 'superseded']),
  endedAt: z.string().optional(),
  /** When the "ends soon" notice went out (at most once per grant). */
  warnedAt: z.string().optional(),
  /** Revocation failed (host down): kept active and retried by the revoker. */
  lastError: z.string().optional(),
});
export type ConsoleGrant = z.infer<typeof ConsoleGrantSchema>;

export const IdempotencyEntrySchema = z.object({
  at: z.string(),
  /** The reply first given, replayed for a redelivered request (empty while it runs). */
  reply: z.record(z.string(), z.unknown()),
  /**
   * `running`: reserved before the command ran and not finished yet. Found so after a restart,
   * the request was cut off: its outcome is in the audit log, and it is not run again.
   */
  state: z.enum(['running', 'done']).optional(),
});

/**
 * A notice not yet delivered everywhere (the outbox survives a restart). Written in the same
 * state update as the workflow step that raised it.
 */
export const OutboxEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  /** `update`: replace every message sent under `notice.topic` with `notice.reply` (absent in older state files: a notice). */
  kind: z.enum(['notice', 'update']).optional(),
  /** The Notice (to, reply, topic); validated as a notice when it was raised. */
  notice: z.record(z.string(), z.unknown()),
  /** `<front-end>:<user>` pairs already delivered (updates: `<front-end>:<user>:<ref>`), so a restart never sends one twice. */
  done: z.array(z.string()),
});

/** A message sent to someone, kept so a later step can replace it (every approver's card). */
export const SentRefSchema = z.object({ sink: z.string(), user: z.string(), ref: z.string(), at: z.string() });

export const StoreDataSchema = z.object({
  version: z.literal(1),
  approvals: z.record(z.string(), ApprovalRequestSchema),
  consoleGrants: z.record(z.string(), ConsoleGrantSchema),
  idempotency: z.record(z.string(), IdempotencyEntrySchema),
  outbox: z.record(z.string(), OutboxEntrySchema).default({}),
  sentRefs: z.record(z.string(), z.array(SentRefSchema)).default({}),
});
export type StoreData = z.infer<typeof StoreDataSchema>;

export const emptyStore = (): StoreData => ({ version: 1, approvals: {}, consoleGrants: {}, idempotency: {}, outbox: {}, sentRefs: {} });
