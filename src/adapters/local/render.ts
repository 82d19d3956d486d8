import type { Reply } from '../../core/types';

/** Plain-text rendering: the reply text, then any actions as commands to type. */
export function renderText(reply: Reply): string {
  const actions = reply.actions?.length ? `\n${reply.actions.map((a) => `  → ${a.label}: type "${a.command}"`).join('\n')}` : '';
  return `${reply.text}${actions}`;
}
