import type { Identity, PolicyEvaluator } from '../policy/evaluator';
import type { AnyCommand } from './command';
import type { Reply } from './types';

/** Commands this user can use: help never advertises what the policy would deny. */
export function usableCommands(commands: readonly AnyCommand[], policy: PolicyEvaluator, identity: Identity | null): AnyCommand[] {
  return commands.filter((c) => !c.shownWith.length || (identity !== null && c.shownWith.some((op) => policy.holdsAnywhere(identity.id, op))));
}

export function helpReply(commands: readonly AnyCommand[], policy: PolicyEvaluator, identity: Identity | null, topic?: string): Reply {
  const usable = usableCommands(commands, policy, identity);
  if (topic) {
    const c = usable.find((x) => x.name === topic.toLowerCase());
    if (!c) return { status: 'invalid', code: 'usage', text: `No help for "${topic}": not a command you can use. Type "help" for the list.` };
    return { status: 'done', title: c.name, text: `${c.summary}\nUsage: ${c.usage}` };
  }
  const width = Math.max(...usable.map((c) => c.usage.length));
  const lines = usable.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  const intro = identity ? 'Commands you can use:' : 'You are not known to vmbot yet; you can only use:';
  return {
    status: 'done',
    title: 'vmbot help',
    text: `${intro}\n${lines.join('\n')}`,
    fields: usable.map((c) => ({ label: c.usage, value: c.summary })),
  };
}
