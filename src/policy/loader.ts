import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { VmbotError } from '../core/errors';
import { checkReferences, lintPolicy, type Finding } from './lint';
import { PolicySchema, type Policy } from './schema';

export interface LoadedPolicy {
  file: string;
  policy: Policy;
  warnings: Finding[];
}

/** `users.alice.identities[0]` from a zod issue path. */
export const formatPath = (path: ReadonlyArray<PropertyKey>) =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');

export const formatZodIssues = (file: string, error: z.ZodError) =>
  error.issues.flatMap(explainIssue).map((i) => `${file}: ${formatPath(i.path) || '(top level)'}: ${i.message}`);

type Issue = { code: string; path: PropertyKey[]; message: string; errors?: Issue[][]; values?: unknown[] };

/**
 * zod reports a failed union as a bare "Invalid input". A grant is a string or an object: drop
 * the branches whose type did not even match, and report the remaining branch's own problems
 * (so a missing exception.securityAnalysis is named as such).
 */
function explainIssue(issue: Issue): Issue[] {
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

/** Parse YAML or JSON text (JSON is YAML) into a plain value; syntax errors name line and column. */
export function parsePolicyText(file: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'unknown position';
    throw new VmbotError('policy', `${file}: ${where}: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

/**
 * Validate a policy value: schema, references, then the S 4.413 lint. Throws one VmbotError
 * whose message lists every error, each naming the file and the path.
 */
export function validatePolicy(file: string, value: unknown, now = new Date()): LoadedPolicy {
  const parsed = PolicySchema.safeParse(value);
  if (!parsed.success) throw new VmbotError('policy', formatZodIssues(file, parsed.error).join('\n'));
  const findings = [...checkReferences(parsed.data), ...lintPolicy(parsed.data, now)];
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) throw new VmbotError('policy', errors.map((f) => `${file}: ${f.path}: ${f.message}`).join('\n'));
  return { file, policy: parsed.data, warnings: findings.filter((f) => f.severity === 'warning') };
}

export function loadPolicyFile(file: string, now = new Date()): LoadedPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VmbotError('policy', `${file}: cannot read policy file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return validatePolicy(file, parsePolicyText(file, text), now);
}
