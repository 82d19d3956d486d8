/**
 * Issue 9, SIEM forwarding: every record reaches the collector once per delivery, in order;
 * a collector that is down, or a bot that restarts, loses nothing (at-least-once: duplicates
 * carry the record id).
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_OPERATION } from '../src/audit/checkpoint';
import { loadConfig } from '../src/core/config';
import { cursorFileFor, Forwarder } from '../src/audit/forward/forwarder';
import { HttpSink } from '../src/audit/forward/http';
import { SyslogSink, syslogFrames } from '../src/audit/forward/syslog';
import type { ForwardItem, Sink } from '../src/audit/forward/sink';
import { AuditLog } from '../src/audit/log';
import type { AuditRecord } from '../src/audit/record';
import { generateAuditKeys } from '../src/audit/keys';
import { listSegments } from '../src/audit/segments';
import { openTestApp, tempDir, type TestApp } from './support/app';
import { HecStandIn, makeTestCa, parseSyslog, splitFrames, SyslogCollector } from './support/collectors';
import { vmbot } from './support/cli';

jest.setTimeout(60_000);

/** Every record on disk, in order, as the exact lines. */
function diskLines(dataDir: string): { id: number; line: string }[] {
  return listSegments(join(dataDir, 'audit')).flatMap((s) =>
    readFileSync(s.file, 'utf8').split('\n').filter(Boolean).map((line) => ({ id: (JSON.parse(line) as { id: number }).id, line })));
}
const allIds = (dataDir: string) => diskLines(dataDir).map((r) => r.id);

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function traffic(app: TestApp, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await app.say(i % 2 ? 'alice' : 'bob', i % 3 ? 'status web01' : 'whoami');
}

