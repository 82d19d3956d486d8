import { defineCommand } from '../src/core/command';
import { NoArgs } from './args';

export default defineCommand({
  name: 'list',
  summary: 'List the VMs you may manage',
  usage: 'list',
  positional: [],
  schema: NoArgs,
  shownWith: [],
  operation: () => 'list',
  authz: () => ({ kind: 'self' }),
  effect: false,
  async run(ctx) {
    // Filter before anything leaves this function: out-of-scope VMs are never shown or counted.
    const mine = (await ctx.backend.list())
      .filter((vm) => ctx.policy.visible(ctx.identity!.id, vm).allow)
      .sort((a, b) => a.name.localeCompare(b.name));
    if (!mine.length) return { status: 'done', text: 'You have no VMs in your scope.', data: { vms: [] } };
    const w = Math.max(...mine.map((v) => v.name.length));
    return {
      status: 'done',
      title: 'Your VMs',
      text: `Your VMs:\n${mine.map((v) => `  ${v.name.padEnd(w)}  ${v.state.padEnd(8)} ${v.host}`).join('\n')}`,
      fields: mine.map((v) => ({ label: v.name, value: `${v.state} on ${v.host}` })),
      data: { vms: mine.map((v) => ({ name: v.name, state: v.state, host: v.host })) },
    };
  },
});
