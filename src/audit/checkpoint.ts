import { sign, verify, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../core/hash';
import { appendFileDurable } from '../state/durable-file';
import type { Anchor } from './chain';
import type { AuditLog } from './log';
import type { AuditRecord } from './record';

export const CHECKPOINT_TYPE = 'vmbot.audit.checkpoint' as const;
export const CHECKPOINT_OPERATION = 'audit.checkpoint';

/**
 * A signed statement "the log held `records` records, the last with hash `head`, in segment
 * `segment`, at `time`". Signed with Ed25519 over the canonical JSON of every field but `sig`.
 * Hex, not base64, for the signature: no secret-shape redaction can mistake it for a key.
 */
export const CheckpointSchema = z.strictObject({
  type: z.literal(CHECKPOINT_TYPE),
  v: z.literal(1),
  records: z.number().int().positive(),
  head: z.string().regex(/^[0-9a-f]{64}$/),
  segment: z.number().int().positive(),
  time: z.string(),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  sig: z.string().regex(/^[0-9a-f]{128}$/),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

const payload = (cp: Omit<Checkpoint, 'sig'> | Checkpoint) => {
  const { sig: _s, ...body } = cp as Checkpoint;
  return Buffer.from(canonicalJson(body));
};

export function signCheckpoint(body: Omit<Checkpoint, 'sig' | 'type' | 'v' | 'keyId'>, key: KeyObject, keyId: string): Checkpoint {
  const unsigned = { type: CHECKPOINT_TYPE, v: 1 as const, ...body, keyId };
  return { ...unsigned, sig: sign(null, payload(unsigned), key).toString('hex') };
}

/** null if the checkpoint is signed by one of `keys`; otherwise why it is refused. */
export function checkCheckpointSignature(cp: Checkpoint, keys: Map<string, KeyObject>): string | null {
  const key = keys.get(cp.keyId);
  if (!key) return `signed by key ${cp.keyId}, which is not among the public keys given: refused`;
  return verify(null, payload(cp), key, Buffer.from(cp.sig, 'hex')) ? null : `its signature does not verify with key ${cp.keyId} (forged or altered): refused`;
}

export const checkpointLabel = (cp: Checkpoint) => `checkpoint of ${cp.time} (key ${cp.keyId})`;
export const anchorOf = (cp: Checkpoint): Anchor => ({ records: cp.records, head: cp.head, segment: cp.segment, label: checkpointLabel(cp) });

/** The checkpoint an audit record carries (the bot logs each one it signs), if any. */
export function checkpointInRecord(rec: Pick<AuditRecord, 'operation' | 'details'>): Checkpoint | null {
  if (rec.operation !== CHECKPOINT_OPERATION) return null;
  const r = CheckpointSchema.safeParse((rec.details as { checkpoint?: unknown } | null)?.checkpoint);
  return r.success ? r.data : null;
}

export interface FoundCheckpoint {
  cp: Checkpoint;
  file: string;
  line: number;
}

/**
 * Checkpoints from a file or every file of a directory. A line may be a checkpoint, an audit
 * record carrying one, or any text (a syslog line, a SIEM export) ending in such JSON: copies
 * kept elsewhere can be fed as they are. Lines that hold none are counted, not fatal.
 */
export function readCheckpoints(path: string): { found: FoundCheckpoint[]; ignoredLines: number; files: string[] } {
  let files: string[];
  try {
    files = statSync(path).isDirectory() ? readdirSync(path).sort().map((f) => join(path, f)).filter((f) => statSync(f).isFile()) : [path];
  } catch {
    return { found: [], ignoredLines: 0, files: [] };
  }
  const found: FoundCheckpoint[] = [];
  let ignoredLines = 0;
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (!text.trim()) return;
      const cp = parseCheckpointLine(text);
      if (cp) found.push({ cp, file, line: i + 1 });
      else ignoredLines++;
    });
  }
  return { found, ignoredLines, files };
}

