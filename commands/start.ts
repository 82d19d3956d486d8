import { defineCommand } from '../src/core/command';
import { VmArgs } from './args';
import { powerPrecheck, runPower } from './power';

export default defineCommand({
  name: 'start',
  summary: 'Boot one of your VMs (a saved one starts from its saved state)',
  usage: 'start <vm>',
  positional: ['vm'],
  schema: VmArgs,
  shownWith: ['Start Virtual Machine'],
  operation: () => 'Start Virtual Machine',
  authz: ({ vm }) => ({ kind: 'vm', vm, operations: ['Start Virtual Machine'] }),
  effect: true,
  precheck: (who, _args, vm) => powerPrecheck('start', vm, who),
  async run(ctx) {
    const vm = ctx.vm!;
    await ctx.progress(vm.state === 'Off' ? `${vm.name} is starting…` : `${vm.name} is starting from its saved state…`);
    return runPower('start', vm, ctx, (n) => ctx.backend.get(n), () => ctx.backend.start(vm));
  },
});