describe('syslog forwarding (RFC 5424, octet counting)', () => {
  const apps: TestApp[] = [];
  const collectors: SyslogCollector[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    for (const c of collectors.splice(0)) await c.stop();
  });
  const open = async (dataDir: string, env: Record<string, string>) => {
    const app = await openTestApp({ VMBOT_DATA_DIR: dataDir, ...env });
    apps.push(app);
    return app;
  };
  const closeApp = async (app: TestApp) => {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
  };

  test('over TCP: every record, in order, as the bytes on disk, with id and hash as structured data', async () => {
    const col = await new SyslogCollector().start();
    collectors.push(col);
    const dataDir = tempDir();
    const app = await open(dataDir, { VMBOT_AUDIT_SYSLOG: `tcp://127.0.0.1:${col.port}` });
    await traffic(app, 12);
    await until('all records', () => col.ids().length === allIds(dataDir).length);
    expect(col.ids()).toEqual(allIds(dataDir));
    const disk = new Map(diskLines(dataDir).map((r) => [r.id, r.line]));
    for (const m of col.messages) {
      expect(m.msg).toBe(disk.get(Number(m.sd.id)));
      expect(m.sd.hash).toBe((JSON.parse(m.msg) as { hash: string }).hash);
      expect(m.msgid).toBe('audit');
      expect(m.pri >> 3).toBe(13); // facility "log audit"
    }
    // a denial is a warning, a status a notice
    await app.say('mallory', 'start web01');
    await until('the denial', () => col.messages.some((m) => m.msg.includes('"user":"mallory"')));
    expect(col.messages.find((m) => m.msg.includes('"user":"mallory"'))!.pri & 7).toBe(4);
  });

  test('signed checkpoints reach the collector in the stream, and its copy verifies the log', async () => {
    const col = await new SyslogCollector().start();
    collectors.push(col);
    const dataDir = tempDir();
    const keys = generateAuditKeys(tempDir('vmbot-keys-'));
    const app = await open(dataDir, { VMBOT_AUDIT_SYSLOG: `tcp://127.0.0.1:${col.port}`, VMBOT_AUDIT_KEY_FILE: keys.keyFile, VMBOT_AUDIT_CHECKPOINT_RECORDS: '5' });
    await traffic(app, 8);
    await closeApp(app); // final checkpoint, delivered before the sink closes
    expect(col.ids()).toEqual(allIds(dataDir));
    const cps = col.messages.filter((m) => m.msgid === 'checkpoint');
    expect(cps.length).toBeGreaterThanOrEqual(2);
    // the collector's copy is the independent one: verify against it, with the local checkpoint file gone
    const siem = join(tempDir('vmbot-siem-'), 'syslog.log');
    writeFileSync(siem, col.messages.map((m) => m.raw).join('\n') + '\n');
    rmSync(join(dataDir, 'audit-checkpoints.jsonl'));
    const ok = vmbot(['audit', 'verify', '--pubkey', keys.pubFile, '--checkpoints', siem], { VMBOT_DATA_DIR: dataDir });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`Checkpoints: ${cps.length} signed checkpoint\\(s\\)`));
    // and a cut tail on the host is caught by it
    const seg = listSegments(join(dataDir, 'audit')).at(-1)!.file;
    writeFileSync(seg, readFileSync(seg, 'utf8').split('\n').filter(Boolean).slice(0, -3).join('\n') + '\n');
    const cut = vmbot(['audit', 'verify', '--pubkey', keys.pubFile, '--checkpoints', siem], { VMBOT_DATA_DIR: dataDir });
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(/BROKEN: records #\d+–#\d+ are missing/);
  });

  test('over TLS with a test CA; a collector whose certificate does not chain to the CA gets nothing', async () => {
    const ca = makeTestCa();
    const col = await new SyslogCollector({ key: ca.key, cert: ca.cert }).start();
    collectors.push(col);
    const dataDir = tempDir();
    const app = await open(dataDir, { VMBOT_AUDIT_SYSLOG: `tls://127.0.0.1:${col.port}`, VMBOT_AUDIT_SYSLOG_CA: ca.caFile });
    await traffic(app, 6);
    await until('all records over TLS', () => col.ids().length === allIds(dataDir).length);
    expect(col.ids()).toEqual(allIds(dataDir));

    const wrong = tempDir();
    const app2 = await open(wrong, { VMBOT_AUDIT_SYSLOG: `tls://127.0.0.1:${col.port}`, VMBOT_AUDIT_SYSLOG_CA: ca.otherCaFile });
    const before = col.messages.length;
    await traffic(app2, 3);
    await until('a certificate error', () => /certificate/i.test(app2.assurance.forwarding()[0]!.lastError ?? ''));
    expect(col.messages.length).toBe(before);
    expect(app2.assurance.forwarding()[0]!.lagRecords).toBeGreaterThan(0);
  });

  test.each(['tcp', 'tls'] as const)('over %s: collector down, records written, collector back, bot restarted (twice): every record arrives, none lost', async (proto) => {
    const ca = proto === 'tls' ? makeTestCa() : null;
    const col = await new SyslogCollector(ca ? { key: ca.key, cert: ca.cert } : undefined).start();
    collectors.push(col);
    const dataDir = tempDir();
    const env: Record<string, string> = { VMBOT_AUDIT_SYSLOG: `${proto}://127.0.0.1:${col.port}`, ...(ca ? { VMBOT_AUDIT_SYSLOG_CA: ca.caFile } : {}) };
    let app = await open(dataDir, env);
    await traffic(app, 5);
    await until('first records', () => col.ids().length === allIds(dataDir).length);

    await col.stop();
    await traffic(app, 20); // written while the collector is down
    await until('the outage to be noticed', () => app.assurance.forwarding()[0]!.lastError !== null);
    expect(app.assurance.forwarding()[0]!.lagRecords).toBeGreaterThan(0);
    // the lag is on /metrics while the collector is away
    const during = (await app.metrics.text()).body;
    expect(Number(/^vmbot_audit_forward_lag_records\{sink="syslog"\} (\d+)$/m.exec(during)![1])).toBeGreaterThan(0);
    expect(during).toMatch(/^vmbot_audit_forward_failing\{sink="syslog"\} 1$/m);
    await col.start(); // same port
    await until('the backlog', () => col.ids().length === allIds(dataDir).length);
    await until('the lag to clear', () => app.assurance.forwarding()[0]!.lagRecords === 0);
    expect((await app.metrics.text()).body).toMatch(/^vmbot_audit_forward_lag_records\{sink="syslog"\} 0$/m);

    // restart the bot while everything is delivered: nothing is sent twice
    await closeApp(app);
    const afterClose = col.messages.length;
    app = await open(dataDir, env);
    await new Promise((r) => setTimeout(r, 500));
    expect(col.messages.length).toBe(afterClose);
    await traffic(app, 3);

    // collector down, bot stopped with records undelivered, collector back, bot started
    await until('delivered', () => col.ids().length === allIds(dataDir).length);
    await col.stop();
    await traffic(app, 7);
    await closeApp(app);
    await col.start();
    app = await open(dataDir, env);
    await until('everything after both restarts', () => col.ids().length === allIds(dataDir).length);
    expect(col.ids()).toEqual(allIds(dataDir)); // in order, none missing
    await closeApp(app);

    // `audit status` shows the sink caught up
    const st = vmbot(['audit', 'status', '--json'], { VMBOT_DATA_DIR: dataDir, ...env });
    const s = JSON.parse(st.stdout) as { forwarding: { sink: string; lagRecords: number }[] };
    expect(s.forwarding).toEqual([expect.objectContaining({ sink: 'syslog', lagRecords: 0 })]);
  });
});

