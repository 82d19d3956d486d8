import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { vmArg } from './args';
import { powerPrecheck, runPower } from './power';

export default defineCommand({
  name: 'stop',
  summary: 'Shut down one of your VMs through its guest OS',
  usage: 'stop <vm>',
  /** Only users whose role allows turn-off see the option (help shows what you may do). */
  variants: [{ when: (policy, userId) => policy.turnOffAnywhere(userId), usage: 'stop <vm> [--turnoff]', summary: 'Shut down one of your VMs through its guest OS; --turnoff pulls the power' }],
  positional: ['vm'],
  flags: { turnoff: 'boolean' },
  schema: z.strictObject({ ...vmArg, turnoff: z.boolean().default(false) }),
  shownWith: ['Stop Virtual Machine'],
  operation: () => 'Stop Virtual Machine',
  authz: ({ vm, turnoff }) => ({ kind: 'vm', vm, operations: ['Stop Virtual Machine'], turnOff: turnoff }),
  effect: true,
  precheck: (who, { turnoff }, vm) => powerPrecheck(turnoff ? 'turnoff' : 'shutdown', vm, who),
  async run(ctx, { turnoff }) {
    const vm = ctx.vm!;
    const mode = turnoff ? 'turnoff' : 'shutdown';
    await ctx.progress(turnoff ? `Turning off ${vm.name}…` : `${vm.name} is shutting down…`);
    const reply = await runPower(mode, vm, ctx, (n) => ctx.backend.get(n), () => ctx.backend.stop(vm, mode));
    return { ...reply, data: { ...reply.data, mode } };
  },
});
