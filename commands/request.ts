import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { VmNameSchema } from '../src/hyperv/backend';
import { shortId } from '../src/workflows/ids';
import { requestLimits } from '../src/workflows/approvals';

export default defineCommand({
  name: 'request',
  summary: 'Ask for a new VM from a template; approvers decide',
  usage: 'request <name> --template <template> [--reason "why"]',
  positional: ['name'],
  flags: { template: 'string', reason: 'string' },
  // The request id is minted at parse time so the intent record already carries it.
  schema: z
    .strictObject({
      name: VmNameSchema,
      template: z.string({ error: 'the --template option is required' }).regex(/^[A-Za-z0-9._-]{1,64}$/, 'a template name has only letters, digits, dot, underscore and hyphen'),
      reason: z.string().trim().min(3, 'a --reason needs at least 3 characters (or leave it out)').max(500, 'the reason may have at most 500 characters').optional(),
    })
    .transform((a) => ({ ...a, requestId: shortId('r') })),
  shownWith: ['Request Virtual Machine'],
  correlationId: (a) => a.requestId,
  subject: (a) => a.name,
  operation: () => 'Request Virtual Machine',
  authz: () => ({ kind: 'self', operation: 'Request Virtual Machine' }),
  effect: true,
  limits: (policy, identity, a) => requestLimits(policy, identity.id, a),
  run: (ctx, a) => ctx.services.approvals.request(ctx.identity!, ctx.actor, a),
});