describe('HTTP (Splunk HEC-style) forwarding', () => {
  test('a backlog goes out in POSTs of at most 500 events (a collector limits a request\'s size), all of it, in order', async () => {
    const hec = await new HecStandIn().start();
    const dir = join(tempDir(), 'audit');
    const log = await AuditLog.open(dir);
    await Promise.all(Array.from({ length: 1200 }, (_, i) => log.append({ kind: 'event', correlationId: `c${i}`, operation: 'vm.status', outcome: 'ok' })));
    const f = await new Forwarder(dir, new HttpSink({ url: hec.url }), join(dir, '..', 'cursor.json'), { log }).start();
    try {
      await until('the backlog', () => hec.ids().length === 1200, 10_000);
    } finally {
      await f.stop(0);
      await log.close();
      await hec.stop();
    }
    expect(hec.ids()).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(hec.posts.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...hec.posts)).toBeLessThanOrEqual(500);
  });

  test('VMBOT_AUDIT_HTTP_MAX_EVENTS: a collector that takes fewer events a request gets no more, and all of them; a value out of range is refused naming the variable', async () => {
    const hec = await new HecStandIn().start();
    const dataDir = tempDir();
    hec.down = true; // a backlog builds up
    const app = await openTestApp({ VMBOT_DATA_DIR: dataDir, VMBOT_AUDIT_HTTP_URL: hec.url, VMBOT_AUDIT_HTTP_MAX_EVENTS: '7' });
    try {
      await traffic(app, 30);
      await until('the 503 to be noticed', () => /HTTP 503/.test(app.assurance.forwarding()[0]!.lastError ?? ''));
      hec.down = false;
      await until('everything', () => hec.ids().length === allIds(dataDir).length);
      expect(hec.ids()).toEqual(allIds(dataDir));
      expect(allIds(dataDir).length).toBeGreaterThan(20);
      expect(Math.max(...hec.posts)).toBe(7);
    } finally {
      await app.close();
      await hec.stop();
    }
    for (const bad of ['0', '10001', 'lots']) {
      expect(() => loadConfig({ VMBOT_AUDIT_HTTP_MAX_EVENTS: bad })).toThrow(/VMBOT_AUDIT_HTTP_MAX_EVENTS/);
    }
  });

  test('token from the environment; a collector answering 503 and then gone loses nothing across a bot restart', async () => {
    const hec = await new HecStandIn().start();
    const dataDir = tempDir();
    const token = 'hec-token-0f3a9c2e-7b41-4d2a-9e55-1c2d3e4f5a6b';
    const keys = generateAuditKeys(tempDir('vmbot-keys-'));
    const env = { VMBOT_AUDIT_HTTP_URL: hec.url, VMBOT_AUDIT_HTTP_TOKEN: token, VMBOT_AUDIT_KEY_FILE: keys.keyFile, VMBOT_AUDIT_CHECKPOINT_RECORDS: '5' };
    let app = await openTestApp({ VMBOT_DATA_DIR: dataDir, ...env });
    try {
      await traffic(app, 5);
      await until('first events', () => hec.ids().length === allIds(dataDir).length);
      expect(hec.events.every((e) => e.auth === `Splunk ${token}`)).toBe(true);

      hec.down = true; // 503
      await traffic(app, 8);
      await until('the 503 to be noticed', () => /HTTP 503/.test(app.assurance.forwarding()[0]!.lastError ?? ''));
      await app.close();
      await hec.stop(); // and then gone entirely
      app = await openTestApp({ VMBOT_DATA_DIR: dataDir, ...env });
      await traffic(app, 4);
      await until('connection refused', () => /ECONNREFUSED/.test(app.assurance.forwarding()[0]!.lastError ?? ''));
      hec.down = false;
      await hec.start();
      await until('everything', () => hec.ids().length === allIds(dataDir).length);
      expect(hec.ids()).toEqual(allIds(dataDir));
      const disk = new Map(diskLines(dataDir).map((r) => [r.id, JSON.parse(r.line) as unknown]));
      for (const e of hec.events) expect(e.event).toEqual(disk.get(e.id));
      // signed checkpoints reach this sink too (a copy the host admin cannot rewrite)
      expect(hec.events.filter((e) => e.event.operation === CHECKPOINT_OPERATION).length).toBeGreaterThanOrEqual(2);
      // restarted with everything delivered: nothing is sent twice
      await app.close();
      const delivered = hec.events.length;
      app = await openTestApp({ VMBOT_DATA_DIR: dataDir, ...env });
      await new Promise((r) => setTimeout(r, 500));
      expect(hec.events.length).toBe(delivered);
      // the token is never written anywhere: data directory (state, cursors, audit, checkpoints), status, metrics
      const files = (readdirSync(dataDir, { recursive: true }) as string[]).map((f) => join(dataDir, f)).filter((f) => statSync(f).isFile());
      expect(files).toContain(cursorFileFor(dataDir, 'http'));
      for (const f of files) expect(`${f}: ${readFileSync(f, 'utf8').includes(token)}`).toBe(`${f}: false`);
      const st = vmbot(['audit', 'status'], { VMBOT_DATA_DIR: dataDir, ...env });
      expect(st.stdout).toMatch(/http/);
      expect(st.stdout + st.stderr).not.toContain(token);
      expect((await app.metrics.text()).body).not.toContain(token);
    } finally {
      await app.close();
      await hec.stop();
    }
  });
});

