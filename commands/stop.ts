import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { vmArg } from './args';

export default defineCommand({
  name: 'stop',
  summary: 'Shut down one of your VMs through its guest OS (--turnoff pulls the power, if your role allows it)',
  usage: 'stop <vm> [--turnoff]',
  positional: ['vm'],
  flags: { turnoff: 'boolean' },
  schema: z.strictObject({ ...vmArg, turnoff: z.boolean().default(false) }),
  shownWith: ['Stop Virtual Machine'],
  operation: () => 'Stop Virtual Machine',
  authz: ({ vm, turnoff }) => ({ kind: 'vm', vm, operations: ['Stop Virtual Machine'], turnOff: turnoff }),
  effect: true,
  async run(ctx, { turnoff }) {
    const vm = ctx.vm!;
    await ctx.progress(turnoff ? `Turning off ${vm.name}…` : `${vm.name} is shutting down…`);
    const after = await ctx.backend.stop(vm, turnoff ? 'turnoff' : 'shutdown');
    return { status: 'done', text: `${after.name} is ${after.state.toLowerCase()}.`, data: { vm: after.name, state: after.state, mode: turnoff ? 'turnoff' : 'shutdown' } };
  },
});
