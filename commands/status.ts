import { defineCommand } from '../src/core/command';
import { VM_OPERATIONS } from '../src/policy/operations';
import type { VmInfo } from '../src/hyperv/backend';
import type { ReplyField } from '../src/core/types';
import { stateWord } from '../src/core/text';
import { VmArgs } from './args';

/** "3d 4h", "2h 5m", "4m 10s", "12s"; null when the uptime is not known (never "—" in a sentence). */
export const uptime = (s: number | undefined): string | null =>
  s === undefined || s < 0 ? null
  : s >= 86400 ? `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`
  : s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  : s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s`
  : `${s}s`;

export const vmFields = (vm: VmInfo): ReplyField[] => {
  const up = vm.state === 'Running' ? uptime(vm.uptimeSec) : null;
  return [
    { label: 'State', value: stateWord(vm.state) },
    { label: 'Host', value: vm.host },
    ...(up ? [{ label: 'Uptime', value: up }] : []),
    ...(vm.memoryMB ? [{ label: 'Memory', value: `${vm.memoryMB} MB` }] : []),
  ];
};

export default defineCommand({
  name: 'status',
  summary: 'Show the state of one of your VMs',
  usage: 'status <vm>',
  positional: ['vm'],
  schema: VmArgs,
  // Only people who hold a VM operation somewhere have VMs to see.
  shownWith: [...VM_OPERATIONS],
  operation: () => 'status',
  authz: ({ vm }) => ({ kind: 'visible', vm }),
  visibility: 'private',
  effect: false,
  async run(ctx) {
    const vm = ctx.vm!;
    const up = vm.state === 'Running' ? uptime(vm.uptimeSec) : null;
    return {
      status: 'done',
      title: vm.name,
      text: `${vm.name} is ${stateWord(vm.state)} on ${vm.host}${up ? ` (up ${up})` : ''}.`,
      fields: vmFields(vm),
      data: { vm: vm.name, state: vm.state, host: vm.host },
    };
  },
});
