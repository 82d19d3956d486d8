import { spawn } from 'node:child_process';
import { VmbotError } from '../src/core/errors';
import { Outbox } from '../src/workflows/outbox';
import type { Reply } from '../src/core/types';
import { readAuditRecords } from './support/audit';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { CLI, envWithoutVmbot } from './support/cli';
import { ProbeFrontEnd, serversStoppedAfterEach, until } from './support/server';
import { verifyAudit } from '../src/audit/verify';
import { join } from 'node:path';

const serve = serversStoppedAfterEach();

const say = (url: string, principal: string, text: string, inputs?: Record<string, string>) =>
  fetch(`${url}/probe/say`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ principal, text, inputs }) }).then((r) => r.json() as Promise<Reply & { data: Record<string, unknown> }>);

describe('the one HTTP host', () => {
  test('/healthz answers while starting; /readyz only once start-up is done', async () => {
    let open!: () => void;
    const probe = new ProbeFrontEnd(new Promise<void>((r) => (open = r)));
    const starting = serve({ frontEnds: [probe] });
    await until(() => probe.ctx !== undefined);
    const url = probe.ctx.http.url();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    open();
    await starting;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/nothing-here`)).status).toBe(404);
  });

  test('a front-end mounts its routes and hands requests to the one pipeline (audited like any other)', async () => {
    const probe = new ProbeFrontEnd();
    const s = await serve({ frontEnds: [probe] });
    const url = s.http!.address().url;
    expect(await say(url, 'local:alice', 'start web01')).toMatchObject({ status: 'done', text: 'web01 is running.', visibility: 'conversation' });
    expect(await say(url, 'local:alice', 'start db01')).toMatchObject({ status: 'denied', visibility: 'private' });
    const recs = readAuditRecords(s.app.config.VMBOT_DATA_DIR).filter((r) => r.kind !== 'segment' as string);
    expect(recs.filter((r) => r.vm === 'web01').map((r) => r.kind)).toEqual(['intent', 'result']);
    expect(recs.some((r) => r.vm === 'db01' && r.decision === 'deny')).toBe(true);
  });

  test('listens on the configured loopback address by default, never on all interfaces', async () => {
    const s = await serve({ frontEnds: [new ProbeFrontEnd()] });
    expect(s.http!.address().host).toBe('127.0.0.1');
  });

  test('a front-end configured wrongly stops start-up with its message, before anything listens or opens', async () => {
    const bad = () => {
      throw new VmbotError('config', 'SLACK_BOT_TOKEN must start with xoxb-');
    };
    await expect(serve({ frontEnds: undefined, factories: [bad] })).rejects.toThrow('SLACK_BOT_TOKEN must start with xoxb-');
  });

  test('with a front-end configured, a port already in use is a start-up error naming VMBOT_HTTP_PORT', async () => {
    const a = await serve({ frontEnds: [new ProbeFrontEnd()] });
    const port = String(a.http!.address().port);
    await expect(serve({ frontEnds: [new ProbeFrontEnd()] }, { VMBOT_HTTP_PORT: port })).rejects.toThrow(/VMBOT_HTTP_PORT: 127\.0\.0\.1:\d+ is already in use/);
  });
});

describe('notices reach front-ends through the outbox', () => {
  test('approvers get the card, and when it is decided every approver card is updated to say who decided', async () => {
    const probe = new ProbeFrontEnd();
    const s = await serve({ frontEnds: [probe] });
    const url = s.http!.address().url;
    const r = await say(url, 'local:alice', 'request web05 --template web-small --reason "shop"');
    const id = r.data.requestId as string;
    await until(() => probe.delivered.length === 2);
    expect(probe.delivered.map((d) => d.user).sort()).toEqual(['carol', 'erin']);
    const deny = probe.delivered[0]!.notice.reply.actions!.find((a) => a.id === `deny:${id}`)!;
    const d = await say(url, 'local:carol', deny.command, { reason: 'no budget' });
    expect(d.status).toBe('done');
    await until(() => probe.updated.length === 2);
    expect(probe.updated.map((u) => u.sent.user).sort()).toEqual(['carol', 'erin']);
    for (const u of probe.updated) {
      expect(u.reply.text).toMatch(/denied by carol at \d{4}-\d\d-\d\d \d\d:\d\d UTC: no budget/);
      expect(u.reply.actions ?? []).toEqual([]);
    }
    // The requester is told too.
    await until(() => probe.delivered.some((x) => x.user === 'alice'));
  });
});

describe('outbox', () => {
  const notice = { to: ['carol'], reply: { status: 'pending' as const, text: 'hello' } };

  test('notices raised before any front-end is up wait, and are delivered once one attaches', async () => {
    const o = new Outbox();
    o.enqueue(notice);
    const got: string[] = [];
    await o.flush();
    expect(o.pending).toBe(1);
    o.attach({ name: 'x', deliverNotice: async (u, n) => (got.push(`${u}:${n.reply.text}`), { ref: '1' }) });
    await until(() => got.length === 1);
    expect(got).toEqual(['carol:hello']);
    o.stop();
  });

  test('a failed delivery is retried with backoff until it succeeds, and delivered exactly once', async () => {
    const o = new Outbox({ baseDelayMs: 20 });
    let fails = 2;
    const got: number[] = [];
    o.attach({ name: 'x', deliverNotice: async () => {
      if (fails-- > 0) throw new Error('down');
      got.push(Date.now());
      return { ref: '1' };
    } });
    const t0 = Date.now();
    o.enqueue(notice);
    await until(() => got.length === 1);
    expect(got[0]! - t0).toBeGreaterThanOrEqual(20 + 40 - 5); // two backoffs: 20 ms, then 40 ms
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(1);
    expect(o.pending).toBe(0);
    o.stop();
  });

  test('enqueue returns at once even when the platform hangs (never inside the caller’s request)', async () => {
    const o = new Outbox();
    o.attach({ name: 'x', deliverNotice: () => new Promise(() => undefined) });
    const t0 = Date.now();
    o.enqueue(notice);
    expect(Date.now() - t0).toBeLessThan(50);
    o.stop();
  });
});

describe('shutdown', () => {
  test('stop() refuses new connections, finishes the request in flight, then closes the audit log', async () => {
    const probe = new ProbeFrontEnd();
    const s = await serve({ frontEnds: [probe] }, { VMBOT_SIM_LATENCY_MS: '400' });
    const url = s.http!.address().url;
    const inflight = say(url, 'local:alice', 'start web01');
    await until(() => s.inFlight === 1);
    const stopping = s.stop();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(await inflight).toMatchObject({ status: 'done', text: 'web01 is running.' });
    await stopping;
    expect(probe.stopped).toBe(true);
    const recs = readAuditRecords(s.app.config.VMBOT_DATA_DIR).filter((r) => r.vm === 'web01');
    expect(recs.map((r) => `${r.kind}:${r.outcome ?? ''}`)).toEqual(['intent:', 'result:ok']);
    expect((await verifyAudit(join(s.app.config.VMBOT_DATA_DIR, 'audit'))).ok).toBe(true);
  });

  test('the vmbot process exits 0 on SIGTERM with the HTTP host up, and logs at VMBOT_LOG_LEVEL', async () => {
    const dir = tempDir();
    const base = envWithoutVmbot();
    const child = spawn(process.execPath, [CLI], {
      env: { ...base, VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_SIM_LATENCY_MS: '0', VMBOT_HTTP_PORT: '0', VMBOT_LOG_LEVEL: 'info' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    await until(() => /HTTP host listening on http:\/\/127\.0\.0\.1:\d+/.test(err) && err.includes('Policy '), 80_000);
    const url = /HTTP host listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)![1]!;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const line = err.split('\n').find((l) => l.includes('HTTP host listening'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'info', name: 'vmbot', component: 'http' });
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(err).toMatch(/"msg":"stopped"/);
  }, 120_000); // a cold process start on a loaded machine
});

describe('GET /metrics', () => {
  const value = (text: string, name: string, labels = '') => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  test('requests by command and status, decisions, action latency, audit append latency, pending approvals, active grants', async () => {
    const probe = new ProbeFrontEnd();
    const s = await serve({ frontEnds: [probe] });
    const url = s.http!.address().url;
    await say(url, 'local:alice', 'start web01');
    await say(url, 'local:alice', 'start db01');
    await say(url, 'local:mallory', 'start web01');
    await say(url, 'local:alice', 'console web01');
    await say(url, 'local:alice', 'request web05 --template web-small');
    await say(url, 'local:alice', 'frobnicate');
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = await res.text();
    expect(value(m, 'vmbot_requests_total', 'command="Start Virtual Machine",status="ok"')).toBe(1);
    expect(value(m, 'vmbot_requests_total', 'command="Start Virtual Machine",status="denied"')).toBe(2);
    expect(value(m, 'vmbot_requests_total', 'command="unparsed",status="invalid"')).toBe(1);
    expect(value(m, 'vmbot_decisions_total', 'decision="deny"')).toBe(2);
    expect(value(m, 'vmbot_decisions_total', 'decision="allow"')).toBeGreaterThanOrEqual(2);
    expect(value(m, 'vmbot_action_duration_seconds_count', 'operation="Start Virtual Machine",outcome="ok"')).toBe(1);
    expect(value(m, 'vmbot_audit_append_duration_seconds_count')).toBeGreaterThanOrEqual(8);
    expect(value(m, 'vmbot_pending_approvals')).toBe(1);
    expect(value(m, 'vmbot_active_console_grants')).toBe(1);
  });
});

describe('operator log', () => {
  test('honours the level and never writes a secret, wherever it sits in the logged object', async () => {
    const { createLogger } = await import('../src/log/logger');
    const lines: string[] = [];
    const dest = { write: (s: string) => void lines.push(s) };
    const log = createLogger('warn', dest);
    log.info('not shown');
    log.warn({ token: 'xoxb-1-2-secret', nested: { signingSecret: 's3cret', headers: { authorization: 'Bearer abc.def' } }, SLACK_APP_TOKEN: 'xapp-1-secret' }, 'shown');
    expect(lines).toHaveLength(1);
    const out = lines[0]!;
    expect(JSON.parse(out)).toMatchObject({ level: 'warn', msg: 'shown' });
    for (const secret of ['xoxb-1-2-secret', 's3cret', 'Bearer abc.def', 'xapp-1-secret']) expect(out).not.toContain(secret);
  });
});

describe('the outbox survives a restart', () => {
  test('a notice raised with no front-end up is kept in state and delivered once after a restart; cards sent before a restart are still updated after it', async () => {
    const { openApp } = await import('../src/app');
    const { testConfig } = await import('./support/app');
    const config = testConfig();
    // First run: no front-end; alice requests a VM; the process stops before anything is delivered.
    const first = await openApp(config);
    const r = await first.pipeline.handle({ principal: 'local:alice', text: 'request web05 --template web-small', channel: { kind: 'local', id: 't' } });
    const id = r.data!.requestId as string;
    await first.outbox.flush();
    expect(Object.keys(first.store.data.outbox)).toHaveLength(1);
    await first.close();
    // Second run, with a front-end: the card reaches both approvers exactly once.
    const probe = new ProbeFrontEnd();
    const s = await serve({ frontEnds: [probe] }, { VMBOT_DATA_DIR: config.VMBOT_DATA_DIR });
    await until(() => probe.delivered.length === 2);
    await until(() => Object.keys(s.app.store.data.outbox).length === 0);
    expect(probe.delivered.map((d) => d.user).sort()).toEqual(['carol', 'erin']);
    await s.stop();
    // Third run: the decision updates the cards sent in the second run.
    const probe3 = new ProbeFrontEnd();
    const s3 = await serve({ frontEnds: [probe3] }, { VMBOT_DATA_DIR: config.VMBOT_DATA_DIR });
    await s3.app.pipeline.handle({ principal: 'local:carol', text: `deny ${id}`, inputs: { reason: 'not now' }, channel: { kind: 'local', id: 't' } });
    await until(() => probe3.updated.length === 2);
    expect(probe3.updated.map((u) => u.sent.ref).sort()).toEqual(['msg-1', 'msg-2']);
    expect(probe3.delivered.filter((d) => d.notice.topic === `request:${id}`)).toHaveLength(0); // not sent again
  });
});
