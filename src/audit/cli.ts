/**
 * `vmbot audit verify | keygen | status`: the auditor's and operator's side of audit assurance.
 * (query/export stay in src/cli.ts.) Each returns the process exit code.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../core/config';
import { VmbotError } from '../core/errors';
import { verifyWithCheckpoints, type AssuredResult } from './assure';
import { readFileIfExists } from '../state/durable-file';
import { readCheckpoints } from './checkpoint';
import { cursorFileFor, type CursorFile } from './forward/forwarder';
import { generateAuditKeys, loadPublicKeys } from './keys';
import { scanLines } from './lines';
import type { AuditRecord } from './record';
import { checkpointsFile, sinksFor } from './runtime';
import { listSegments } from './segments';
import { describeFailure } from './startup';
import { verifyAudit, type VerifyResult } from './verify';

export const AUDIT_USAGE = `  vmbot audit verify [--pubkey <file|dir>]... [--checkpoints <file|dir>]... [--resume] [--json]
                                                 check the chain (every byte of every record); with --pubkey
                                                 also every signed checkpoint: a cut tail, a removed segment
                                                 or a rewritten chain is named
  vmbot audit keygen --out <dir>                 new Ed25519 signing key: vmbot-audit.key (private) + vmbot-audit.pub
  vmbot audit status [--json]                    head, last checkpoint, forwarding lag per sink`;

const EXIT_BROKEN = 1;
const n = (x: number) => x.toLocaleString('en-US');

/** Progress on a terminal only: a line rewritten in place at most 5 times a second. */
function progress(): { update: (done: number, total: number) => void; end: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, end: () => undefined };
  const t0 = Date.now();
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      const pct = total ? Math.floor((done / total) * 100) : 100;
      const rate = done / Math.max(1, now - t0) / 1024; // MB/s
      process.stderr.write(`\rverifying… ${pct}% (${n(Math.round(done / 1048576))} of ${n(Math.round(total / 1048576))} MB, ${rate.toFixed(0)} MB/s)   `);
    },
    end: () => void (last && process.stderr.write('\r\x1b[K')),
  };
}

export async function auditVerify(args: string[], config: Config): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: { pubkey: { type: 'string', multiple: true }, checkpoints: { type: 'string', multiple: true }, resume: { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const dir = join(config.VMBOT_DATA_DIR, 'audit');
  if ((values.checkpoints || values.resume) && !values.pubkey) throw new VmbotError('usage', '--checkpoints and --resume need --pubkey <file|dir>: a checkpoint is only worth its signature.');
  const p = progress();
  const t0 = Date.now();
  let r: VerifyResult | AssuredResult;
  try {
    r = values.pubkey
      ? await verifyWithCheckpoints(dir, { keys: loadPublicKeys(values.pubkey), sources: values.checkpoints ?? [checkpointsFile(config)], resume: values.resume, onProgress: p.update })
      : await verifyAudit(dir, { onProgress: p.update });
  } finally {
    p.end();
  }
  const ms = Date.now() - t0;
  if (values.json) {
    console.log(JSON.stringify({ ...r, ms }));
    return r.ok ? 0 : EXIT_BROKEN;
  }
  const cps = 'checkpoints' in r ? (r as AssuredResult).checkpoints : null;
  const span = r.from ? `#${n(r.from + 1)}–#${n(r.head.id)} (resumed from the checkpoint at #${n(r.from)})` : `#1–#${n(r.head.id)}`;
  if (r.broken) console.log(`BROKEN: ${describeFailure(r)}. ${n(r.records)} ${r.records === 1 ? 'record' : 'records'} before it verified.`);
  else if (r.missing) console.log(`BROKEN: ${r.missing.reason}. The ${n(r.records)} records present verify.`);
  else console.log(`OK: ${n(r.records)} ${r.records === 1 ? 'record' : 'records'} ${span}, every byte as written, chain intact. Head: #${r.head.id} ${r.head.hash}`);
  for (const s of r.strays) console.log(`note: ${s} in the audit directory is not a segment (a renamed segment?)`);
  if (cps) {
    for (const x of cps.refused) console.log(`REFUSED: ${x.file} line ${x.line}: ${x.reason}`);
    console.log(`Checkpoints: ${n(cps.verified)} signed checkpoint(s) from ${cps.sources.length ? cps.sources.join(', ') : '(no checkpoint file found)'} and ${n(cps.inLog)} logged in the chain verified${cps.keyIds.length ? ` (key ${cps.keyIds.join(', ')})` : ''}.`);
    if (cps.last && r.ok) console.log(`Every record up to #${n(cps.last.records)} is present and unchanged as signed on ${cps.last.time}. ${n(cps.after)} record(s) after it are not yet covered by a checkpoint.`);
    if (!cps.last) console.log('No signed checkpoint found: a cut tail or a rewrite by someone who can write the data directory cannot be ruled out.');
  } else if (r.ok) console.log('Unsigned check: without --pubkey a cut tail, or a rewrite by someone who can write the data directory, cannot be detected.');
  if (process.stderr.isTTY) console.error(`(${(ms / 1000).toFixed(1)} s)`);
  return r.ok ? 0 : EXIT_BROKEN;
}

export function auditKeygen(args: string[]): number {
  const { values } = parseArgs({ args, strict: true, options: { out: { type: 'string' } } });
  if (!values.out) throw new VmbotError('usage', 'Usage: vmbot audit keygen --out <dir>');
  const { keyFile, pubFile, keyId } = generateAuditKeys(values.out);
  console.log(`Wrote ${keyFile} (private, mode 600): point VMBOT_AUDIT_KEY_FILE at it; keep it outside the data directory.`);
  console.log(`Wrote ${pubFile} (public): give it to the auditors; "vmbot audit verify --pubkey ${pubFile}" checks the checkpoints.`);
  console.log(`Key id: ${keyId} (every checkpoint names the key that signed it)`);
  return 0;
}

/** The last complete record of the log (null when empty), read from the end of the last segment. */
async function lastRecord(dir: string): Promise<AuditRecord | null> {
  for (const seg of listSegments(dir).reverse()) {
    const text = readFileIfExists(seg.file) ?? '';
    const lines = text.split('\n').filter(Boolean);
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        return JSON.parse(lines[i]!) as AuditRecord;
      } catch {
        // a torn last line: the one before it
      }
    }
  }
  return null;
}

