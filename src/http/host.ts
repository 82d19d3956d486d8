import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Logger } from '../log/logger';

export interface HttpHostOptions {
  host: string;
  port: number;
  log: Logger;
  /** Prometheus text for GET /metrics (content type included). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

/**
 * The one HTTP host of the serving process (docs/architecture.md: one process, one pipeline, many doors).
 * express 5: Bolt's ExpressReceiver is an express router, botbuilder's CloudAdapter.process
 * takes express's req/res, and the web view's server-rendered pages are plain routes, so every
 * door mounts on one app without adapters between frameworks.
 *
 * No body parser is installed globally: Slack's signature covers the raw body, so each front-end
 * parses inside its own router.
 */
export class HttpHost {
  readonly app: Express;
  private server: Server | null = null;
  private ready = false;
  private notReadyReason = 'starting: start-up recovery has not finished';
  private readonly active = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: HttpHostOptions) {
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', false);
    app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok\n'));
    app.get('/readyz', (_req, res) => {
      if (this.ready && !this.closing) res.type('text/plain').send('ready\n');
      else res.status(503).type('text/plain').send(`${this.closing ? 'shutting down' : this.notReadyReason}\n`);
    });
    app.get('/metrics', async (_req, res) => {
      if (!opts.metrics) return void res.status(404).end();
      const m = await opts.metrics();
      res.type(m.contentType).send(m.body);
    });
    this.app = app;
  }

  /**
   * Give a front-end its routes: `mount('/slack', router)` or `mount('/', receiver.router)`.
   * Routes mounted after listen() are served at once (express matches in mount order).
   */
  mount(path: string, handler: Router | RequestHandler): void {
    this.app.use(path, handler);
  }

  /** /readyz answers 200 from now on (start-up recovery done, front-ends started). */
  setReady(ready = true, reason?: string): void {
    this.ready = ready;
    if (reason) this.notReadyReason = reason;
  }

  async listen(): Promise<{ host: string; port: number; url: string }> {
    const server = createServer(this.app);
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      this.active.add(res);
      res.on('close', () => this.active.delete(res));
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const a = this.address();
    this.opts.log.info({ host: a.host, port: a.port }, `HTTP host listening on ${a.url}`);
    return a;
  }

  address(): { host: string; port: number; url: string } {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('the HTTP host is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `http://${host}:${a.port}` };
  }

  /** Requests being answered right now (for shutdown and tests). */
  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Stop accepting connections, let requests in flight finish (up to `graceMs`), then close
   * what is left. Idle keep-alive connections are closed at once.
   */
  close(graceMs = 10_000): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return (this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // A connection that finishes its request while we wait is idle, and closed then.
      for (const res of this.active) res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
      const timer = setTimeout(() => {
        if (this.active.size) this.opts.log.warn({ inFlight: this.active.size }, 'HTTP requests still running after the grace period; closing them');
        server.closeAllConnections();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      for (const s of this.sockets) s.destroy();
    })());
  }
}
