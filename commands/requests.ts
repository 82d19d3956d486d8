import { defineCommand } from '../src/core/command';
import { NoArgs } from './args';

export default defineCommand({
  name: 'requests',
  summary: 'Your new-VM requests and the ones you decide: pending, then decided (history)',
  usage: 'requests',
  positional: [],
  schema: NoArgs,
  shownWith: ['Request Virtual Machine', 'Approve Virtual Machine Request'],
  operation: () => 'requests',
  authz: () => ({ kind: 'self', operation: ['Request Virtual Machine', 'Approve Virtual Machine Request'] }),
  visibility: 'private',
  effect: false,
  run: async (ctx) => ctx.services.approvals.list(ctx.identity!),
});
