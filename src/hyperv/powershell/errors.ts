import { VmbotError } from '../../core/errors';
import { hostUnreachableError, invalidStateError } from '../backend';

/** An error as VmbotRunner.psm1 returns it: ids and categories, which Windows does not localise. */
export interface PsFailure {
  fqid: string;
  category: string;
  message: string;
}

/** What the operation was, for a message a user can act on. */
export interface PsCall {
  action: string;
  vm?: string;
  host?: string;
}

/**
 * Hyper-V error -> reply. Matched on the FullyQualifiedErrorId's first part (the error id) and the
 * ErrorCategory, never on message text (hosts may be localised). The raw text goes to `detail`
 * (audit and operators), not to chat.
 */
export function mapPsFailure(f: PsFailure, call: PsCall): VmbotError {
  const id = f.fqid.split(',')[0] ?? '';
  const detail = `${f.fqid} (${f.category}): ${f.message}`;
  const vm = call.vm ?? 'the VM';
  if (id === 'VmbotInvalidState') return invalidStateError(vm, f.message, call.action, detail);
  if (id === 'VmbotAlreadyExists') return new VmbotError('already_exists', `A VM named ${vm} already exists.`, detail);
  const notFound = id === 'VmbotNotFound' || id === 'ObjectNotFound' || id === 'InvalidParameter' || f.category === 'ObjectNotFound';
  // New-VM cannot miss the VM it is creating: what is missing is something its template names.
  if (notFound && call.action === 'create')
    return new VmbotError('failed', `Hyper-V could not create ${vm}${call.host ? ` on ${call.host}` : ''}: something its template names (virtual switch, folder) does not exist there. An administrator must check the template.`, detail);
  if (notFound)
    return new VmbotError('not_found', `Hyper-V has no VM named ${vm}${call.host ? ` on ${call.host}` : ''} (any more).`, detail);
  if (id === 'InvalidState' || f.category === 'InvalidOperation')
    return new VmbotError('invalid_state', `Hyper-V cannot ${call.action} ${vm} in its current state. Check "status ${vm}".`, detail);
  if (f.category === 'PermissionDenied' || f.category === 'SecurityError' || /AccessDenied|Unauthorized/i.test(id))
    return new VmbotError('access_denied', `The bot's service account was refused by Hyper-V${call.host ? ` on ${call.host}` : ''}. An administrator must check its rights.`, detail);
  if (f.category === 'ConnectionError' || f.category === 'ResourceUnavailable' || f.category === 'OpenError' || /WinRM|RemoteConnection|CimJob/i.test(id))
    return hostUnreachableError(call.host, detail);
  if (id === 'VmbotInvalidArgument') return new VmbotError('failed', `The request to Hyper-V was refused as invalid.`, detail);
  return new VmbotError('failed', `Hyper-V could not ${call.action} ${vm}.`, detail);
}
