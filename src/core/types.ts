import { z } from 'zod';
import { PrincipalSchema } from '../policy/schema';
import { ErrorCodeSchema } from './errors';

/** Channel kinds an adapter can be. */
export const ChannelKind = z.enum(['local', 'slack', 'teams', 'cli', 'web']);
export type ChannelKind = z.infer<typeof ChannelKind>;

/**
 * Values a user typed into an action's inputs (the reason in a Deny modal or an Adaptive Card
 * Input.Text). They reach the command as whole argument values, never re-tokenised, so quotes or
 * `--words` in a reason cannot change what runs.
 */
export const RequestInputsSchema = z.record(z.string().regex(/^[a-z][a-zA-Z0-9]{0,31}$/, 'input names are short identifiers'), z.string().max(2000, 'an input is too long (2000 characters at most)'));

/** What every adapter hands the pipeline: nothing platform-specific beyond opaque ids. */
export const RequestSchema = z.object({
  principal: PrincipalSchema,
  text: z.string().max(2000, 'command text is too long (2000 characters at most)'),
  channel: z.object({ kind: ChannelKind, id: z.string().max(200).default('') }),
  /** Where the adapter will put replies (opaque to the pipeline; never audited as a secret). */
  replyTo: z.string().max(500).optional(),
  /** Set by adapters whose platform may redeliver (Slack trigger_id, Teams activity id). */
  idempotencyKey: z.string().max(200).optional(),
  /** Values for the inputs of the action that was clicked (see ReplyAction.inputs). */
  inputs: RequestInputsSchema.optional(),
});
export type Request = z.infer<typeof RequestSchema>;
export type RequestInput = z.input<typeof RequestSchema>;

export const ReplyStatusSchema = z.enum(['done', 'pending', 'invalid', 'denied', 'failed']);
export type ReplyStatus = z.infer<typeof ReplyStatusSchema>;

/**
 * Who sees a reply: `private` = only the caller (Slack ephemeral, Teams 1:1 chat, local);
 * `conversation` = everyone where it was asked. list, status, console grants and every denial
 * are private.
 */
export const VisibilitySchema = z.enum(['private', 'conversation']);
export type Visibility = z.infer<typeof VisibilitySchema>;

export const ReplyFieldSchema = z.object({ label: z.string(), value: z.string() });
export type ReplyField = z.infer<typeof ReplyFieldSchema>;

/** A value the user must give before an action runs (Slack modal input, Adaptive Card Input.Text). */
export const ActionInputSchema = z.object({
  /** Key under which the value travels in Request.inputs (e.g. `reason`). */
  name: z.string().regex(/^[a-z][a-zA-Z0-9]{0,31}$/),
  label: z.string(),
  placeholder: z.string().optional(),
  multiline: z.boolean().optional(),
  minLength: z.number().int().min(0).optional(),
  maxLength: z.number().int().min(1).optional(),
});
export type ActionInput = z.infer<typeof ActionInputSchema>;

/** A confirmation dialog before the action runs (stop, turn off). */
export const ActionConfirmSchema = z.object({
  title: z.string(),
  text: z.string(),
  confirm: z.string(),
  deny: z.string().default('Cancel'),
});
export type ActionConfirm = z.input<typeof ActionConfirmSchema>;

/**
 * A button an adapter may render (Block Kit button, Adaptive Card Action.Execute, text hint).
 * A click re-enters the pipeline as `command` (plus `inputs`) under the clicker's principal.
 */
export const ReplyActionSchema = z.object({
  /** Stable within one reply: `start:web01`, `approve:r-7k2m`. */
  id: z.string(),
  label: z.string(),
  /** The complete command text the action stands for, e.g. `approve r-7k2m`, `deny r-7k2m`. */
  command: z.string(),
  style: z.enum(['primary', 'danger']).optional(),
  /** What the action is about (a VM name, a request id): renderers put its buttons on its row. */
  subject: z.string().optional(),
  /** Values to ask for first; sent as Request.inputs, never spliced into `command`. */
  inputs: z.array(ActionInputSchema).optional(),
  confirm: ActionConfirmSchema.optional(),
});
export type ReplyAction = z.input<typeof ReplyActionSchema>;

/** Platform-neutral reply: plain text always, structure for adapters that render cards. */
export const ReplySchema = z.object({
  status: ReplyStatusSchema,
  /** Plain text, never markup: each renderer escapes it for its format. */
  text: z.string(),
  /** Unset means `conversation` for done/pending replies; the pipeline sets it on every reply it returns. */
  visibility: VisibilitySchema.optional(),
  title: z.string().optional(),
  fields: z.array(ReplyFieldSchema).optional(),
  actions: z.array(ReplyActionSchema).optional(),
  /** Machine-readable extras (requestId, grantId, vm state) for `--json` and adapters. */
  data: z.record(z.string(), z.unknown()).optional(),
  auditId: z.number().int().optional(),
  /** The error's machine code, when status is invalid/denied/failed. */
  code: ErrorCodeSchema.optional(),
});
export type Reply = z.input<typeof ReplySchema>;

/** A message to someone other than the caller (approvers, a requester): delivered through the outbox. */
/**
 * Channels a notice can be addressed to, by purpose: each front-end maps the purpose to its own
 * configured channel (`audit`: VMBOT_SLACK_AUDIT_CHANNEL, VMBOT_TEAMS_AUDIT_CHANNEL).
 */
export const NoticeChannelSchema = z.enum(['audit']);
export type NoticeChannel = z.infer<typeof NoticeChannelSchema>;

export const NoticeSchema = z.object({
  /** Policy user ids; front-ends map them to their own identities. */
  to: z.array(z.string()),
  /** Channels (by purpose) that receive it too, once per front-end that has one configured. */
  channels: z.array(NoticeChannelSchema).optional(),
  reply: ReplySchema,
  /**
   * Groups the messages that a later step updates together, e.g. `request:r-7k2m` for every
   * approver's card: when the request is decided, each sent card is replaced.
   */
  topic: z.string().optional(),
});
export type Notice = z.input<typeof NoticeSchema>;

/**
 * Where an interim progress message went, so the final reply can replace it (Slack: the
 * response_url message; Teams: the activity id). Opaque outside the adapter that made it.
 */
export interface ProgressHandle {
  ref: string;
}

/** Adapter hooks for one request (messages to others go through the notice outbox). */
export interface Delivery {
  /**
   * Interim progress for the caller ("web01 is starting…"). Called again with the handle it
   * returned when the progress changes; the adapter updates that message.
   */
  progress?(reply: Reply, previous?: ProgressHandle): void | ProgressHandle | Promise<void | ProgressHandle>;
  /**
   * The final reply. `progress` is the handle of the progress message, if one was posted: the
   * adapter replaces it with this reply (progress and final are one message). Adapters without
   * `final` get the reply as the return value of handle() only.
   */
  final?(reply: Reply, progress?: ProgressHandle): void | Promise<void>;
}
