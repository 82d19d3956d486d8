/**
 * The one redaction function. Text a user types can carry a credential (a token pasted into a
 * reason, a password in a deny note); it is redacted once where it enters the pipeline, so no
 * copy of it reaches state, a notice, a reply or the audit log. The audit log (before hashing),
 * notices and the operator log run it again over everything they write, since a backend error
 * can quote a secret too. A leaf module: it imports nothing of ours, so every layer may use it.
 *
 * The shapes follow gitleaks' default rule set (config/gitleaks.toml, MIT; the rule ids are
 * named below) and secretlint's basicauth rule, but are deliberately looser: a scanner
 * must avoid false alarms, while here a false positive costs one word of a reason and a miss
 * puts a credential into an append-only, hash-chained log that cannot be edited afterwards.
 * Neither list can be used as is at run time (gitleaks' are Go RE2 expressions, secretlint's
 * live inside asynchronous file-linting rules and omit Bearer/JWT/password= shapes), so the
 * shapes are written here and pinned by test/redaction.test.ts, one example per family.
 * Shapes that could be a VM name (letters, digits, . _ -) are kept to their documented
 * prefixes so that `start <vm>` is never mangled.
 */

export const REDACTED = '[redacted]';

/** Characters a token runs over: no whitespace, no quote of any kind (chat clients use curly ones). */
const TOKEN = String.raw`[^\s"'\x60\u201C\u201D\u2018\u2019\u201E<>]`;

interface Rule {
  /** What it finds, for the tests and for readers. */
  id: string;
  re: RegExp;
  /** A literal part every match contains: strings without any rule's hint are passed over in one test. */
  hint: RegExp;
  /** Replacement; default: the whole match becomes [redacted]. */
  to?: string | ((match: string, ...groups: string[]) => string);
}

/** Basic credentials are base64 of `user:password`: only a value that decodes to one is redacted ("Basic web server" stays). */
function basicCredential(match: string, scheme: string, space: string, value: string): string {
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64').toString('latin1') : '';
  return decoded.includes(':') ? `${scheme}${space}${REDACTED}` : match;
}