/** The time of the first record after a cursor (how old the oldest undelivered record is). */
async function firstAfter(dir: string, c: CursorFile): Promise<string | null> {
  for (const seg of listSegments(dir).filter((s) => s.n >= c.segment)) {
    let time: string | null = null;
    await scanLines(seg.file, (l) => {
      time = (JSON.parse(l.buf.toString('utf8', l.start, l.end)) as AuditRecord).time;
      return false;
    }, { fromOffset: seg.n === c.segment ? c.offset : 0 });
    if (time) return time;
  }
  return null;
}

/**
 * `vmbot audit status`: the head, the newest checkpoint in the checkpoint file, and for each
 * configured collector what it has and how far behind it is. Reads files only, so it works
 * beside a running bot (which holds the data directory's lock).
 */
export async function auditStatus(args: string[], config: Config): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean' } } });
  const dir = join(config.VMBOT_DATA_DIR, 'audit');
  const head = await lastRecord(dir);
  const cps = readCheckpoints(checkpointsFile(config)).found;
  const cp = cps.length ? cps[cps.length - 1]!.cp : null;
  const forwarding = [];
  for (const sink of sinksFor(config)) {
    const text = readFileIfExists(cursorFileFor(config.VMBOT_DATA_DIR, sink.name));
    const c = text ? (JSON.parse(text) as CursorFile) : null;
    const delivered = c?.id ?? 0;
    const lagRecords = Math.max(0, (head?.id ?? 0) - delivered);
    const oldest = lagRecords ? await firstAfter(dir, c ?? ({ segment: 1, offset: 0 } as CursorFile)) : null;
    forwarding.push({
      sink: sink.name, target: sink.target, delivered, lagRecords,
      lagSeconds: oldest ? Math.max(0, Math.round((Date.now() - Date.parse(oldest)) / 1000)) : 0,
      updatedAt: c?.updatedAt ?? null, lastError: c?.lastError ?? null,
    });
  }
  const out = {
    head: head ? { id: head.id, hash: head.hash, time: head.time } : null,
    signing: config.VMBOT_AUDIT_KEY_FILE ? 'on' : 'off',
    checkpoint: cp ? { records: cp.records, time: cp.time, keyId: cp.keyId, behind: Math.max(0, (head?.id ?? 0) - cp.records) } : null,
    forwarding,
  };
  if (values.json) {
    console.log(JSON.stringify(out));
    return 0;
  }
  console.log(`head        ${head ? `#${n(head.id)} ${head.hash} (${head.time})` : 'empty log'}`);
  console.log(`checkpoint  ${cp ? `#${n(cp.records)} signed ${cp.time} by key ${cp.keyId}; ${n(out.checkpoint!.behind)} record(s) since (signature not checked here: use audit verify --pubkey)` : `none${config.VMBOT_AUDIT_KEY_FILE ? '' : ' (no VMBOT_AUDIT_KEY_FILE: checkpoints are off)'}`}`);
  if (!forwarding.length) console.log('forwarding  off (no VMBOT_AUDIT_SYSLOG / VMBOT_AUDIT_HTTP_URL)');
  for (const f of forwarding)
    console.log(`forwarding  ${f.sink} ${f.target}: delivered up to #${n(f.delivered)}, ${n(f.lagRecords)} record(s) behind${f.lagSeconds ? ` (oldest ${f.lagSeconds} s old)` : ''}${f.lastError ? `; last error: ${f.lastError}` : ''}`);
  return 0;
}
