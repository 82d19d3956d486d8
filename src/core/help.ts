import type { Identity, PolicyEvaluator } from '../policy/evaluator';
import type { AnyCommand } from './command';
import { closest } from './text';
import type { Reply } from './types';

/** Commands this user can use: help never advertises what the policy would deny. */
export function usableCommands(commands: readonly AnyCommand[], policy: PolicyEvaluator, identity: Identity | null): AnyCommand[] {
  return commands.filter((c) => !c.shownWith.length || (identity !== null && c.shownWith.some((op) => policy.holdsAnywhere(identity.id, op))));
}

/** Usage and summary as this user may use the command (stop shows --turnoff only to those allowed it). */
export function usageFor(c: AnyCommand, policy: PolicyEvaluator, identity: Identity | null): { usage: string; summary: string } {
  const v = identity ? c.variants?.find((x) => x.when(policy, identity.id)) : undefined;
  return { usage: v?.usage ?? c.usage, summary: v?.summary ?? c.summary };
}

/** "Unknown command "strat". Did you mean "start"?" — only among the commands this user may use. */
export function unknownCommandReply(word: string, commands: readonly AnyCommand[], policy: PolicyEvaluator, identity: Identity | null, message: string): Reply {
  const usable = usableCommands(commands, policy, identity);
  const guess = closest(word, usable.map((c) => c.name.split(' ')[0]!));
  const hint = guess ? ` Did you mean "${guess}"? ${usageFor(usable.find((c) => c.name.split(' ')[0] === guess)!, policy, identity).usage}` : '';
  const more = identity ? 'Type "help" for the commands you can use.' : 'You are not known to vmbot yet; type "help" for what you can use.';
  return { status: 'invalid', code: 'unknown_command', text: `${message}${hint}\n${more}` };
}

export function helpReply(commands: readonly AnyCommand[], policy: PolicyEvaluator, identity: Identity | null, topic?: string): Reply {
  const usable = usableCommands(commands, policy, identity).map((c) => ({ c, ...usageFor(c, policy, identity) }));
  if (topic) {
    const matching = usable.filter((x) => x.c.name.split(' ')[0] === topic.toLowerCase() || x.c.name === topic.toLowerCase());
    if (!matching.length) {
      const guess = closest(topic, usable.map((x) => x.c.name.split(' ')[0]!));
      return { status: 'invalid', code: 'usage', text: `No help for "${topic}": not a command you can use.${guess ? ` Did you mean "help ${guess}"?` : ''} Type "help" for the list.` };
    }
    return { status: 'done', title: matching[0]!.c.name, text: matching.map((x) => `${x.summary}\nUsage: ${x.usage}`).join('\n') };
  }
  // One very long usage (audit's filters) must not push every summary 170 columns right: it
  // goes on lines of its own, its summary under it; the others keep their column.
  const long = (u: string) => u.length > LONG_USAGE;
  const width = Math.max(0, ...usable.filter((x) => !long(x.usage)).map((x) => x.usage.length));
  const lines = usable.map((x) => (long(x.usage) ? `${wrapUsage(x.usage)}\n      ${x.summary}` : `  ${x.usage.padEnd(width)}  ${x.summary}`));
  const intro = identity ? 'Commands you can use:' : 'You are not known to vmbot yet; you can only use:';
  return {
    status: 'done',
    title: 'vmbot help',
    text: `${intro}\n${lines.join('\n')}`,
    fields: usable.map((x) => ({ label: x.usage, value: x.summary })),
  };
}

const LONG_USAGE = 64;

/** A long usage broken before its `[option]` groups, at most ~90 columns a line. */
function wrapUsage(usage: string): string {
  const lines = [''];
  for (const part of usage.split(/ (?=\[)/)) {
    const cur = lines[lines.length - 1]!;
    if (cur && cur.length + part.length + 1 > 88) lines.push(part);
    else lines[lines.length - 1] = cur ? `${cur} ${part}` : part;
  }
  return lines.map((l, i) => `${i ? '      ' : '  '}${l}`).join('\n');
}