describe('the forwarder behind a live writer', () => {
  /** Records what it is sent; fails every send while `down`. */
  class RecordingSink implements Sink<ForwardItem[]> {
    readonly name = 'test';
    readonly target = 'memory';
    down = false;
    received: ForwardItem[] = [];
    /** Per encode: how many records, and whether the writer's fdatasync was with the disk then. */
    encodes: { n: number; syncing: boolean; appending: boolean }[] = [];
    deliveries: number[] = [];
    log: AuditLog | null = null;
    appending = false;
    encode(items: ForwardItem[]): ForwardItem[] {
      this.encodes.push({ n: items.length, syncing: this.log?.syncing ?? false, appending: this.appending });
      return items;
    }
    async deliver(parts: ForwardItem[][]): Promise<void> {
      if (this.down) throw new Error('collector down');
      this.deliveries.push(parts.length);
      this.received.push(...parts.flat());
    }
    confirmed(): number {
      return this.received[this.received.length - 1]?.id ?? 0;
    }
    async close(): Promise<void> {}
  }

  test('the writer\'s fresh lines and lines read back from disk go out alike: the bytes on disk, in order, once, across a segment rotation and an outage longer than memory holds', async () => {
    const dir = join(tempDir(), 'audit');
    const log = await AuditLog.open(dir, { segmentRecords: 60 });
    const sink = new RecordingSink();
    const f = await new Forwarder(dir, sink, join(dir, '..', 'cursor.json'), { log, memoryLines: 20, coalesceMs: 5, pollMs: 50 }).start();
    try {
      const event = (i: number) => log.append({ kind: 'event', correlationId: `c${i}`, operation: 'vm.status', outcome: i % 5 ? 'ok' : 'denied', details: { i, text: 'ünïcode ✓' } });
      // One at a time, and in bursts that the writer commits together.
      for (let i = 0; i < 12; i++) await event(i);
      await Promise.all(Array.from({ length: 9 }, (_, i) => event(100 + i)));
      await until('caught up', () => sink.confirmed() === log.head.id, 10_000);
      sink.down = true;
      for (let i = 0; i < 35; i++) await event(200 + i); // more than memory keeps
      await until('the outage to be noticed', () => f.status().lastError !== null, 10_000);
      sink.down = false;
      await Promise.all(Array.from({ length: 6 }, (_, i) => event(300 + i)));
      await until('the backlog', () => sink.confirmed() === log.head.id, 10_000);
      for (let i = 0; i < 40; i++) await event(400 + i); // live again, into the next segment
      await until('the rest', () => sink.confirmed() === log.head.id, 10_000);
    } finally {
      await f.stop(0);
      await log.close();
    }
    const disk = listSegments(dir).flatMap((s) => readFileSync(s.file, 'utf8').split('\n').filter(Boolean));
    expect(listSegments(dir).length).toBe(2);
    expect(sink.received.map((it) => it.line.toString('utf8'))).toEqual(disk);
    expect(sink.received.every((it) => it.verified)).toBe(true);
    // Framed for syslog (straight into one buffer, by each line's byte length): every line intact.
    const framed = splitFrames(syslogFrames(sink.received));
    expect(framed.rest.length).toBe(0);
    expect(framed.messages.map((m) => parseSyslog(m).msg)).toEqual(disk);
    for (const it of sink.received) {
      const rec = JSON.parse(it.line.toString('utf8')) as AuditRecord;
      expect(it.head).toMatchObject({ id: rec.id, time: rec.time, hash: rec.hash, kind: rec.kind, outcome: rec.outcome, operation: rec.operation });
    }
  });

  test('beside a busy writer, records are read and encoded a few at a time while its fdatasync is with the disk, and delivered together', async () => {
    // Work on the writer's thread delays an append whose commit completes meanwhile; done while
    // the disk is busy with the commit, it delays none (bench/audit-assurance.ts measures it).
    const dir = join(tempDir(), 'audit');
    const log = await AuditLog.open(dir);
    const sink = new RecordingSink();
    sink.log = log;
    const f = await new Forwarder(dir, sink, join(dir, '..', 'cursor.json'), { log, slice: 8, coalesceMs: 50, pollMs: 50 }).start();
    try {
      sink.appending = true;
      for (let i = 0; i < 600; i++) await log.append({ kind: 'event', correlationId: `c${i}`, operation: 'vm.status', outcome: 'ok' });
      sink.appending = false;
      await until('caught up', () => sink.confirmed() === log.head.id, 10_000);
    } finally {
      await f.stop(0);
      await log.close();
    }
    const busy = sink.encodes.filter((e) => e.appending);
    expect(busy.length).toBeGreaterThan(10);
    expect(busy.every((e) => e.n <= 8 && e.syncing)).toBe(true);
    // Slices go out together: fewer deliveries than slices.
    expect(Math.max(...sink.deliveries)).toBeGreaterThan(1);
    const disk = listSegments(dir).flatMap((s) => readFileSync(s.file, 'utf8').split('\n').filter(Boolean));
    expect(sink.received.map((it) => it.line.toString('utf8'))).toEqual(disk);
  });

  test('beside an idle writer, fresh records are encoded a slice at a time with the event loop turning between slices (a request arriving meanwhile waits for one slice, not a batch); a backlog on disk goes in whole batches', async () => {
    const dir = join(tempDir(), 'audit');
    const log = await AuditLog.open(dir);
    const event = (i: number) => log.append({ kind: 'event', correlationId: `c${i}`, operation: 'vm.status', outcome: 'ok' });
    class TurnSink extends RecordingSink {
      /** Per encode: whether the event loop turned (a setImmediate ran) since the one before. */
      turned: boolean[] = [];
      private turn = true;
      override encode(items: ForwardItem[]): ForwardItem[] {
        this.turned.push(this.turn);
        this.turn = false;
        setImmediate(() => (this.turn = true));
        return super.encode(items);
      }
    }
    const live = new TurnSink();
    live.log = log;
    const f = await new Forwarder(dir, live, join(dir, '..', 'cursor.json'), { log, slice: 8, coalesceMs: 100, pollMs: 50 }).start();
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => event(i))); // a burst, then the writer is idle
      await until('caught up', () => live.confirmed() === log.head.id, 10_000);
    } finally {
      await f.stop(0);
    }
    expect(live.encodes.length).toBeGreaterThan(10);
    expect(live.encodes.every((e) => e.n <= 8)).toBe(true);
    // (A slice taken during a commit, on a slow disk, follows the commit's completion instead.)
    expect(live.turned.every((turned, i) => turned || live.encodes[i]!.syncing)).toBe(true);
    // Read back from disk (no live lines to hand): a catch-up, at once.
    const head = log.head.id;
    const backlog = new TurnSink();
    const g = await new Forwarder(dir, backlog, join(dir, '..', 'cursor-backlog.json'), { log, slice: 8, coalesceMs: 100, pollMs: 50 }).start();
    try {
      await until('the backlog', () => backlog.confirmed() === head, 10_000);
    } finally {
      await g.stop(0);
      await log.close();
    }
    expect(backlog.encodes[0]!.n).toBe(head);
    const disk = listSegments(dir).flatMap((s) => readFileSync(s.file, 'utf8').split('\n').filter(Boolean));
    expect(live.received.map((it) => it.line.toString('utf8'))).toEqual(disk);
    expect(backlog.received.map((it) => it.line.toString('utf8'))).toEqual(disk);
  });

  test('while records flow the cursor is written once an interval, the first at a random point of the first (forwarders started together do not write in step); a stop writes it at once', async () => {
    // Each write (temp file, fsync, rename) waits on the disk beside the writer's fdatasync.
    const dir = join(tempDir(), 'audit');
    const cursorFile = join(dir, '..', 'cursor.json');
    const log = await AuditLog.open(dir);
    const sink = new RecordingSink();
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const started = Date.now();
    const f = await new Forwarder(dir, sink, cursorFile, { log, cursorEveryMs: 1000, coalesceMs: 20, pollMs: 50 }).start();
    random.mockRestore();
    // Each write as the file shows it (its updatedAt), with when it was seen.
    const writes: { at: number; id: number; updatedAt: string }[] = [];
    const watch = setInterval(() => {
      let c: { id: number; updatedAt: string };
      try {
        c = JSON.parse(readFileSync(cursorFile, 'utf8')) as typeof c;
      } catch {
        return; // not written yet
      }
      if (c.updatedAt !== writes.at(-1)?.updatedAt) writes.push({ at: Date.now() - started, id: c.id, updatedAt: c.updatedAt });
    }, 5);
    try {
      for (let i = 0; Date.now() - started < 2600; i++) {
        await log.append({ kind: 'event', correlationId: `c${i}`, operation: 'vm.status', outcome: 'ok' });
        await new Promise((r) => setTimeout(r, 10));
      }
      await until('caught up', () => sink.confirmed() === log.head.id, 10_000);
    } finally {
      clearInterval(watch);
      await f.stop(0);
    }
    // Records went out from the first moments on; the cursor not before half an interval.
    expect(sink.deliveries.length).toBeGreaterThan(20);
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.length).toBeLessThanOrEqual(3);
    expect(writes[0]!.at).toBeGreaterThanOrEqual(480);
    expect(writes[0]!.at).toBeLessThan(1500);
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(950);
    expect(writes.every((w, i) => i === 0 || w.id > writes[i - 1]!.id)).toBe(true);
    expect((JSON.parse(readFileSync(cursorFile, 'utf8')) as { id: number }).id).toBe(log.head.id);
    await log.close();
  });
});

