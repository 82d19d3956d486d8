import type { AnyCommand } from '../src/core/command';
import approve from './approve';
import audit from './audit';
import consoleCmd from './console';
import deny from './deny';
import help from './help';
import list from './list';
import request from './request';
import requestCancel from './request-cancel';
import requestShow from './request-show';
import requests from './requests';
import start from './start';
import status from './status';
import stop from './stop';
import whoami from './whoami';

/** Every chat command, in the order help lists them. */
export const ALL_COMMANDS: readonly AnyCommand[] = [start, stop, consoleCmd, status, list, request, requestShow, requestCancel, requests, approve, deny, audit, whoami, help];
