import { webFrontEnd } from '../web/index';
import type { FrontEndFactory } from './frontend';
import { slackFrontEnd } from './slack/index';
import { teamsFrontEnd } from './teams/index';

/**
 * Every door vmbot can open, in start order. Each factory reads its own variables (README's
 * configuration table) and returns null when it is not configured. A new front-end adds one line here.
 */
export const FRONT_ENDS: readonly FrontEndFactory[] = [slackFrontEnd, teamsFrontEnd, webFrontEnd];
