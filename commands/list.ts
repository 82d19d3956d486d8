import { defineCommand } from '../src/core/command';
import { stateWord } from '../src/core/text';
import { VM_OPERATIONS } from '../src/policy/operations';
import { NoArgs } from './args';
import { uptime, vmActions } from './status';

export default defineCommand({
  name: 'list',
  summary: 'List the VMs you may manage',
  usage: 'list',
  positional: [],
  schema: NoArgs,
  // Only people who hold a VM operation somewhere have VMs to see.
  shownWith: [...VM_OPERATIONS],
  operation: () => 'list',
  authz: () => ({ kind: 'self' }),
  visibility: 'private',
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
      text: `Your VMs:\n${mine.map((v) => `  ${v.name.padEnd(w)}  ${stateWord(v.state).padEnd(8)} ${v.host}`).join('\n')}`,
      fields: mine.map((v) => ({ label: v.name, value: `${stateWord(v.state)} on ${v.host}` })),
      actions: mine.flatMap((v) => vmActions(ctx.policy, ctx.identity!.id, v)),
      // Per VM for renderers that show one row per VM (Block Kit sections, Adaptive Card rows).
      data: { vms: mine.map((v) => ({ name: v.name, state: v.state, host: v.host, ...(v.state === 'Running' && uptime(v.uptimeSec) ? { uptime: uptime(v.uptimeSec) } : {}) })) },
    };
  },
});
