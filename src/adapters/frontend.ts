import type { RequestHandler, Router } from 'express';
import type { App } from '../app';
import type { Config } from '../core/config';
import type { Delivery, Reply, RequestInput } from '../core/types';
import type { Logger } from '../log/logger';
import type { NoticeSink } from '../workflows/outbox';

/**
 * The lifecycle seam every door implements (docs/architecture.md, "The front-end seam"): start with the app and the
 * HTTP host, stop on shutdown. A front-end does three things only: map the platform's user to a
 * principal, hand the pipeline a Request (ctx.handle), render the Reply. It holds no policy and
 * writes no audit records.
 *
 * Notices (to approvers, to a requester) reach it through the NoticeSink methods, called by the
 * durable outbox with retry; a front-end that sends no notices leaves them out.
 */
export interface FrontEnd extends Partial<NoticeSink> {
  /** `slack`, `teams`, `web`: names it in logs, metrics and sent-message references. */
  readonly name: string;
  start(ctx: FrontEndContext): Promise<void>;
  /** Stop taking new work (close sockets); requests in flight are awaited by the host. */
  stop(): Promise<void>;
}

export interface HttpMount {
  /** Mount routes on the one HTTP host, e.g. `mount('/', router)` with a POST /slack/events route. */
  mount(path: string, handler: Router | RequestHandler): void;
  /** Where the host listens, e.g. http://127.0.0.1:3000 (VMBOT_PUBLIC_URL is the outside name). */
  url(): string;
}

export interface FrontEndContext {
  http: HttpMount;
  /**
   * The one pipeline: parse, identify, authorize, audit, execute, reply. Resolves with the final
   * reply (already passed to delivery.final, if given). Never rejects for a user's mistake.
   */
  handle(request: RequestInput, delivery?: Delivery): Promise<Reply>;
  /** Refuse a request at the door (foreign workspace or tenant): audited as a denial with `reason`. */
  refuse(request: { principal: string; text: string; channel: RequestInput['channel'] }, reason: string): Promise<Reply>;
  /**
   * The principals of one policy user for one platform (`slack` -> ['slack:U123']), to address
   * notices. Empty when the user has no identity there.
   */
  principalsOf(user: string, kind: string): string[];
  /** The operator log, with `frontEnd: <name>` on every line. Never log tokens or payload text. */
  log: Logger;
  config: Config;
  /** Escape hatch for the auditor's web view (audit index, access review). Chat adapters must not use it. */
  app: App;
}

/**
 * How a front-end is configured: from the environment (README's configuration table). Returns null
 * when not configured; throws VmbotError('config', message naming the variable) when
 * configured wrongly, so start-up stops with one clear message.
 */
export type FrontEndFactory = (env: NodeJS.ProcessEnv, config: Config) => FrontEnd | null;
