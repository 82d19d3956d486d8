import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { ForwardItem, Sink } from './sink';

/** RFC 5424 facility 13, "log audit". */
const FACILITY = 13;
/** The private enterprise number RFC 5612 reserves for documentation and examples. */
export const SD_ID = 'vmbot@32473';
const WARN_OUTCOMES = new Set(['denied', 'failed', 'unknown']);

/** PRINTUSASCII only, at most 255 (RFC 5424 HOSTNAME). */
const HOST = (hostname().replace(/[^\x21-\x7e]/g, '') || '-').slice(0, 255);

/** An SD-PARAM value (RFC 5424 6.3.3): '"', '\\' and ']' escaped. */
const sd = (v: unknown) => String(v).replace(/["\\\]]/g, (c) => `\\${c}`);

/** What follows the timestamp and precedes the structured data: the same for every message. */
const ORIGIN = ` ${HOST} vmbot ${process.pid} `;

/** RFC 5424 TIMESTAMP (6.2.3, RFC 3339): what the writer's clock gives. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)$/;

/**
 * Everything of one record's RFC 5424 message before MSG (ending in the space before it): the
 * record's own time (NILVALUE if it is not a timestamp: an edited line's "time" could otherwise
 * shift every field after it), APP-NAME vmbot, MSGID audit (or checkpoint), its id, hash and
 * kind as structured data. A verified line's values need no escaping (checkLine and the writer
 * hold id to a number, hash to hex, kind to its names), so its header is ASCII; a line that
 * failed its check can hold anything.
 */
function syslogHeader(item: ForwardItem): string {
  const r = item.head;
  const severity = r.outcome && WARN_OUTCOMES.has(r.outcome) ? 4 : 5;
  const time = typeof r.time === 'string' && TIMESTAMP.test(r.time) ? r.time : '-';
  if (!item.verified) return `<${FACILITY * 8 + severity}>1 ${time}${ORIGIN}audit-unverified [${SD_ID} id="${sd(r.id)}" hash="${sd(r.hash)}" kind="${sd(r.kind)}"] `;
  const msgid = r.operation === 'audit.checkpoint' ? 'checkpoint' : 'audit';
  return `<${FACILITY * 8 + severity}>1 ${time}${ORIGIN}${msgid} [${SD_ID} id="${r.id}" hash="${r.hash}" kind="${r.kind}"] `;
}

/**
 * RFC 5424 messages (syslogHeader(), then the record JSON, byte for byte as on disk, as MSG),
 * framed by octet counting (RFC 6587 3.4.1; RFC 5425 for TLS), so a newline or anything else
 * inside a record can never split or join messages. Written straight into one buffer: it runs
 * beside the writer, and what it costs delays the appends it meets (bench/audit-assurance.ts).
 * So the record's bytes are copied, not encoded again, and an ASCII header is neither measured
 * nor encoded as UTF-8.
 */
export function syslogFrames(items: ForwardItem[]): Buffer {
  const heads: string[] = new Array(items.length);
  let size = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    const h = syslogHeader(it);
    const n = (it.verified ? h.length : Buffer.byteLength(h)) + it.line.length;
    heads[i] = `${n} ${h}`;
    size += n + String(n).length + 1;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    at += out.write(heads[i]!, at, it.verified ? 'latin1' : 'utf8');
    out.set(it.line, at);
    at += it.line.length;
  }
  if (at !== size) throw new Error(`syslog framing: ${at} bytes written where ${size} were counted (a line's byte length is wrong)`);
  return out;
}

export interface SyslogOptions {
  /** tcp://host:port or tls://host:port */
  url: string;
  /** PEM file of the CA(s) the collector's certificate must chain to (TLS). */
  caFile?: string;
  /** A record counts as received once written and the connection stayed up this long. */
  confirmMs?: number;
  connectTimeoutMs?: number;
}

/**
 * Syslog over TCP or TLS. Plain syslog has no acknowledgement, so "delivered" is inferred: a
 * record written to a connection that then stayed up for confirmMs, or that we closed cleanly
 * (the collector read to our end of stream and closed its side). Anything less is resent after
 * a reconnect: at-least-once, duplicates carry the same record id.
 *
 * Written here rather than with the `syslog-client` package: it frames TCP with a trailing
 * newline (non-transparent framing, which RFC 5425 does not allow over TLS and which a record
 * containing a newline would break), has no structured data, and reports no connection loss
 * between writes — the one thing at-least-once delivery needs to know.
 */
export class SyslogSink implements Sink<Buffer> {
  readonly name = 'syslog';
  readonly target: string;
  private readonly tls: boolean;
  private readonly host: string;
  private readonly port: number;
  private readonly ca?: Buffer;
  private readonly confirmMs: number;
  private readonly connectTimeoutMs: number;
  private socket: Socket | null = null;
  private dead = false;
  /** Written on the current connection, not yet confirmed: the last record of each delivery, and when. */
  private unconfirmed: { id: number; at: number }[] = [];
  private confirmedId = 0;

  constructor(opts: SyslogOptions) {
    const m = /^(tcp|tls):\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(opts.url);
    if (!m) throw new Error(`not a syslog URL: ${opts.url} (tcp://host:port or tls://host:port)`);
    this.tls = m[1] === 'tls';
    this.host = m[2]!.replace(/^\[|\]$/g, '');
    this.port = Number(m[3]);
    this.target = opts.url;
    this.ca = opts.caFile ? readFileSync(opts.caFile) : undefined;
    this.confirmMs = opts.confirmMs ?? 1000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s: Socket = this.tls
        ? tlsConnect({ host: this.host, port: this.port, ca: this.ca, servername: /^[\d.:]+$/.test(this.host) ? undefined : this.host })
        : netConnect({ host: this.host, port: this.port });
      const timer = setTimeout(() => s.destroy(new Error(`connecting to ${this.target} timed out`)), this.connectTimeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      s.once('error', fail);
      s.once(this.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', fail);
        s.setKeepAlive(true, 30_000);
        s.setNoDelay(true);
        this.dead = false;
        // Any loss of the connection voids what was not yet confirmed (it will be resent).
        const lost = () => {
          this.dead = true;
          this.unconfirmed = [];
          if (this.socket === s) this.socket = null;
        };
        s.on('error', lost);
        s.on('close', lost);
        s.on('end', lost); // the collector closed its side: it reads no more
        s.on('data', () => undefined); // a collector has nothing to say; never let its bytes pile up
        resolve(s);
      });
    });
  }

  encode(items: ForwardItem[]): Buffer {
    return syslogFrames(items);
  }

  async deliver(parts: Buffer[], lastId: number): Promise<void> {
    const s = this.socket ?? (this.socket = await this.connect().catch((e: Error) => {
      throw new Error(`syslog ${this.target}: ${e.message}`);
    }));
    // Corked: the slices leave in one system call (writev), not one each.
    await new Promise<void>((resolve, reject) => {
      s.cork();
      parts.forEach((p, i) => s.write(p, i === parts.length - 1 ? (e) => (e ? reject(new Error(`syslog ${this.target}: ${e.message}`)) : resolve()) : undefined));
      s.uncork();
    });
    if (this.dead || s.destroyed) throw new Error(`syslog ${this.target}: connection lost`);
    this.unconfirmed.push({ id: lastId, at: Date.now() });
  }

  confirmed(): number {
    const cutoff = Date.now() - this.confirmMs;
    if (!this.dead) while (this.unconfirmed.length && this.unconfirmed[0]!.at <= cutoff) this.confirmedId = this.unconfirmed.shift()!.id;
    return this.confirmedId;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (!s) return;
    const lastSent = this.dead ? undefined : this.unconfirmed[this.unconfirmed.length - 1]?.id;
    const clean = await new Promise<boolean>((resolve) => {
      let sawEnd = false;
      let hadError = false;
      const timer = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 5000);
      s.once('end', () => (sawEnd = true));
      s.once('error', () => (hadError = true));
      s.once('close', () => {
        clearTimeout(timer);
        resolve(sawEnd && !hadError);
      });
      s.end();
    });
    // The collector read up to our end of stream and closed: everything written reached it.
    if (clean && lastSent !== undefined) this.confirmedId = lastSent;
    this.unconfirmed = [];
  }
}