const RULES: readonly Rule[] = [
  // PEM private keys (gitleaks private-key), whole block; an unterminated one to the end.
  { id: 'private-key', hint: /PRIVATE KEY/, re: /-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|$)/g },
  // HTTP Authorization / Proxy-Authorization header: the whole value, whatever the scheme.
  { id: 'authorization-header', hint: /authorization/, re: /\b((?:proxy-)?authorization\s*[:=]\s*)[^\r\n"'\x60\u201C\u201D]+/gi, to: `$1${REDACTED}` },
  // Bearer credentials of any length: RFC 6750's b64token alphabet (gitleaks curl-auth-header).
  { id: 'bearer', hint: /bearer/, re: /\b(bearer)(\s+)[A-Za-z0-9._~+/-]+=*/gi, to: `$1$2${REDACTED}` },
  // Basic credentials of any length, when they decode to user:password.
  { id: 'basic', hint: /basic/, re: /\b(basic)(\s+)([A-Za-z0-9+/]+={0,2})(?![A-Za-z0-9+/=])/gi, to: basicCredential },
  // Slack: every token prefix — bot xoxb, user xoxp, workspace xoxa, refresh xoxr, config/rotating
  // xoxe (also xoxe.xoxp-), client xoxc, session xoxs, legacy xoxo — and app-level xapp
  // (gitleaks slack-bot-token, slack-user-token, slack-legacy-*, slack-config-*, slack-app-token).
  { id: 'slack-token', hint: /xox/, re: /xox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+/gi },
  { id: 'slack-app-token', hint: /xapp-/, re: /xapp-[A-Za-z0-9-]+/gi },
  // Slack webhook / workflow URLs carry their secret in the path (gitleaks slack-webhook-url).
  { id: 'slack-webhook', hint: /hooks\.slack/, re: new RegExp(String.raw`(?:https?://)?hooks\.slack\.com/${TOKEN}+`, 'gi') },
  // JSON Web Tokens: header.payload.signature, base64url, header starting {" (gitleaks jwt); JWE has five parts.
  { id: 'jwt', hint: /eyJ/, re: /eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){2,4}/g },
  // GitHub: classic PAT, OAuth, user-to-server, server-to-server, refresh; fine-grained PAT
  // (gitleaks github-pat, github-oauth, github-app-token, github-refresh-token, github-fine-grained-pat).
  { id: 'github-token', hint: /gh[pousr]_/, re: /\bgh[pousr]_[A-Za-z0-9]{16,}/g },
  { id: 'github-fine-grained-pat', hint: /github_pat_/, re: /\bgithub_pat_[A-Za-z0-9_]{16,}/g },
  // GitLab personal/pipeline/runner tokens (gitleaks gitlab-pat, gitlab-cicd-job-token, gitlab-runner-token).
  { id: 'gitlab-token', hint: /gl[a-z]{1,3}t-/, re: /\bgl(?:pat|cbt|rt|dt|ptt|ft|soat)-[A-Za-z0-9_-]{16,}/g },
  // Azure AD / Entra client secret (gitleaks azure-ad-client-secret): what MicrosoftAppPassword looks like.
  { id: 'azure-ad-client-secret', hint: /\dQ~/, re: /[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{20,}/g },
  // AWS access key ids (gitleaks aws-access-token); secret keys are caught as key=value below.
  { id: 'aws-access-key-id', hint: /A3T|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA/, re: /\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z2-7]{16}\b/g },
  // Google API key and OAuth client secret (gitleaks gcp-api-key), npm (npm-access-token),
  // OpenAI and Anthropic keys (openai-api-key, anthropic-api-key), Stripe (stripe-access-token).
  { id: 'gcp-api-key', hint: /AIza/, re: /\bAIza[A-Za-z0-9_-]{35}/g },
  { id: 'gcp-oauth-secret', hint: /GOCSPX-/, re: /\bGOCSPX-[A-Za-z0-9_-]{20,}/g },
  { id: 'npm-token', hint: /npm_/, re: /\bnpm_[A-Za-z0-9]{30,}/g },
  { id: 'openai-anthropic-key', hint: /sk-/, re: /\bsk-(?:proj|svcacct|admin|ant-(?:api|admin)\d\d)-[A-Za-z0-9_-]{16,}|\bsk-[A-Za-z0-9]{16,}T3BlbkFJ[A-Za-z0-9]{16,}/g },
  { id: 'stripe-key', hint: /k_(?:live|test|prod)_/, re: /\b[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,}/g },
  // Credentials in a URL: scheme://user:password@host (secretlint basicauth).
  { id: 'url-credentials', hint: /:\/\/[^\s]*@/, re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)([^\s@/"']+)(@)/gi, to: `$1${REDACTED}$3` },
  // password=… style pairs, also in connection strings and env files (gitleaks generic-api-key,
  // database-password): the key stays readable, the value goes. A quoted value goes whole.
  {
    id: 'key-value', hint: /passw|pwd|passphrase|secret|token|key|credential/,
    re: new RegExp(
      String.raw`\b([A-Za-z0-9_.-]{0,40}(?:passw(?:or)?d|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|accountkey|sharedaccesskey)[A-Za-z0-9_.-]{0,40})(\s*(?::=|=>|=|:)\s*)` +
        String.raw`(?:"[^"\r\n]*"|'[^'\r\n]*'|\u201C[^\u201D\r\n]*\u201D|${TOKEN}+)`,
      'gi',
    ),
    to: `$1$2${REDACTED}`,
  },
  // Azure SAS tokens carry their signature as sig=… in a query string.
  { id: 'sas-signature', hint: /sig=/, re: new RegExp(String.raw`([?&;]sig=)${TOKEN}+`, 'gi'), to: `$1${REDACTED}` },
];

/**
 * One case-insensitive test of every rule's hint: most strings (names, ids, operations) hold
 * none and cost one regex run instead of one per rule; the audit log redacts every field.
 */
const ANY_HINT = new RegExp(RULES.map((r) => `(?:${r.hint.source})`).join('|'), 'i');
const HINTS = new Map(RULES.map((r) => [r, new RegExp(r.hint.source, 'i')]));

/** Every credential shape in `text` replaced by [redacted]. */
export function redactSecrets(text: string): string {
  if (!ANY_HINT.test(text)) return text;
  let out = text;
  for (const rule of RULES) {
    if (!HINTS.get(rule)!.test(out)) continue;
    out = typeof rule.to === 'function' ? out.replace(rule.re, rule.to) : out.replace(rule.re, rule.to ?? REDACTED);
  }
  return out;
}

/** The rules' ids, for tests that pin one example per family. */
export const REDACTION_RULES: readonly string[] = RULES.map((r) => r.id);

/** Which rules find something in `text` (tests show every rule has an example). */
export const secretKinds = (text: string): string[] => RULES.filter((r) => new RegExp(r.re.source, r.re.flags).test(text)).map((r) => r.id);

/** Every string anywhere in a value redacted: a secret may arrive in any field (a VM name, details). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (value instanceof Date) return value.toISOString() as T; // canonical JSON would write {}
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  return value;
}
