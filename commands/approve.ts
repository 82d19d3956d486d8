import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { REQUEST_ID_RE } from '../src/workflows/ids';

export const RequestIdSchema = z.string().transform((s) => s.toLowerCase()).pipe(z.string().regex(REQUEST_ID_RE, 'a request id looks like r-7k2mqx'));

export default defineCommand({
  name: 'approve',
  summary: 'Approve a pending new-VM request (not your own)',
  usage: 'approve <request id>',
  positional: ['id'],
  schema: z.strictObject({ id: RequestIdSchema }),
  shownWith: ['Approve Virtual Machine Request'],
  correlationId: (a) => a.id,
  operation: () => 'Approve Virtual Machine Request',
  authz: ({ id }) => ({ kind: 'decide', requestId: id, verb: 'approve' }),
  effect: true,
  run: (ctx, { id }) => ctx.services.approvals.approve(ctx.identity!, ctx.actor, id),
});
