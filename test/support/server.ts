import { rmSync } from 'node:fs';
import express from 'express';
import type { FrontEnd, FrontEndContext } from '../../src/adapters/frontend';
import type { Reply } from '../../src/core/types';
import { silentLogger } from '../../src/log/logger';
import { startServer, type Server, type ServeOptions } from '../../src/serve';
import type { OutboxNotice, SentRef } from '../../src/workflows/outbox';
import { testConfig } from './app';

/** A running vmbot server on 127.0.0.1 with an ephemeral port; stopped and removed after each test. */
export function serversStoppedAfterEach() {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      await s.stop();
      rmSync(s.app.config.VMBOT_DATA_DIR, { recursive: true, force: true });
    }
  });
  return async (opts: Partial<ServeOptions> = {}, overrides: Record<string, string> = {}) => {
    const config = testConfig({ VMBOT_HTTP_HOST: '127.0.0.1', VMBOT_HTTP_PORT: '0', ...overrides });
    const s = await startServer(config, { log: silentLogger(), frontEnds: [], ...opts });
    servers.push(s);
    return s;
  };
}

/**
 * The smallest real front-end: POST /probe/say {principal, text, inputs} runs the pipeline and
 * answers the reply as JSON; notices and card updates are recorded as a chat platform would show them.
 */
export class ProbeFrontEnd implements FrontEnd {
  readonly name = 'probe';
  ctx!: FrontEndContext;
  readonly delivered: Array<{ user: string; notice: OutboxNotice }> = [];
  readonly updated: Array<{ sent: SentRef; reply: Reply }> = [];
  /** Make the next N deliveries fail (a platform outage). */
  failNext = 0;
  stopped = false;
  constructor(private readonly gate?: Promise<void>) {}

  async start(ctx: FrontEndContext) {
    this.ctx = ctx;
    const r = express.Router();
    r.post('/say', express.json(), async (req, res) => {
      const reply = await ctx.handle({ principal: req.body.principal, text: req.body.text, inputs: req.body.inputs, channel: { kind: 'local', id: 'probe' } });
      res.json(reply);
    });
    ctx.http.mount('/probe', r);
    await this.gate;
  }

  async stop() {
    this.stopped = true;
  }

  async deliverNotice(user: string, notice: OutboxNotice) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('platform unavailable');
    }
    // Reachable only through a local identity (as Slack needs a slack: one).
    if (!this.ctx.principalsOf(user, 'local').length) return null;
    this.delivered.push({ user, notice });
    return { ref: `msg-${this.delivered.length}` };
  }

  async updateNotice(sent: SentRef, reply: Reply) {
    this.updated.push({ sent, reply });
  }
}

export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
