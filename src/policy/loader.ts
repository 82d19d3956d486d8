import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { fsReason, VmbotError } from '../core/errors';
import { closest } from '../core/text';
import { checkReferences, lintPolicy, type DefinedNames, type Finding } from './lint';
import {
  AssignmentSchema, GroupSchema, PolicySchema, RoleSchema, ScopeSchema, SettingsSchema, TemplateSchema, UserSchema, type Policy,
} from './schema';

export interface LoadedPolicy {
  file: string;
  policy: Policy;
  warnings: Finding[];
}

/** `users.alice.identities[0]` from a zod issue path. */
export const formatPath = (path: ReadonlyArray<PropertyKey>) =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');

/** A path as people read it: list positions count from 1 (`operations[1]` is the first), as explain and the access review number assignments. */
export const humanPath = (path: string) => path.replace(/\[(\d+)\]/g, (_, n: string) => `[${Number(n) + 1}]`);

/** The value at a zod issue path, for "did you mean" (issues do not carry their input by default). */
const valueAt = (root: unknown, path: ReadonlyArray<PropertyKey>) =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Record<PropertyKey, unknown>)[k] : undefined), root);

/** With `input` (the policy itself), positions count from 1 and misspelt names get a suggestion; other callers keep zod's paths. */
export const formatZodIssues = (file: string, error: z.ZodError, input?: unknown) =>
  error.issues
    .flatMap(explainIssue)
    .map((i) => {
      const given = input === undefined ? undefined : valueAt(input, i.path);
      const guess = i.code === 'invalid_value' && typeof given === 'string' && i.values ? closest(given, i.values.map(String)) : null;
      const where = `${file}: ${(input === undefined ? formatPath(i.path) : humanPath(formatPath(i.path))) || '(top level)'}`;
      if (guess) return `${where}: "${given}" is not one of the allowed names. Did you mean "${guess}"?`;
      return `${where}: ${typeof given === 'string' && i.code === 'invalid_value' ? `"${given}" is ` : ''}${i.message}`;
    });

type Issue = { code: string; path: PropertyKey[]; message: string; errors?: Issue[][]; values?: unknown[] };

/**
 * zod reports a failed union as a bare "Invalid input". A grant is a string or an object: drop
 * the branches whose type did not even match, and report the remaining branch's own problems
 * (so a missing exception.securityAnalysis is named as such).
 */
function explainIssue(issue: Issue): Issue[] {
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return [{ ...issue, message: 'is missing (required)' }];
  if (issue.code === 'invalid_value' && issue.values && issue.values.length > 6)
    return [{ ...issue, message: `not one of the ${issue.values.length} allowed names (e.g. ${issue.values.slice(0, 3).map((v) => JSON.stringify(v)).join(', ')}; see the policy guide)` }];
  if (issue.code !== 'invalid_union' || !issue.errors) return [issue];
  // A branch that got inside the value (issues below the root) is the one the author meant;
  // failing that, one whose type at least matched.
  const deeper = issue.errors.filter((b) => b.some((i) => i.path.length > 0));
  const candidates = deeper.length ? deeper : issue.errors.filter((b) => !b.every((i) => i.code === 'invalid_type'));
  if (candidates.length !== 1)
    return [{ ...issue, message: `Invalid input: ${issue.errors.flat().map((i) => i.message.replace(/^Invalid input: /, '')).join(', or ')}` }];
  return candidates[0]!.flatMap((i) => explainIssue({ ...i, path: [...issue.path, ...i.path] }));
}

/**
 * Parse a policy: JSON as JSON (JSON.parse is ~100x faster than a YAML parser on a large
 * generated policy), anything else as YAML. Syntax errors name line and column; a key given
 * twice in one object is an error in both (a second "alice" must not silently replace the first).
 */
