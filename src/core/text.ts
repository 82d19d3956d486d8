/**
 * Small wording helpers shared by every reply and CLI message (a leaf: imports nothing).
 */

/** "1 approval", "2 approvals"; irregular plurals are passed in ("1 policy", "2 policies"). */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "a, b and c" for people (never an Oxford-comma list of one). */
export const joinAnd = (items: readonly string[], last = 'and') =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive: "strat" is 1 from "start". */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...Array<number>(t.length).fill(0)]);
  for (let j = 0; j <= t.length; j++) d[0]![j] = j;
  for (let i = 1; i <= s.length; i++)
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[s.length]![t.length]!;
}

/**
 * The candidate closest to `word`, when it is close enough to be a typo: at most a third of the
 * word's length wrong (at least one edit), or a candidate that starts with the word. Null otherwise.
 */
export function closest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  if (!w) return null;
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  const limit = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  if (best !== null && bestD <= limit) return best;
  const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(w) && w.length >= 3);
  return prefixed.length === 1 ? prefixed[0]! : null;
}

/** A Hyper-V state name as people read it in a sentence or a table: one casing everywhere. */
export const stateWord = (state: string) =>
  ({ FastSaved: 'saved', FastSaving: 'saving' } as Record<string, string>)[state] ?? state.toLowerCase();
