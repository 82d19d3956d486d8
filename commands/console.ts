import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { shortId } from '../src/workflows/ids';
import { consoleLimits } from '../src/workflows/console';
import { vmArg } from './args';

export default defineCommand({
  name: 'console',
  summary: 'Time-boxed console access (VMConnect) to one of your VMs; --revoke ends it early; with no VM: your active grants',
  usage: 'console [<vm>] [--minutes N] [--revoke]',
  positional: ['vm'],
  flags: { minutes: 'number', revoke: 'boolean' },
  schema: z
    .strictObject({
      vm: vmArg.vm.optional(),
      minutes: z.number({ error: '--minutes needs a whole number of minutes' }).int().min(1, '--minutes must be at least 1').optional(),
      revoke: z.boolean().default(false),
    })
    .refine((a) => !(a.revoke && a.minutes), '--revoke and --minutes do not go together')
    .refine((a) => a.vm || (!a.revoke && !a.minutes), { message: 'console needs the VM name with --minutes or --revoke', path: [] })
    .transform((a) => ({ ...a, grantId: a.revoke || !a.vm ? undefined : shortId('g') })),
  shownWith: ['Allow Input to Virtual Machine'],
  correlationId: (a) => a.grantId,
  operation: (a) => (!a.vm ? 'console.list' : a.revoke ? 'console.revoke' : 'Allow Input to Virtual Machine + Allow Output from Virtual Machine'),
  authz: ({ vm }) =>
    vm ? { kind: 'vm', vm, operations: ['Allow Input to Virtual Machine', 'Allow Output from Virtual Machine'] } : { kind: 'self', operation: 'Allow Input to Virtual Machine' },
  visibility: 'private',
  effect: (a) => !!a.vm,
  limits: (policy, _identity, a) => (a.vm && !a.revoke ? consoleLimits(policy, a.minutes) : null),
  run: async (ctx, a) =>
    !a.vm
      ? ctx.services.consoles.list(ctx.identity!)
      : a.revoke
      ? ctx.services.consoles.revoke(ctx.identity!, ctx.actor, ctx.vm!)
      : ctx.services.consoles.grant(ctx.identity!, ctx.actor, ctx.vm!, a.grantId!, a.minutes),
});
