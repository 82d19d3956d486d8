import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import type { ForwardItem, Sink } from './sink';

const NEWLINE = Buffer.from('\n');

export interface HttpSinkOptions {
  url: string;
  /** Sent as "Authorization: Splunk <token>" (HEC); never logged. */
  token?: string;
  caFile?: string;
  timeoutMs?: number;
  /** Events per POST at most (default 500). */
  maxEvents?: number;
}

/**
 * An HTTP JSON collector in Splunk HEC's event format: one POST per batch, the events
 * concatenated, each `{time, host, source, sourcetype, event: <record>, fields: {id, hash}}`.
 * A 2xx answer acknowledges the whole batch; anything else (or no answer) is retried.
 */
export class HttpSink implements Sink<Buffer> {
  readonly name = 'http';
  readonly target: string;
  /** By default about 300 KB a POST: HEC refuses a request over its max_content_length (1 MB in older Splunk releases). */
  readonly maxBatch: number;
  private readonly url: URL;
  private readonly ca?: Buffer;
  private confirmedId = 0;

  constructor(private readonly opts: HttpSinkOptions) {
    this.url = new URL(opts.url);
    this.maxBatch = opts.maxEvents ?? 500;
    this.target = `${this.url.origin}${this.url.pathname}`;
    this.ca = opts.caFile ? readFileSync(opts.caFile) : undefined;
  }

  private readonly envelope = `"host":${JSON.stringify(hostname())},"source":"vmbot","sourcetype":"vmbot:audit"`;

  /**
   * The slice's events, one per line. The record goes in as its line, byte for byte as on disk
   * (it is JSON already), copied, not encoded again (this runs beside the writer).
   */
  encode(items: ForwardItem[]): Buffer {
    const out: Buffer[] = [];
    items.forEach((it, i) => {
      out.push(Buffer.from(`${i ? '\n' : ''}{"time":${JSON.stringify(Date.parse(it.head.time) / 1000)},${this.envelope},"event":`), it.line);
      out.push(Buffer.from(`,"fields":${JSON.stringify({ id: it.id, hash: it.head.hash, verified: it.verified })}}`));
    });
    return Buffer.concat(out);
  }

  deliver(parts: Buffer[], lastId: number): Promise<void> {
    const body = Buffer.concat(parts.flatMap((p, i) => (i ? [NEWLINE, p] : [p])));
    const req = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      const r = req(this.url, {
        method: 'POST', ca: this.ca, timeout: this.opts.timeoutMs ?? 15_000,
        headers: {
          'content-type': 'application/json', 'content-length': body.length,
          ...(this.opts.token ? { authorization: `Splunk ${this.opts.token}` } : {}),
        },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => void (text.length < 500 && (text += c)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            this.confirmedId = lastId;
            resolve();
          } else reject(new Error(`http ${this.target}: HTTP ${status} ${text.slice(0, 200).replace(/\s+/g, ' ')}`));
        });
      });
      r.on('timeout', () => r.destroy(new Error('no answer in time')));
      r.on('error', (e) => reject(new Error(`http ${this.target}: ${e.message}`)));
      r.end(body);
    });
  }

  confirmed(): number {
    return this.confirmedId;
  }

  async close(): Promise<void> {}
}
