import { VmbotError } from '../src/core/errors';
import type { Reply } from '../src/core/types';
import { stateWord } from '../src/core/text';
import type { VmInfo } from '../src/hyperv/backend';
import type { Identity, PolicyEvaluator } from '../src/policy/evaluator';

/** Who asks, for guidance that depends on what the caller may do instead. */
export interface Asker {
  policy: PolicyEvaluator;
  identity: Identity | null;
}

export type PowerAction = 'start' | 'shutdown' | 'turnoff';

const done = (vm: VmInfo, text: string): Reply => ({ status: 'done', text, data: { vm: vm.name, state: vm.state, noop: true } });
const cannot = (text: string): Reply => ({ status: 'invalid', code: 'invalid_state', text });

const mayTurnOff = (who: Asker, vm: VmInfo) =>
  !!who.identity && who.policy.decide(who.identity.id, 'Stop Virtual Machine', vm, { turnOff: true }).allow;

/**
 * Desired state is success: a start on a running VM (a stop on an off one) is a no-op that
 * succeeds, and a VM in a state the action cannot leave gets guidance instead of a backend error.
 * Returns null when the action must run. Hyper-V's own rules: Start-VM boots an Off VM and
 * restores a Saved one; a Paused VM needs Resume-VM ("Pause and Restart Virtual Machine", an
 * operation S 4.413 does not give guest admins); a graceful shutdown needs a running guest.
 */
export function powerPrecheck(action: PowerAction, vm: VmInfo, who: Asker): Reply | null {
  const n = vm.name;
  const state = vm.state;
  const busy = (what: string) => cannot(`${n} is ${stateWord(state)} right now; wait until it is ${what}, then try again (type "status ${n}").`);
  if (action === 'start') {
    if (state === 'Off' || state === 'Saved' || state === 'FastSaved') return null;
    if (state === 'Running') return done(vm, `${n} is already running.`);
    if (state === 'Starting' || state === 'Resuming') return done(vm, `${n} is already ${stateWord(state)}; it will be running shortly.`);
    if (state === 'Paused')
      return cannot(`${n} is paused: Hyper-V holds it frozen in memory. Resuming it needs the "Pause and Restart Virtual Machine" operation, which guest admins do not hold (S 4.413). Ask a platform admin to resume it (Resume-VM).`);
    if (state === 'Stopping') return busy('off');
    if (state === 'Saving' || state === 'FastSaving' || state === 'Pausing') return busy(state === 'Pausing' ? 'paused' : 'saved');
    return cannot(`${n} is in the Hyper-V state "${state}", from which vmbot cannot start it. Ask a platform admin to look at it.`);
  }
  if (state === 'Off') return done(vm, `${n} is already off.`);
  if (action === 'turnoff') return null;
  if (state === 'Running') return null;
  if (state === 'Stopping') return done(vm, `${n} is already shutting down.`);
  const orTurnOff = mayTurnOff(who, vm) ? `, or "stop ${n} --turnoff" to turn it off at once` : '';
  if (state === 'Saved' || state === 'FastSaved')
    return cannot(`${n} is saved (its memory is on disk and the guest is not running), so it cannot shut down through its guest OS. Type "start ${n}" to start it from its saved state, then stop it${orTurnOff}.`);
  if (state === 'Paused')
    return cannot(`${n} is paused (frozen), so its guest cannot shut down. Ask a platform admin to resume it (Resume-VM)${orTurnOff ? `; or type "stop ${n} --turnoff" to turn it off at once` : ''}.`);
  if (state === 'Starting' || state === 'Resuming') return busy('running');
  if (state === 'Saving' || state === 'FastSaving' || state === 'Pausing') return busy(state === 'Pausing' ? 'paused' : 'saved');
  return cannot(`${n} is in the Hyper-V state "${state}", from which vmbot cannot shut it down. Ask a platform admin to look at it.`);
}

/**
 * Run a power action; when Hyper-V refuses because the state changed since the lookup (someone
 * else started the VM a moment ago), answer from the fresh state instead of failing.
 */
export async function runPower(action: PowerAction, vm: VmInfo, who: Asker, get: (name: string) => Promise<VmInfo | null>, act: () => Promise<VmInfo>): Promise<Reply> {
  try {
    const after = await act();
    return { status: 'done', text: `${after.name} is ${stateWord(after.state)}.`, data: { vm: after.name, state: after.state } };
  } catch (e) {
    if (!(e instanceof VmbotError) || e.code !== 'invalid_state') throw e;
    const now = await get(vm.name);
    const answer = now && powerPrecheck(action, now, who);
    if (answer) return answer;
    throw e;
  }
}
