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
  /** The data directory is held by another vmbot process (the CLI exits with 5). */
  'locked',
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

/**
 * The exit code of a command stopped by an error (README "Command line"): 2 usage, 5 the data
 * directory is in use by another vmbot, 1 anything else (configuration, start-up, a bug).
 */
export const exitCodeForError = (e: unknown): number => (isVmbotError(e) ? (e.code === 'usage' ? 2 : e.code === 'locked' ? 5 : 1) : 1);

/** The one phrase for "out of scope" and "does not exist": a denial must not reveal which. */
export const notPermittedMessage = (vm: string) => `You are not permitted to do that on ${vm}, or there is no such VM.`;

/** Why a file could not be read or written, in words (an errno code means nothing to an admin). */
const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory', EISDIR: 'a directory, not a file', EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EEXIST: 'already exists',
};
export const fsReason = (e: unknown): string | undefined => {
  const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  return FS_REASONS[code];
};