export function parsePolicyText(file: string, text: string): unknown {
  if (/\.json$/i.test(file) || /^\s*[{[]/.test(text)) return parseJsonPolicy(file, text);
  return parseYamlPolicy(file, text);
}

function parseYamlPolicy(file: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'unknown position';
    // The parser's own text without its position suffix and code excerpt: the position is said once, first.
    const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new VmbotError('policy', `${file}: ${where}: ${what}`);
  }
  return doc.toJS();
}

const lineCol = (text: string, offset: number) => {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
};

function parseJsonPolicy(file: string, text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // V8's message has no position for most errors: the YAML parser (a JSON superset) finds it.
    // Slow, but only on this error path.
    const pos = /at position (\d+)/.exec((e as Error).message);
    const what = (e as Error).message.split('\n')[0]!.replace(/^Unexpected/, 'unexpected').replace(/,? ".*$/s, '').replace(/ in JSON at position \d+.*$/, '');
    if (pos) throw new VmbotError('policy', `${file}: ${lineCol(text, Number(pos[1]))}: ${what} (not valid JSON)`);
    try {
      parseYamlPolicy(file, text);
    } catch (y) {
      if (y instanceof VmbotError) throw new VmbotError('policy', `${y.message} (not valid JSON)`);
    }
    throw new VmbotError('policy', `${file}: ${what} (not valid JSON)`);
  }
  const dup = duplicateJsonKey(text);
  if (dup) throw new VmbotError('policy', `${file}: ${lineCol(text, dup.offset)}: the key "${dup.key}" appears twice in the same object`);
  return value;
}

/**
 * The first key repeated within one object, by one pass over already-valid JSON: the regex
 * (native, fast) yields every string and every bracket; a string followed by ":" is a key of
 * the innermost object.
 */
export function duplicateJsonKey(text: string): { key: string; offset: number } | null {
  const stack: (Set<string> | null)[] = [];
  // A string is `"…"` with backslash escapes, unrolled (runs of plain characters, then one escape): the same strings as (?:[^"\\]|\\.)*, a third faster.
  const token = /"([^"\\]*(?:\\.[^"\\]*)*)"(\s*:)?|[{}[\]]/g;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const c = m[0];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (m[2]) {
      const top = stack[stack.length - 1];
      if (!top) continue;
      const key = m[1]!.includes('\\') ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!;
      if (top.has(key)) return { key, offset: m.index };
      top.add(key);
    }
  }
  return null;
}

/**
 * Validate a policy value: schema, references and the S 4.413 lint, in one pass. Throws one
 * VmbotError whose message lists every error, each naming the file and the path. When the
 * schema fails, the entries that are valid on their own are still checked for references and
 * S 4.413, so an author sees every class of problem at once, not one class per run.
 */
export function validatePolicy(file: string, value: unknown, now = new Date()): LoadedPolicy {
  const parsed = PolicySchema.safeParse(value);
  const schemaErrors = parsed.success ? [] : formatZodIssues(file, parsed.error, value);
  const partial = parsed.success ? { policy: parsed.data, defined: undefined } : validParts(value);
  const findings = (partial ? [...checkReferences(partial.policy, partial.defined), ...lintPolicy(partial.policy, now)] : []).map((f) => ({ ...f, path: humanPath(f.path) }));
  const errors = [...schemaErrors, ...findings.filter((f) => f.severity === 'error').map((f) => `${file}: ${f.path}: ${f.message}`)];
  if (errors.length || !parsed.success) throw new VmbotError('policy', errors.join('\n'));
  return { file, policy: parsed.data, warnings: findings.filter((f) => f.severity === 'warning') };
}

const SECTIONS = { users: UserSchema, groups: GroupSchema, roles: RoleSchema, scopes: ScopeSchema, templates: TemplateSchema } as const;

/**
 * The parts of a policy that fail schema validation left out: each user, group, role, scope,
 * template and assignment that is valid on its own, at its own index, and the names every
 * section defines (valid or not). Null when the value is not even a mapping.
 */
function validParts(value: unknown): { policy: Policy; defined: DefinedNames } | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const raw = value as Record<string, unknown>;
  const entries = (section: keyof typeof SECTIONS) => {
    const v = raw[section];
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v) : [];
  };
  const valid = <K extends keyof typeof SECTIONS>(section: K) => {
    const out = Object.create(null) as Record<string, z.output<(typeof SECTIONS)[K]>>;
    for (const [name, entry] of entries(section)) {
      const r = SECTIONS[section].safeParse(entry);
      if (r.success) out[name] = r.data as z.output<(typeof SECTIONS)[K]>;
    }
    return out;
  };
  const assignments: Policy['assignments'] = [];
  if (Array.isArray(raw.assignments))
    raw.assignments.forEach((a, i) => {
      const r = AssignmentSchema.safeParse(a);
      if (r.success) assignments[i] = r.data; // sparse: a finding keeps the index the author sees
    });
  const settings = SettingsSchema.safeParse(raw.settings);
  const names = (section: keyof DefinedNames) => new Set(entries(section).map(([n]) => n));
  return {
    policy: {
      version: 1, settings: settings.success ? settings.data : SettingsSchema.parse(undefined),
      users: valid('users'), groups: valid('groups'), roles: valid('roles'), scopes: valid('scopes'), templates: valid('templates'), assignments,
    },
    defined: { users: names('users'), groups: names('groups'), roles: names('roles'), scopes: names('scopes') },
  };
}

export function loadPolicyFile(file: string, now = new Date()): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VmbotError('policy', `${file}: cannot read policy file (${fsReason(e) ?? (e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return validatePolicy(file, parsePolicyText(file, text), now);
}
