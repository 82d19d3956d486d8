import type { AnyCommand } from '../src/core/command';
import help from './help';
import list from './list';
import start from './start';
import status from './status';
import stop from './stop';
import whoami from './whoami';

/** Every chat command, in the order help lists them. */
export const ALL_COMMANDS: readonly AnyCommand[] = [start, stop, status, list, whoami, help];
