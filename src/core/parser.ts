import { VmbotError } from './errors';
import { formatPath } from '../policy/loader';
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
export function parseCommand(text: string, commands: readonly AnyCommand[]): Parsed | null {
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
  const command = commands.find((c) => c.name === name.toLowerCase());
  if (!command) throw new VmbotError('unknown_command', `Unknown command "${truncate(name)}".`);
  const usage = `Usage: ${command.usage}`;
  const raw: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--') || w === '--') {
      positional.push(w);
      continue;
    }
    const [flag, inline] = w.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const type = command.flags?.[flag.toLowerCase()];
    if (!type) throw new VmbotError('usage', `Unknown option --${truncate(flag)} for ${command.name}. ${usage}`);
    if (type === 'boolean') {
      if (inline !== undefined) throw new VmbotError('usage', `--${flag} takes no value. ${usage}`);
      raw[flag.toLowerCase()] = true;
      continue;
    }
    const value = inline ?? words[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--')))
      throw new VmbotError('usage', `--${flag} needs a value. ${usage}`);
    raw[flag.toLowerCase()] = type === 'number' ? (/^\d+$/.test(value) ? Number(value) : value) : value;
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
  const result = command.schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = formatPath(issue.path);
    const missing = issue.code === 'invalid_type' && raw[String(issue.path[0])] === undefined;
    const msg = missing ? `${where || 'an argument'} is missing` : `${where ? `${where}: ` : ''}${issue.message}`;
    throw new VmbotError('usage', `${msg}. ${usage}`);
  }
  return { command, args: result.data };
}

/** Echo user text back only in a short, printable form. */
export const truncate = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n)}…` : s);
