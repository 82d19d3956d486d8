import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { VmbotError } from './errors';
import { numberSetting } from './number-setting';

/** The package root (holds policies/), from src/core or dist/src/core alike. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'policies'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

const int = (min: number, max: number) => numberSetting({ min, max, integer: true });
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

/** Every setting vmbot reads, from VMBOT_* variables; secrets (later: tokens) only from here. */
const slackChannel = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123ABCD');

export const ConfigSchema = z.strictObject({
  VMBOT_POLICY: z.string().default(() => join(packageRoot(), 'policies', 'example.yaml')),
  VMBOT_DATA_DIR: z.string().default('./data'),
  VMBOT_BACKEND: z.enum(['simulator', 'powershell']).default('simulator'),
  VMBOT_LOCAL_USER: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'must be a local user name such as alice').default('alice'),
  VMBOT_ACTION_TIMEOUT_MS: int(1000, 3_600_000).default(120_000),
  VMBOT_AUDIT_SEGMENT_RECORDS: int(100, 10_000_000).default(50_000),
  VMBOT_SIM_LATENCY_MS: int(0, 600_000).default(400),
  VMBOT_SIM_INVENTORY: z.string().optional(),
  VMBOT_REVOKER_INTERVAL_MS: int(100, 3_600_000).default(15_000),
  VMBOT_PS_POOL_SIZE: int(1, 32).default(2),
  VMBOT_PS_TIMEOUT_MS: int(1000, 3_600_000).default(60_000),
  VMBOT_PS_EXECUTABLE: z.string().default('pwsh'),
  /** Folder prepended to PSModulePath for the pwsh sessions (tests: the Hyper-V simulation). */
  VMBOT_PS_MODULE_PATH: z.string().optional(),
  VMBOT_HYPERV_HOSTS: list.default(['localhost']),
  VMBOT_JEA_ENDPOINT: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a session configuration name').optional(),
  VMBOT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('warn'),
  // Audit assurance (src/audit): signed checkpoints and SIEM forwarding; see README "Audit assurance".
  /** Ed25519 private key (PEM) that signs checkpoints; must live outside the data directory. */
  VMBOT_AUDIT_KEY_FILE: z.string().optional(),
  /** Where signed checkpoints are appended (JSON Lines); default <data dir>/audit-checkpoints.jsonl. */
  VMBOT_AUDIT_CHECKPOINTS: z.string().optional(),
  VMBOT_AUDIT_CHECKPOINT_RECORDS: int(1, 10_000_000).default(1000),
  VMBOT_AUDIT_CHECKPOINT_SECONDS: int(1, 86_400).default(300),
  /** Syslog collector for every record, RFC 5424 with octet-counting framing: tcp://host:port or tls://host:port. */
  VMBOT_AUDIT_SYSLOG: z.string().regex(/^(tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be tcp://host:port or tls://host:port').optional(),
  /** CA certificate(s) (PEM file) that the syslog collector's TLS certificate must chain to; default: the system's. */
  VMBOT_AUDIT_SYSLOG_CA: z.string().optional(),
  /** HTTP JSON collector (Splunk HEC-style event endpoint) for every record. */
  VMBOT_AUDIT_HTTP_URL: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').optional(),
  /** Its token (a secret: environment only), sent as "Authorization: Splunk <token>". */
  VMBOT_AUDIT_HTTP_TOKEN: z.string().optional(),
  /** CA certificate(s) (PEM file) for an https collector; default: the system's. */
  VMBOT_AUDIT_HTTP_CA: z.string().optional(),
  /**
   * Events per POST at most (about 600 bytes each): 500 stays under the 1 MB request limit of
   * older Splunk releases; a collector that allows more (or less) per request can be told so.
   */
  VMBOT_AUDIT_HTTP_MAX_EVENTS: int(1, 10_000).default(500),
  /** The one HTTP host (front-ends, health, metrics). Loopback by default: exposing it is a decision. */
  VMBOT_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  VMBOT_HTTP_PORT: int(0, 65535).default(3000),
  /** The outside base URL of the HTTP host (links, OIDC redirect), e.g. https://vmbot.example.org. */
  VMBOT_PUBLIC_URL: z.url({ error: 'must be a URL such as https://vmbot.example.org' }).optional(),
  /** Slack's Web API base URL (tests: a local stand-in). */
  VMBOT_SLACK_API_URL: z.url({ error: 'must be a URL such as https://slack.com/api/' }).optional(),
  /** Workspaces allowed to talk to the bot (Slack team ids, T…); unset = any workspace the app is installed in. */
  VMBOT_SLACK_TEAM_IDS: list.pipe(z.array(z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'must be Slack workspace ids such as T0123ABCD'))).optional(),
  /** Optional channel id where approval cards are also posted. */
  VMBOT_SLACK_APPROVALS_CHANNEL: slackChannel.optional(),
  /** Optional channel id where every signed audit checkpoint is posted (a copy the host admin does not control). */
  VMBOT_SLACK_AUDIT_CHANNEL: slackChannel.optional(),
  /**
   * Optional Teams channel (its conversation id, 19:…@thread.tacv2, as in the channel's link)
   * where every signed audit checkpoint is posted.
   */
  VMBOT_TEAMS_AUDIT_CHANNEL: z
    .string()
    .regex(/^19:[A-Za-z0-9_.=-]{1,200}@thread\.(tacv2|skype)$/, 'must be a Teams channel id such as 19:0a1b2c3d4e5f4a6b8c9d0e1f2a3b4c5d@thread.tacv2 (Get link to channel: the part after /channel/, URL-decoded)')
    .optional(),
  /** Teams without authentication, for local development on a loopback host only. */
  VMBOT_TEAMS_DEV: z.enum(['0', '1']).optional(),
  VMBOT_OIDC_ISSUER: z.url().optional(),
  VMBOT_OIDC_CLIENT_ID: z.string().optional(),
  VMBOT_OIDC_CLIENT_SECRET: z.string().optional(),
  VMBOT_OIDC_PRINCIPAL: z.string().optional(),
});
export type Config = z.infer<typeof ConfigSchema>;

