import { defineCommand } from '../src/core/command';
import { VM_OPERATIONS } from '../src/policy/operations';
import type { VmInfo } from '../src/hyperv/backend';
import type { ReplyAction, ReplyField } from '../src/core/types';
import { authorize } from '../src/policy/authorize';
import type { PolicyEvaluator } from '../src/policy/evaluator';
import type { Operation } from '../src/policy/schema';
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

/**
 * Buttons for one VM: exactly the operations the caller holds on it (decided by the one
 * authorizer), offered when the VM's state makes them meaningful. Turn off only where a role
 * allows it, and behind a confirm dialog; a graceful stop asks too.
 */
export function vmActions(policy: PolicyEvaluator, user: string, vm: VmInfo): ReplyAction[] {
  const may = (operations: Operation[], turnOff = false) => authorize(policy, user, { kind: 'vm', vm, operations, turnOff, requireHost: true }).allow;
  const out: ReplyAction[] = [];
  const running = vm.state === 'Running';
  if (!running && may(['Start Virtual Machine'])) out.push({ id: `start:${vm.name}`, label: 'Start', command: `start ${vm.name}`, style: 'primary', subject: vm.name });
  if (running && may(['Stop Virtual Machine']))
    out.push({ id: `stop:${vm.name}`, label: 'Stop', command: `stop ${vm.name}`, subject: vm.name, confirm: { title: `Shut down ${vm.name}?`, text: `${vm.name} is shut down through its guest OS. Running sessions end.`, confirm: 'Shut down', deny: 'Cancel' } });
  if (running && may(['Allow Input to Virtual Machine', 'Allow Output from Virtual Machine']))
    out.push({ id: `console:${vm.name}`, label: 'Console', command: `console ${vm.name}`, subject: vm.name });
  if (running && may(['Stop Virtual Machine'], true))
    out.push({
      id: `turnoff:${vm.name}`, label: 'Turn off', command: `stop ${vm.name} --turnoff`, style: 'danger', subject: vm.name,
      confirm: { title: `Turn off ${vm.name}?`, text: `This pulls the power on ${vm.name}: unsaved work in the guest is lost. Use Stop for a graceful shutdown.`, confirm: 'Turn off', deny: 'Cancel' },
    });
  return out;
}

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
      actions: vmActions(ctx.policy, ctx.identity!.id, vm),
      data: { vm: vm.name, state: vm.state, host: vm.host },
    };
  },
});
