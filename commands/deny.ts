import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { RequestIdSchema } from './approve';

export default defineCommand({
  name: 'deny',
  summary: 'Deny a pending new-VM request, with a reason for the requester',
  usage: 'deny <request id> <reason>',
  positional: ['id', 'rest'],
  inputs: { reason: 'rest' },
  schema: z
    .strictObject({ id: RequestIdSchema, rest: z.string().trim().min(3, 'a deny needs a reason the requester can act on (at least 3 characters)').max(500, 'the reason may have at most 500 characters') })
    .transform(({ id, rest }) => ({ id, reason: rest })),
  shownWith: ['Approve Virtual Machine Request'],
  correlationId: (a) => a.id,
  operation: () => 'Approve Virtual Machine Request',
  authz: ({ id }) => ({ kind: 'decide', requestId: id, verb: 'deny' }),
  effect: true,
  run: (ctx, { id, reason }) => ctx.services.approvals.deny(ctx.identity!, ctx.actor, id, reason),
});
