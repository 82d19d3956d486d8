import pino, { type Logger, type DestinationStream } from 'pino';

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
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (tests, library use). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
