import { z } from 'zod';

/**
 * Errors are values: a machine code plus a message fit to show a user. Nothing else (no stack,
 * no host detail) ever reaches chat.
 */
export const ErrorCodeSchema = z.enum([
  'usage',
  'unknown_command',
  'denied',
  'not_found',
  'invalid_state',
  'access_denied',
  'host_unreachable',
  'timeout',
  'already_exists',
  /** A VM name that more than one VM answers to (on different hosts): never acted on. */
  'ambiguous',
  'conflict',
  'config',
  'policy',
  'failed',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export class VmbotError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For the audit log and operators, never for chat. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'VmbotError';
  }
}

export const isVmbotError = (e: unknown): e is VmbotError => e instanceof VmbotError;

/** The one phrase for "out of scope" and "does not exist": a denial must not reveal which. */
export const notPermittedMessage = (vm: string) => `You are not permitted to do that on ${vm}, or there is no such VM.`;
