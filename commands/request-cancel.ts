import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { RequestIdSchema } from './approve';

export default defineCommand({
  name: 'request cancel',
  summary: 'Withdraw your own pending request (it stops counting against your quota)',
  usage: 'request cancel <request id>',
  positional: ['id'],
  schema: z.strictObject({ id: RequestIdSchema }),
  shownWith: ['Request Virtual Machine'],
  correlationId: (a) => a.id,
  operation: () => 'request.cancel',
  authz: () => ({ kind: 'self', operation: 'Request Virtual Machine' }),
  effect: true,
  run: (ctx, { id }) => ctx.services.approvals.cancel(ctx.identity!, ctx.actor, id),
});
