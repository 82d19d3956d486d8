import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { tempDir } from './app';

/** One RFC 5424 message as a collector sees it. */
export interface SyslogMessage {
  raw: string;
  pri: number;
  /** TIMESTAMP ("-" when none). */
  time: string;
  msgid: string;
  sd: Record<string, string>;
  /** The record JSON (MSG). */
  msg: string;
}

/** RFC 5424; an SD-PARAM value is quoted and may hold \" \\ and \] escaped (6.3.3). */
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\]|-) (.*)$/s;

export function parseSyslog(raw: string): SyslogMessage {
  const m = RFC5424.exec(raw);
  if (!m) throw new Error(`not RFC 5424: ${raw.slice(0, 120)}`);
  const sd: Record<string, string> = {};
  for (const p of m[7]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) sd[p[1]!] = p[2]!.replace(/\\(.)/g, '$1');
  return { raw, pri: Number(m[1]), time: m[2]!, msgid: m[6]!, sd, msg: m[8]! };
}

/**
 * A syslog collector on 127.0.0.1 reading octet-counted frames (RFC 6587 3.4.1), over TCP or
 * TLS. It can be stopped (connections cut) and started again on the same port.
 */
/** Octet-counted frames (RFC 6587 3.4.1): the complete messages, and what is left of an incomplete one. */
export function splitFrames(buf: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  for (;;) {
    const sp = buf.indexOf(0x20);
    if (sp === -1) break;
    const len = Number(buf.toString('latin1', 0, sp));
    if (!Number.isInteger(len)) throw new Error(`bad frame: ${buf.toString('latin1', 0, 40)}`);
    if (buf.length < sp + 1 + len) break;
    messages.push(buf.toString('utf8', sp + 1, sp + 1 + len));
    buf = buf.subarray(sp + 1 + len);
  }
  return { messages, rest: buf };
}

export class SyslogCollector {
  readonly messages: SyslogMessage[] = [];
  port = 0;
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  constructor(private readonly tls?: { key: Buffer; cert: Buffer }) {}

  async start(): Promise<this> {
    const onConn = (s: Socket) => {
      this.sockets.add(s);
      let buf: Buffer = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        const { messages, rest } = splitFrames(Buffer.concat([buf, d]));
        for (const m of messages) this.messages.push(parseSyslog(m));
        buf = rest;
      });
      s.on('end', () => s.end());
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    };
    this.server = this.tls ? createTlsServer({ key: this.tls.key, cert: this.tls.cert }, onConn) : createNetServer(onConn);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Stop: no more connections, existing ones cut. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const c of this.sockets) c.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Record ids received, first arrival order, duplicates removed. */
  ids(): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    for (const m of this.messages) {
      const id = Number(m.sd.id);
      if (!seen.has(id)) {
        seen.add(id);
        out.push(id);
      }
    }
    return out;
  }
}

/** A test CA and a server certificate for 127.0.0.1 / localhost, made with the machine's openssl. */
export function makeTestCa(): { caFile: string; key: Buffer; cert: Buffer; otherCaFile: string } {
  const dir = tempDir('vmbot-ca-');
  const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  for (const name of ['ca', 'other']) {
    o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=vmbot test ${name}`);
  }
  o('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  o('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  return { caFile: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')), otherCaFile: join(dir, 'other.pem') };
}

/** A Splunk HEC stand-in: answers 503 while `down`, keeps every event with its headers. */
export class HecStandIn {
  readonly events: { id: number; event: Record<string, unknown>; auth: string | undefined }[] = [];
  /** Events in each accepted POST. */
  readonly posts: number[] = [];
  down = false;
  port = 0;
  private server: HttpServer | null = null;
  async start(): Promise<this> {
    this.server = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (this.down || req.url !== '/services/collector/event') {
          res.writeHead(this.down ? 503 : 404).end('{"text":"unavailable","code":9}');
          return;
        }
        const lines = body.split('\n').filter(Boolean);
        this.posts.push(lines.length);
        for (const line of lines) {
          const e = JSON.parse(line) as { event: Record<string, unknown>; fields: { id: number } };
          this.events.push({ id: e.fields.id, event: e.event, auth: req.headers.authorization });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/services/collector/event`;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    s?.closeAllConnections();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  ids(): number[] {
    return [...new Set(this.events.map((e) => e.id))];
  }
}
