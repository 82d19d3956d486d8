import { defineCommand } from '../src/core/command';
import type { VmInfo } from '../src/hyperv/backend';
import type { ReplyField } from '../src/core/types';
import { VmArgs } from './args';

export const uptime = (s: number | undefined) =>
  !s ? '—' : s >= 86400 ? `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h` : s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 60)}m ${s % 60}s`;

export const vmFields = (vm: VmInfo): ReplyField[] => [
  { label: 'State', value: vm.state },
  { label: 'Host', value: vm.host },
  { label: 'Uptime', value: uptime(vm.uptimeSec) },
  ...(vm.memoryMB ? [{ label: 'Memory', value: `${vm.memoryMB} MB` }] : []),
];

export default defineCommand({
  name: 'status',
  summary: 'Show the state of one of your VMs',
  usage: 'status <vm>',
  positional: ['vm'],
  schema: VmArgs,
  shownWith: [],
  operation: () => 'status',
  authz: ({ vm }) => ({ kind: 'visible', vm }),
  effect: false,
  async run(ctx) {
    const vm = ctx.vm!;
    return {
      status: 'done',
      title: vm.name,
      text: `${vm.name} is ${vm.state.toLowerCase()} on ${vm.host}${vm.state === 'Running' ? ` (up ${uptime(vm.uptimeSec)})` : ''}.`,
      fields: vmFields(vm),
      data: { vm: vm.name, state: vm.state, host: vm.host },
    };
  },
});