function parseCheckpointLine(text: string): Checkpoint | null {
  const cp = findCheckpoint(text);
  if (cp) return cp;
  // A chat or SIEM export that keeps each message as a JSON string: its quotes arrive escaped.
  return text.includes('\\"') ? findCheckpoint(text.replace(/\\"/g, '"')) : null;
}

/** The first JSON object in the text decides: a checkpoint, an audit record carrying one, a HEC envelope. */
function findCheckpoint(text: string): Checkpoint | null {
  for (let at = text.indexOf('{'); at !== -1; at = text.indexOf('{', at + 1)) {
    const end = objectEnd(text, at);
    if (end === -1) continue;
    let v: unknown;
    try {
      // Only the object: text after it (a chat client's "(edited)", a timestamp) is not part of it.
      v = JSON.parse(text.slice(at, end));
    } catch {
      continue;
    }
    const direct = CheckpointSchema.safeParse(v);
    if (direct.success) return direct.data;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const inRec = checkpointInRecord(o as Pick<AuditRecord, 'operation' | 'details'>);
      if (inRec) return inRec;
      if (o.event && typeof o.event === 'object') return checkpointInRecord(o.event as Pick<AuditRecord, 'operation' | 'details'>); // HEC envelope
    }
    return null;
  }
  return null;
}

/** Where the JSON object opening at `start` ends (index after its `}`), or -1 if it does not. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * A checkpoint as a chat message (the audit channel): every value an auditor needs to check it
 * without the bot's host, and, on a line of its own, the checkpoint exactly as the checkpoint
 * file holds it, so a copy of the message (or of the whole channel) can be given to
 * `vmbot audit verify --pubkey <key.pub> --checkpoints <copy>` as it is.
 */
export function checkpointMessage(cp: Checkpoint): { title: string; text: string } {
  const fields = [
    { label: 'Records', value: `1–${cp.records}` },
    { label: 'Head hash (SHA-256 of record ' + cp.records + ')', value: cp.head },
    { label: 'Time', value: cp.time },
    { label: 'Key id', value: cp.keyId },
    { label: 'Segment', value: String(cp.segment) },
    { label: 'Signature (Ed25519, hex)', value: cp.sig },
  ];
  const text = [
    `Signed audit checkpoint: the log held ${cp.records} records at ${cp.time}; the last one's hash is ${cp.head}.`,
    ...fields.map((f) => `${f.label}: ${f.value}`),
    'To check the log against it, save this message (or this channel) to a file and run: vmbot audit verify --pubkey vmbot-audit.pub --checkpoints <file>',
    JSON.stringify(cp),
  ].join('\n');
  return { title: 'Audit checkpoint', text };
}

export interface CheckpointerOptions {
  key: KeyObject;
  keyId: string;
  /** The checkpoint file (VMBOT_AUDIT_CHECKPOINTS). */
  file: string;
  /** Sign after this many new records… */
  everyRecords: number;
  /** …and at least this often while records keep arriving. */
  everyMs: number;
  clock?: () => Date;
  onError?: (e: unknown) => void;
  /** Each checkpoint once it is durable (e.g. to post it in an audit chat channel). */
  onCheckpoint?: (cp: Checkpoint) => void;
}

/**
 * Signs checkpoints of the log while the bot runs: every N records, every M milliseconds if
 * anything was written, and once more at shutdown. Each checkpoint is logged as an audit
 * record (so every sink receives it in order with the records it covers) and appended to the
 * checkpoint file. It covers the records before its own record: a checkpoint cannot sign itself.
 */
export class Checkpointer {
  private lastCovered = 0;
  private running: Promise<Checkpoint | null> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  /** The last checkpoint signed by this process, and the last failure (for `audit status`). */
  last: Checkpoint | null = null;
  lastError: string | null = null;

  constructor(private readonly log: AuditLog, private readonly opts: CheckpointerOptions) {
    // A log whose last record is a checkpoint is covered up to the record before it.
    const last = log.last;
    const cp = last ? checkpointInRecord(last) : null;
    this.lastCovered = cp ? last!.id : 0;
  }

  start(): this {
    this.unsubscribe = this.log.onDurable((d) => {
      if (d.id - this.lastCovered >= this.opts.everyRecords) void this.checkpoint();
    });
    this.timer = setInterval(() => void this.checkpoint(), this.opts.everyMs);
    this.timer.unref();
    return this;
  }

  /** Sign the head now, if anything is new since the last checkpoint. */
  checkpoint(): Promise<Checkpoint | null> {
    return (this.running ??= this.sign().finally(() => (this.running = null)));
  }

  private async sign(): Promise<Checkpoint | null> {
    const head = this.log.head;
    if (head.id === 0 || head.id <= this.lastCovered) return null;
    const cp = signCheckpoint({ records: head.id, head: head.hash, segment: this.log.headSegment, time: (this.opts.clock?.() ?? new Date()).toISOString() }, this.opts.key, this.opts.keyId);
    try {
      // Chained synchronously right after the head it signs; resolves once both are on disk.
      const rec = await this.log.append({
        kind: 'event', correlationId: `checkpoint-${cp.records}`, operation: CHECKPOINT_OPERATION, outcome: 'ok',
        reason: `signed checkpoint: records 1–${cp.records}, head ${cp.head.slice(0, 12)}…, key ${cp.keyId}`,
        details: { checkpoint: cp },
      });
      this.lastCovered = rec.id;
      appendFileDurable(this.opts.file, JSON.stringify(cp) + '\n');
      this.last = cp;
      this.lastError = null;
      this.opts.onCheckpoint?.(cp);
      return cp;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      this.opts.onError?.(e);
      return null;
    }
  }

  /** Stop the schedule and sign a last checkpoint (shutdown). */
  async stop(): Promise<Checkpoint | null> {
    if (this.stopped) return null;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.running;
    return this.checkpoint();
  }
}
