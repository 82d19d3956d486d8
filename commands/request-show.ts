import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { RequestIdSchema } from './approve';

export default defineCommand({
  name: 'request show',
  summary: 'One new-VM request in full: sizing, reason, approvals and its audit trail',
  usage: 'request show <request id>',
  positional: ['id'],
  schema: z.strictObject({ id: RequestIdSchema }),
  shownWith: ['Request Virtual Machine', 'Approve Virtual Machine Request'],
  correlationId: (a) => a.id,
  operation: () => 'request.show',
  authz: () => ({ kind: 'self', operation: ['Request Virtual Machine', 'Approve Virtual Machine Request'] }),
  effect: false,
  run: (ctx, { id }) => ctx.services.approvals.show(ctx.identity!, id),
});
