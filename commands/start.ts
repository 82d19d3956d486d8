import { defineCommand } from '../src/core/command';
import { VmArgs } from './args';

export default defineCommand({
  name: 'start',
  summary: 'Boot one of your VMs',
  usage: 'start <vm>',
  positional: ['vm'],
  schema: VmArgs,
  shownWith: ['Start Virtual Machine'],
  operation: () => 'Start Virtual Machine',
  authz: ({ vm }) => ({ kind: 'vm', vm, operations: ['Start Virtual Machine'] }),
  effect: true,
  async run(ctx) {
    const vm = ctx.vm!;
    await ctx.progress(`${vm.name} is starting…`);
    const after = await ctx.backend.start(vm);
    return { status: 'done', text: `${after.name} is ${after.state.toLowerCase()}.`, data: { vm: after.name, state: after.state } };
  },
});
