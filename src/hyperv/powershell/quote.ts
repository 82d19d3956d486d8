/**
 * How user-derived values reach PowerShell: as data inside ONE single-quoted string literal,
 * never as command text. Single-quoted strings are verbatim in PowerShell; the only special
 * characters are the five the tokenizer treats as single quotes, each escaped by doubling.
 */
const SINGLE_QUOTES = /['\u2018\u2019\u201A\u201B]/g;

/** A PowerShell single-quoted literal of `s` (doubling every single-quote character). */
export const psQuote = (s: string): string => `'${s.replace(SINGLE_QUOTES, (c) => c + c)}'`;

/**
 * JSON with every character outside printable ASCII escaped (\uXXXX): the literal that carries
 * it is then plain ASCII on one line, so no typographic quote, line or paragraph separator, or
 * console code page can reach the PowerShell tokenizer as anything but an escape in JSON.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7E]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The whole text sent for one call: a fixed function name and one data literal. */
export const invocation = (fn: string, request: unknown): string => `${fn} -Request ${psQuote(asciiJson(request))}`;
