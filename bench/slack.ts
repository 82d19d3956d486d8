/**
 * Slack ack latency (issue 8): 200 concurrent signed `/vm start` requests against vmbot's Slack
 * front-end (the real Bolt ExpressReceiver on the one HTTP host, pipeline after the ack), side by
 * side in the same run with a bare Bolt app whose /vm handler only acks. Ack latency = time to the
 * HTTP response (what Slack's 3-second limit measures). Target: vmbot p99 within 1.5x of bare.
 *
 * Fairness: the requests come from a worker thread (its own event loop, as Slack is another
 * machine), and after each vmbot burst the bench waits until every request has been answered
 * through response_url, so vmbot's work never spills into the bare app's burst (nor the next).
 *
 *   npx tsc -p tsconfig.bench.json && node dist/bench/slack.js   (BENCH_N=200, BENCH_ROUNDS=5)
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { slackFrontEnd } from '../src/adapters/slack/index';
import type { SlackFrontEnd } from '../src/adapters/slack/frontend';
import { loadConfig } from '../src/core/config';
import { silentLogger } from '../src/log/logger';
import { startServer } from '../src/serve';
import { envNumber, median, oneDecimal, percentile, writeResult } from './report';

const N = envNumber('BENCH_N', 200, { min: 1, integer: true });
const ROUNDS = envNumber('BENCH_ROUNDS', 5, { min: 1, integer: true });
const SECRET = 'abcdef0123456789abcdef0123456789';
const TOKEN = 'xoxb-1111111111-2222222222-benchbenchbench';

/** Slack's side: auth.test, chat.* and the response_url, all answered at once. */
async function standIn(): Promise<{ url: string; server: Server; responses: () => number }> {
  let responses = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/respond')) responses++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T0BENCH01', channel: 'D1', ts: '1.1' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, responses: () => responses };
}

function signed(text: string, user: string, responseUrl: string, i: number) {
  const body = new URLSearchParams({ team_id: 'T0BENCH01', channel_id: 'C1', user_id: user, command: '/vm', text, response_url: responseUrl, trigger_id: `${Date.now()}.${i}.${Math.random()}` }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const sig = `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig } };
}

/** In the worker: N requests at once; the ack latency of each (ms). */
async function burst(url: string, texts: string[], responseUrl: string): Promise<number[]> {
  const reqs = texts.map((text, i) => signed(text, 'U0ALICE001', responseUrl, i));
  return Promise.all(
    reqs.map(async (r) => {
      const t0 = performance.now();
      const res = await fetch(`${url}/slack/events`, { method: 'POST', headers: r.headers, body: r.body });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return performance.now() - t0;
    }),
  );
}

if (!isMainThread && workerData?.role === 'load') {
  parentPort!.on('message', (m: { url: string; texts: string[]; responseUrl: string }) => {
    burst(m.url, m.texts, m.responseUrl).then((lat) => parentPort!.postMessage(lat), (e) => parentPort!.postMessage({ error: String(e) }));
  });
}

/** The load generator: a worker thread that sends one burst per call. */
function loadGenerator() {
  const worker = new Worker(__filename, { workerData: { role: 'load' } });
  return {
    burst: (url: string, texts: string[], responseUrl: string) =>
      new Promise<number[]>((resolve, reject) => {
        worker.once('message', (m: number[] | { error: string }) => (Array.isArray(m) ? resolve(m) : reject(new Error(m.error))));
        worker.postMessage({ url, texts, responseUrl });
      }),
    stop: () => worker.terminate(),
  };
}

export async function main(): Promise<Record<string, unknown>> {
  const slack = await standIn();
  // Bare Bolt: the same receiver, a handler that only acks.
  const bareReceiver = new ExpressReceiver({ signingSecret: SECRET, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const bare = new App({ receiver: bareReceiver, token: TOKEN, botId: 'BBOT', botUserId: 'UBOT', clientOptions: { slackApiUrl: `${slack.url}/api/` }, logLevel: LogLevel.ERROR });
  bare.command('/vm', async ({ ack }) => void (await ack()));
  const bareServer = await bareReceiver.start(0) as Server;
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;

  const dir = mkdtempSync(join(tmpdir(), 'vmbot-bench-slack-'));
  // A fixture estate with enough VMs that every request starts a different one (alice's web*).
  const inventory = JSON.stringify(Array.from({ length: N * ROUNDS + 10 }, (_, i) => ({ name: `web${String(i).padStart(4, '0')}`, host: 'hv01', state: 'Off' })));
  const config = loadConfig({ VMBOT_DATA_DIR: dir, VMBOT_SIM_LATENCY_MS: '50', VMBOT_HTTP_PORT: '0', VMBOT_SLACK_API_URL: `${slack.url}/api/`, VMBOT_SIM_INVENTORY: inventory });
  const server = await startServer(config, { log: silentLogger(), factories: [slackFrontEnd], env: { SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SECRET } });
  const vmbotUrl = server.http!.address().url;

  const frontEnd = server.frontEnds[0] as SlackFrontEnd;
  const load = loadGenerator();
  const res = { vmbot: [] as number[], bare: [] as number[] };
  let vm = 0;
  for (let round = 0; round < ROUNDS + 1; round++) {
    // Alternate which goes first; round 0 warms both up and is not counted.
    const order = round % 2 ? (['bare', 'vmbot'] as const) : (['vmbot', 'bare'] as const);
    for (const which of order) {
      const lat = which === 'bare'
        ? await load.burst(bareUrl, Array.from({ length: N }, () => 'start web01'), `${slack.url}/respond/b`)
        : await load.burst(vmbotUrl, Array.from({ length: N }, () => `start web${String(vm++).padStart(4, '0')}`), `${slack.url}/respond/v`);
      // Every request answered (its final reply through response_url) before the next burst.
      if (which === 'vmbot') await frontEnd.settled();
      if (round > 0) res[which].push(...lat);
    }
  }
  await load.stop();
  await server.stop();
  await bare.stop().catch(() => undefined);
  bareServer.close();
  slack.server.close();
  rmSync(dir, { recursive: true, force: true });

  const stats = (xs: number[]) => ({ medianMs: oneDecimal(median(xs)), p99Ms: oneDecimal(percentile(xs, 99)), n: xs.length });
  const out = { concurrency: N, rounds: ROUNDS, vmbot: stats(res.vmbot), bareBolt: stats(res.bare) };
  const ratio = Math.round((out.vmbot.p99Ms / out.bareBolt.p99Ms) * 100) / 100;
  const result = { ...out, target: { p99Ratio: ratio, max: 1.5, pass: ratio <= 1.5 }, answered: slack.responses(), note: 'same run, loopback; load from a worker thread; vmbot drained after each burst' };
  writeResult('slack', result);
  return result;
}

if (isMainThread && require.main === module) void main();
