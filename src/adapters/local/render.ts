import type { Reply, ReplyAction } from '../../core/types';

/** Plain-text rendering: the reply text, then any actions as commands to type. */
export function renderText(reply: Reply): string {
  // A terminal has no forms: an action's inputs are typed after its command (`deny r-7k2m <reason>`).
  const typed = (a: ReplyAction) => [a.command, ...(a.inputs ?? []).map((i) => `<${i.name}>`)].join(' ');
  const actions = reply.actions?.length ? `\n${reply.actions.map((a) => `  → ${a.label}: type "${typed(a)}"`).join('\n')}` : '';
  return `${reply.text}${actions}`;
}