/**
 * Read VMBOT_* from the environment. An unknown VMBOT_ name is an error too: a typo must not
 * silently fall back to a default.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = new Set(Object.keys(ConfigSchema.shape));
  const input: Record<string, string> = {};
  const unknown: string[] = [];
  const empty: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('VMBOT_') || v === undefined) continue;
    if (!known.has(k)) unknown.push(k);
    // Set but empty is how an unset shell variable or a blank template line arrives
    // (VMBOT_DATA_DIR=$DATA): a mistake, never a quiet fall-back to ./data or the simulator.
    else if (v.trim() === '') empty.push(k);
    else input[k] = v;
  }
  const problems = [
    ...unknown.map((k) => `${k}: not a vmbot setting (known: ${[...known].join(', ')})`),
    ...empty.map((k) => `${k}: is set but empty; give it a value, or unset it to use the default`),
  ];
  const r = ConfigSchema.safeParse(input);
  // A choice among words or a URL in words too, never zod's `Invalid option: expected one of "a"|"b"`.
  const words = (i: z.core.$ZodIssue) =>
    i.code === 'invalid_value'
      ? `must be one of ${i.values.map(String).join(', ')}; "${String(input[String(i.path[0])] ?? '').slice(0, 40)}" is not one`
      : i.code === 'invalid_format' && i.message === 'Invalid URL'
        ? 'must be a URL such as https://login.example.org/realms/it'
        : i.message;
  if (!r.success) problems.push(...r.error.issues.map((i) => `${String(i.path[0])}: ${words(i)}`));
  if (problems.length || !r.success) throw new VmbotError('config', `Configuration error:\n  ${problems.join('\n  ')}`);
  return { ...r.data, VMBOT_DATA_DIR: resolve(r.data.VMBOT_DATA_DIR) };
}
