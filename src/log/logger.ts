import pino, { type Logger, type DestinationStream } from 'pino';
import { redactSecrets } from '../core/redact';

export type { Logger } from 'pino';

/**
 * Keys whose values are never written to the operator log, wherever they appear in a logged
 * object (tokens, signing secrets, passwords, cookies, auth headers). pino's redaction works on
 * paths, so the usual nesting levels are listed; the front-ends log ids, never payloads.
 */
const SECRET_KEYS = [
  'token', 'botToken', 'appToken', 'signingSecret', 'secret', 'clientSecret', 'password', 'MicrosoftAppPassword',
  'authorization', 'Authorization', 'cookie', 'Cookie', 'set-cookie', 'x-slack-signature',
  'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'VMBOT_OIDC_CLIENT_SECRET',
];
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = key.startsWith('[') ? key : `.${key}`;
  return [key, `*${dot}`, `*.*${dot}`, `*.*.*${dot}`];
});

/**
 * Credential shapes in free text (a message, a string field, an error's message and stack) get
 * the one redaction function of src/core/redact.ts; the key paths above cover known fields.
 * Errors are copied, never changed: the caller may still need the original.
 */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value instanceof Error) {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(value) as object) as Error, value);
    copy.message = redactSecrets(value.message);
    if (value.stack) copy.stack = redactSecrets(value.stack);
    return copy;
  }
  if (depth < 4 && value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, depth + 1)]));
  if (depth < 4 && Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  return value;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The operator log: JSON lines on stderr (stdout belongs to the local chat and `--json`),
 * honouring VMBOT_LOG_LEVEL. Synchronous writes, so a shutdown or crash never loses the last lines.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'vmbot' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (tests, library use). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
