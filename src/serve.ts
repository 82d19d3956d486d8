import { openApp, type App, type AppOptions } from './app';
import type { FrontEnd, FrontEndContext, FrontEndFactory } from './adapters/frontend';
import { FRONT_ENDS } from './adapters/index';
import type { Config } from './core/config';
import { VmbotError } from './core/errors';
import type { Delivery, Reply, RequestInput } from './core/types';
import { HttpHost } from './http/host';
import { acquireDataLock } from './state/lock';
import type { Logger } from './log/logger';
import type { NoticeSink } from './workflows/outbox';

export interface ServeOptions extends AppOptions {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Replace the registry (tests: one front-end, or a stand-in). */
  frontEnds?: readonly FrontEnd[];
  factories?: readonly FrontEndFactory[];
  /**
   * Serve HTTP even with no front-end configured (health and metrics next to the local chat).
   * A port already taken is then a warning, not a failure: the local chat does not need it.
   */
  httpOptional?: boolean;
  /** How long shutdown waits for requests in flight. */
  graceMs?: number;
}

export interface Server {
  app: App;
  http: HttpHost | null;
  frontEnds: readonly FrontEnd[];
  /** Requests handed to the pipeline and not yet answered. */
  readonly inFlight: number;
  /** Stop accepting, finish what is in flight, stop the front-ends, close the audit log. */
  stop(): Promise<void>;
}

/**
 * `vmbot` serving: one process, one pipeline, many doors. Order matters:
 *  1. configure every front-end from the environment (a bad token stops here, before any state is touched);
 *  2. listen, so /healthz answers while start-up recovery runs (/readyz says 503 until it is done);
 *  3. open the app: policy, audit log, state, backend, start-up recovery (the data lock is taken
 *     before anything else, so a second process stops before it listens);
 *  4. start each front-end (routes mounted, sockets connected) and attach it to the notice outbox,
 *     which then delivers what start-up raised;
 *  5. ready.
 */
export async function startServer(config: Config, opts: ServeOptions): Promise<Server> {
  const log = opts.log;
  const env = opts.env ?? process.env;
  const frontEnds = opts.frontEnds ?? (opts.factories ?? FRONT_ENDS).map((f) => f(env, config)).filter((f): f is FrontEnd => f !== null);
  const names = frontEnds.map((f) => f.name);
  if (new Set(names).size !== names.length) throw new VmbotError('config', `Front-end names must be unique: ${names.join(', ')}`);

  // The data-directory lock before the port: of two processes started together, the one that
  // will not serve must not take the port from the one that will (nor serve /healthz for it).
  const lock = opts.lock ?? acquireDataLock(config.VMBOT_DATA_DIR);
  let http: HttpHost | null = null;
  let app: App | null = null;
  const started: FrontEnd[] = [];
  const inFlight = new Set<Promise<unknown>>();
  if (frontEnds.length || opts.httpOptional) {
    http = new HttpHost({ host: config.VMBOT_HTTP_HOST, port: config.VMBOT_HTTP_PORT, log: log.child({ component: 'http' }), metrics: () => (app ? app.metrics.text() : Promise.resolve({ contentType: 'text/plain', body: '' })) });
    try {
      await http.listen();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const where = `${config.VMBOT_HTTP_HOST}:${config.VMBOT_HTTP_PORT}`;
      const message = err.code === 'EADDRINUSE' ? `VMBOT_HTTP_PORT: ${where} is already in use` : `VMBOT_HTTP_HOST/VMBOT_HTTP_PORT: cannot listen on ${where}: ${err.message}`;
      if (frontEnds.length) {
        lock();
        throw new VmbotError('config', message);
      }
      log.warn(`${message}; serving the local chat without the HTTP host`);
      http = null;
    }
  }
  try {
    app = await openApp(config, { ...opts, log, lock });
  } catch (e) {
    await http?.close(0);
    throw e;
  }
  const theApp = app;
  const handle = (request: RequestInput, delivery?: Delivery): Promise<Reply> => {
    const p = theApp.pipeline.handle(request, delivery);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const principalsOf = (user: string, kind: string) => {
    const u = theApp.policy().policy.users[user];
    return (u?.identities ?? []).filter((p) => p.startsWith(`${kind}:`));
  };

  let stopping: Promise<void> | null = null;
  const server: Server = {
    app: theApp, http, frontEnds: started,
    get inFlight() {
      return inFlight.size;
    },
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down: no new requests; finishing those in flight');
        http?.setReady(false, 'shutting down');
        // Stop intake first (HTTP and sockets), then wait for the pipeline, then close the log.
        await Promise.all([
          http?.close(opts.graceMs ?? 10_000),
          ...started.map((f) => f.stop().catch((e) => log.error({ frontEnd: f.name, error: String(e) }, 'front-end stop failed'))),
        ]);
        await Promise.allSettled([...inFlight]);
        for (const f of started) theApp.outbox.detach(f.name);
        await theApp.close();
        log.info('stopped');
      })()),
  };

  try {
    const sinks: NoticeSink[] = [];
    for (const f of frontEnds) {
      const ctx: FrontEndContext = {
        http: {
          mount: (path, handler) => {
            if (!http) throw new VmbotError('config', `${f.name} needs the HTTP host, which is not running`);
            http.mount(path, handler);
          },
          url: () => http?.address().url ?? '',
        },
        handle, principalsOf, refuse: (r, reason) => theApp.pipeline.refuse({ ...r, channel: { kind: r.channel.kind, id: r.channel.id ?? '' } }, reason), log: log.child({ frontEnd: f.name }), config, app: theApp,
      };
      await f.start(ctx);
      started.push(f);
      if (f.deliverNotice) sinks.push({ name: f.name, deliverNotice: f.deliverNotice.bind(f), updateNotice: f.updateNotice?.bind(f), deliverToChannel: f.deliverToChannel?.bind(f) });
      log.info({ frontEnd: f.name }, `${f.name} started`);
    }
    // Together, once all are up: what start-up raised then reaches every front-end, not only the first.
    if (sinks.length) theApp.outbox.attach(...sinks);
  } catch (e) {
    await server.stop().catch(() => undefined);
    throw e;
  }
  http?.setReady(true);
  return server;
}
