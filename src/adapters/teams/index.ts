import type { FrontEndFactory } from '../frontend';
import { TeamsFrontEnd } from './frontend';
import { readTeamsSettings } from './settings';

/** Teams when MicrosoftAppId (SingleTenant) or VMBOT_TEAMS_DEV=1 is set; null otherwise. */
export const teamsFrontEnd: FrontEndFactory = (env, config) => {
  const settings = readTeamsSettings({ ...env, VMBOT_TEAMS_DEV: config.VMBOT_TEAMS_DEV ?? env.VMBOT_TEAMS_DEV }, config.VMBOT_HTTP_HOST);
  return settings ? new TeamsFrontEnd(settings) : null;
};
