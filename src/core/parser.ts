import { VmbotError } from './errors';
import type { AnyCommand } from './command';

/** Quote pairs a chat client may produce: straight, and the typographic ones Slack/Teams/macOS substitute. */
const QUOTES: Record<string, string> = { '"': '"', "'": "'", '\u201C': '\u201D', '\u2018': '\u2019', '\u201E': '\u201C' };

/** Split command text into words; quotes group words ("--reason "new shop""). */
export function tokenize(text: string): string[] {
  if (/[\u0000-\u0008\u000B-\u001F\u007F]/.test(text)) throw new VmbotError('usage', 'The command contains control characters.');
  const words: string[] = [];
  let i = 0;
  const s = text.replace(/[\r\n\t\u00A0]/g, ' ');
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    let word = '';
    while (i < s.length && s[i] !== ' ') {
      const close = QUOTES[s[i]!];
      if (close) {
        const end = s.indexOf(close, i + 1);
        if (end < 0) throw new VmbotError('usage', `Unclosed quote ${s[i]} in the command.`);
        word += s.slice(i + 1, end);
        i = end + 1;
      } else word += s[i++];
    }
    words.push(word);
  }
  return words;
}

/** `/vm start web01` and `vm start web01` are `start web01`. */
const withoutVmPrefix = (words: string[]) => (words[0] && /^\/?vm$/i.test(words[0]) ? words.slice(1) : words);

export interface Parsed {
  command: AnyCommand;
  args: unknown;
}

/**
 * Text -> command + validated args. `/vm start web01`, `vm start web01` and `start web01` all
 * parse alike. Returns null for empty text (the caller shows help).
 */
export function parseCommand(text: string, commands: readonly AnyCommand[], inputs?: Readonly<Record<string, string>>): Parsed | null {
  let words: string[];
  try {
    words = tokenize(text.trim());
  } catch (e) {
    // Name the usage of the command the user meant, when the first word says which.
    const first = withoutVmPrefix(text.trim().split(/\s+/))[0]?.toLowerCase();
    const meant = commands.find((c) => c.name === first);
    if (e instanceof VmbotError && meant) throw new VmbotError(e.code, `${e.message} Usage: ${meant.usage}`);
    throw e;
  }
  words = withoutVmPrefix(words);
  const name = words.shift();
  if (!name) return null;
  // Two-word commands (`request show r-…`) before one-word ones (`request web03 …`).
  const two = words[0] !== undefined ? commands.find((c) => c.name === `${name} ${words[0]}`.toLowerCase()) : undefined;
  if (two) words.shift();
  const command = two ?? commands.find((c) => c.name === name.toLowerCase());
  if (!command) throw new VmbotError('unknown_command', `Unknown command "${truncate(name)}".`, name);
  const usage = `Usage: ${command.usage}`;
  const raw: Record<string, unknown> = {};
  const given = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--') || w === '--') {
      positional.push(w);
      continue;
    }
    const [flagText, inline] = w.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const flag = flagText.toLowerCase();
    // Own entries only: `--constructor` must not find Object's constructor as a flag type.
    const type = command.flags && Object.hasOwn(command.flags, flag) ? command.flags[flag] : undefined;
    if (!type) throw new VmbotError('usage', `Unknown option --${truncate(flagText)} for ${command.name}. ${usage}`);
    // Last-wins would silently drop what the user typed first: say so instead.
    if (given.has(flag)) throw new VmbotError('usage', `--${flag} is given twice; give it once. ${usage}`);
    given.add(flag);
    if (type === 'boolean') {
      if (inline !== undefined) throw new VmbotError('usage', `--${flag} takes no value. ${usage}`);
      raw[flag] = true;
      continue;
    }
    const value = inline ?? words[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--')))
      throw new VmbotError('usage', `--${flag} needs a value. ${usage}`);
    if (type === 'number' && !/^-?\d+$/.test(value.trim()))
      throw new VmbotError('usage', `--${flag} needs a whole number, such as --${flag} 30; "${truncate(value)}" is not one. ${usage}`);
    raw[flag] = type === 'number' ? Number(value) : value;
  }
  const slots = command.positional;
  const restSlot = slots[slots.length - 1] === 'rest';
  const fixed = restSlot ? slots.slice(0, -1) : slots;
  if (positional.length > fixed.length && !restSlot)
    throw new VmbotError('usage', `Too many words for ${command.name}: "${truncate(positional.slice(fixed.length).join(' '))}". ${usage}`);
  fixed.forEach((slot, i) => {
    if (positional[i] !== undefined) raw[slot] = positional[i];
  });
  if (restSlot && positional.length > fixed.length) raw.rest = positional.slice(fixed.length).join(' ');
  // Action inputs (a Deny modal's reason) are whole values: never tokenised, so quotes or
  // `--words` in them cannot change the command. Only inputs the command declares are taken.
  for (const [name, value] of Object.entries(inputs ?? {})) {
    const slot = command.inputs?.[name];
    if (!slot) throw new VmbotError('usage', `${command.name} takes no input "${truncate(name)}". ${usage}`);
    if (raw[slot] !== undefined) throw new VmbotError('usage', `Give the ${name} either in the text or in the form, not both. ${usage}`);
    if (value.trim()) raw[slot] = value.trim();
  }
  const result = command.schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    // An option is named as the user typed it (--outcome), never by its internal slot name.
    const isFlag = key !== '' && !!command.flags && Object.hasOwn(command.flags, key);
    const what = ARG_WORDS[key] ?? (isFlag ? `--${key}` : key ? `"${key}"` : 'an argument');
    const missing = key !== '' && raw[key] === undefined;
    // A choice among fixed words: list them in the user's terms, not zod's `expected one of "a"|"b"`.
    if (!missing && issue.code === 'invalid_value' && issue.values.length)
      throw new VmbotError('usage', `${what} must be one of ${issue.values.map(String).join(', ')}; "${truncate(String(raw[key]))}" is not one. ${usage}`);
    // Messages are written for people in each schema; zod's generic ones are replaced, never shown.
    const generic = /^(Invalid|Too (small|big)|Unrecognized key|Expected)/.test(issue.message);
    const msg = missing ? `${command.name} needs ${what}` : generic ? `${capitalise(what)} is not valid` : capitalise(issue.message);
    throw new VmbotError('usage', `${msg}. ${usage}`);
  }
  return { command, args: result.data };
}

/** What each argument slot is, in the words of a usage error ("start needs the VM name"). */
const ARG_WORDS: Record<string, string> = {
  vm: 'the VM name',
  id: 'a request id (such as r-7k2mqx)',
  rest: 'a reason',
  reason: 'a reason',
  name: 'a name for the new VM',
  template: 'a template (--template <template>)',
  topic: 'a command name',
  minutes: '--minutes',
};

const capitalise = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/** Echo user text back only in a short, printable form. */
export const truncate = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n)}…` : s);