describe('a line that fails its check', () => {
  test('is forwarded all the same, marked audit-unverified, and what it holds cannot break the structured data', async () => {
    const col = await new SyslogCollector().start();
    const dir = join(tempDir(), 'audit');
    const log = await AuditLog.open(dir);
    for (let i = 0; i < 3; i++) await log.append({ kind: 'event', correlationId: `c${i}`, operation: 'vm.status', outcome: 'ok' });
    await log.close();
    // Someone edits the middle record in place, with a "hash" made to end the SD element early
    // and a "time" with spaces (which would shift every header field after it) and non-ASCII.
    const file = listSegments(dir)[0]!.file;
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const forged = { ...(JSON.parse(lines[1]!) as Record<string, unknown>), outcome: 'denied', time: 'gestern um 12 Uhr ü', hash: 'f00"] [evil@1 x="y\\' };
    lines[1] = JSON.stringify(forged);
    writeFileSync(file, lines.join('\n') + '\n');
    const f = await new Forwarder(dir, new SyslogSink({ url: `tcp://127.0.0.1:${col.port}` }), join(dir, '..', 'cursor.json')).start();
    try {
      await until('three messages', () => col.messages.length === 3, 10_000);
    } finally {
      await f.stop(0);
      await col.stop();
    }
    expect(col.messages.map((m) => m.msgid)).toEqual(['audit', 'audit-unverified', 'audit']);
    expect(col.messages.map((m) => m.msg)).toEqual(lines);
    expect(col.messages[1]!.sd).toEqual({ id: '2', hash: forged.hash, kind: 'event' });
    // A time that is no RFC 5424 TIMESTAMP goes as NILVALUE; the record keeps it in MSG.
    expect(col.messages.map((m) => m.time)).toEqual([(JSON.parse(lines[0]!) as AuditRecord).time, '-', (JSON.parse(lines[2]!) as AuditRecord).time]);
  });
});
