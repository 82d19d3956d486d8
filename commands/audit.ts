import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { plural } from '../src/core/text';
import type { Reply } from '../src/core/types';
import { AuditOutcome } from '../src/audit/record';
import { READ_AUDIT_LOG, recordLine } from '../src/workflows/audit-reader';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** `2026-11-30`, `2026-11-30T08:00Z`, or a span back from now: `90m`, `24h`, `7d`. */
export const When = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const rel = /^(\d{1,5})([mhd])$/i.exec(s);
    if (rel) return new Date(Date.now() - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2]!.toLowerCase() as 'm' | 'h' | 'd']);
    const t = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) ? Date.parse(s.replace(' ', 'T')) : NaN;
    if (Number.isNaN(t)) {
      ctx.addIssue({ code: 'custom', message: `"${s.slice(0, 40)}" is not a time: use 2026-11-30, 2026-11-30T08:00Z, or 90m / 24h / 7d` });
      return z.NEVER;
    }
    return new Date(t);
  });

const Text = (what: string) => z.string().trim().min(1).max(200, `${what} is too long`);

/** A request (r-…), console grant (g-…) or request correlation (c-…) id. */
const TRAIL_RE = /^[rgc]-[A-Za-z0-9]{2,40}$/;

export default defineCommand({
  name: 'audit',
  summary: 'Read the audit log of the VMs you audit: recent records, filters, a request’s trail, the chain’s state',
  usage: 'audit [<request or grant id> | chain] [--user U] [--vm V] [--operation O] [--outcome ok|failed|unknown|denied|invalid|pending] [--since 24h|2026-11-30] [--until …] [--limit N]',
  positional: ['subject'],
  flags: { user: 'string', vm: 'string', operation: 'string', outcome: 'string', since: 'string', until: 'string', limit: 'number' },
  schema: z.strictObject({
    subject: z
      .string()
      .refine((s) => s.toLowerCase() === 'chain' || TRAIL_RE.test(s), 'give a request or grant id (such as r-7k2mqx or g-3fz9) or the word chain')
      .optional(),
    user: Text('the user').optional(),
    vm: Text('the VM').optional(),
    operation: Text('the operation').optional(),
    outcome: AuditOutcome.optional(),
    since: When.optional(),
    until: When.optional(),
    limit: z.number().int().min(1, '--limit must be at least 1').max(MAX_LIMIT, `--limit is at most ${MAX_LIMIT} in chat (the web view and the CLI export more)`).optional(),
  }),
  shownWith: [READ_AUDIT_LOG],
  operation: () => READ_AUDIT_LOG,
  // Holding Read Audit Log somewhere is checked by the pipeline (a denial like any other);
  // which records are shown is then cut to the scopes where it is held.
  authz: () => ({ kind: 'self', operation: READ_AUDIT_LOG }),
  effect: false,
  // What the log holds about other people is for the auditor's eyes only.
  visibility: 'private',
  async run(ctx, a): Promise<Reply> {
    const reader = ctx.services.auditReader;
    const me = ctx.identity!.id;
    if (a.subject?.toLowerCase() === 'chain') {
      const c = await reader.chain();
      const lines = [
        c.checkedUpTo
          ? `Chain verified up to record #${c.checkedUpTo}: each record's hash checked and linked to the one before it.`
          : 'The log is empty.',
        c.head ? `Head: #${c.head.id} ${c.head.hash}` : '',
        c.chainBreak ? `BROKEN at record #${c.chainBreak.id} (${c.chainBreak.file} line ${c.chainBreak.line}): it ${c.chainBreak.reason}.` : '',
        ...c.skipped.slice(0, 5).map((s) => `DAMAGED: ${s.id !== null ? `record #${s.id}` : 'a line'} (${s.file} line ${s.line}): ${s.reason}.`),
        c.skipped.length > 5 ? `…and ${c.skipped.length - 5} more damaged lines.` : '',
        c.skipped.length || c.chainBreak ? 'Run "vmbot audit verify" on the bot host for the full report.' : '',
      ].filter(Boolean);
      return {
        status: 'done', title: 'Audit chain', text: lines.join('\n'),
        fields: [
          { label: 'Verified up to', value: `#${c.checkedUpTo}` },
          { label: 'Head hash', value: c.head?.hash ?? '-' },
          { label: 'State', value: c.chainBreak || c.skipped.length ? 'BROKEN' : 'intact' },
        ],
        data: { checkedUpTo: c.checkedUpTo, head: c.head, broken: !!(c.chainBreak || c.skipped.length) },
      };
    }
    if (a.subject) {
      const trail = await reader.trail(me, a.subject);
      // Not in scope and not there read the same: a trail never reveals an out-of-scope VM.
      if (!trail.length) return { status: 'done', text: `No audit records for ${a.subject} in the VMs you audit.`, data: { trail: a.subject, records: 0 } };
      return {
        status: 'done', title: `Audit trail of ${a.subject}`,
        text: [`Audit trail of ${a.subject} (${plural(trail.length, 'record')}):`, ...trail.map(recordLine)].join('\n'),
        data: { trail: a.subject, records: trail.length, ids: trail.map((r) => r.id) },
      };
    }
    const limit = a.limit ?? DEFAULT_LIMIT;
    const { records, total, scope } = await reader.search(me, { user: a.user, vm: a.vm, operation: a.operation, outcome: a.outcome, since: a.since, until: a.until, limit });
    const filters = Object.entries({ user: a.user, vm: a.vm, operation: a.operation, outcome: a.outcome, since: a.since?.toISOString(), until: a.until?.toISOString() })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const where = `${filters.length ? ` matching ${filters.join(', ')}` : ''} in ${scope.all ? 'every VM' : `scope ${scope.scopes.join(', ')}`}`;
    if (!records.length) return { status: 'done', text: `No audit records${where}.`, data: { records: 0, total: 0 } };
    return {
      status: 'done', title: 'Audit log',
      text: [`Newest ${records.length} of ${total} audit records${where} (oldest first):`, ...records.map(recordLine)].join('\n'),
      data: { records: records.length, total, ids: records.map((r) => r.id) },
    };
  },
});
