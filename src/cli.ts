#!/usr/bin/env node
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from './log/logger';
import { AuditQuerySchema } from './audit/query';
import { AUDIT_FORMATS, formatAuditRecords, type AuditFormat } from './audit/format';
import { AUDIT_USAGE, auditKeygen, auditStatus, auditVerify } from './audit/cli';
import { loadConfig, packageRoot, type Config } from './core/config';
import { makeDirs } from './core/dirs';
import { exitCodeForError, fsReason, isVmbotError, VmbotError } from './core/errors';
import { exitCodeFor } from './core/pipeline';
import { unknownCommandReply } from './core/help';
import { closest, plural } from './core/text';
import { writeFileDurable } from './state/durable-file';
import { exportJea, JEA_FUNCTIONS, JEA_ROLE_NAME } from './hyperv/powershell/jea';
import { accessCsv, accessDiff, accessReport, accessText, describeGrant, diffCsv, diffText, reviewedUsers } from './policy/access';
import { loadInventory, SimulatedHyperV } from './hyperv/simulator';
import { PolicyEvaluator } from './policy/evaluator';
import { inventoryHosts, readInventory } from './hyperv/index';
import { explain, policyJsonSchema } from './policy/explain';
import { loadPolicyFile } from './policy/loader';
import { named } from './policy/schema';
import { formatZodIssues } from './policy/loader';
import { ALL_COMMANDS } from '../commands/index';
import { When } from '../commands/audit';

const USAGE = `vmbot — delegated Hyper-V guest administration from chat

  vmbot                                          serve every configured front-end (none: local chat)
  vmbot serve --accept-broken-audit <file:line>  serve once although the audit chain is broken there
                                                 (after investigating; recorded in the audit log)
  vmbot exec --as <principal> [--json] -- "<command text>"
                                                 one request through the full pipeline
                                                 exit: 0 done/pending, 2 invalid, 3 denied, 4 failed
  vmbot policy lint <file>                       validate a policy (schema, references, S 4.413)
  vmbot policy explain --as <principal> [--inventory <file>] <text>
                                                 what would be decided, and why (nothing runs)
  vmbot policy access [--user U] [--vm V] [--format text|csv|json] [--inventory <file>]
                                                 access review: who may do which operation on which VM,
                                                 and the assignment that grants it
  vmbot policy diff <old> <new> [--user U] [--vm V] [--format text|csv|json]
                                                 permissions a policy change adds and removes, per person
  vmbot policy schema [--out <file>]             JSON Schema of the policy for editors
  vmbot policy export jea <file> --out <dir> --group DOMAIN\\group
                                                 JEA role capability + session configuration for the hosts
${AUDIT_USAGE}
  vmbot audit query [--user U] [--vm V] [--operation O] [--outcome ok|failed|unknown|denied|invalid|pending]
                    [--kind K] [--since T] [--until T] [--limit N] [--format text|json|jsonl|csv]
  vmbot audit export [--format json|jsonl|csv] [--out <file>]   json: one document; jsonl: a record a line
  vmbot audit reindex                            rebuild the query index from the log (it is derived data)

  vmbot --version                                the installed version

Exit codes: 0 success (exec: done or pending), 1 error (configuration, policy, files, a broken
audit chain), 2 usage (a wrong command line or chat command), 3 denied, 4 backend failure, 5 the data
directory is in use by another vmbot (one writer per directory; nothing was done).
Configuration: VMBOT_* environment variables (see README).`;

const EXIT_ERROR = 1;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'serve':
      return serve(rest);
    case 'exec':
      return exec(rest);
    case 'policy':
      return policy(rest);
    case 'audit':
      return audit(rest);
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    case 'version':
    case '--version':
    case '-V':
      console.log(`vmbot ${version()}`);
      return 0;
    default: {
      const guess = closest(cmd, ['serve', 'exec', 'policy', 'audit', 'help', '--version']);
      throw new VmbotError('usage', `Unknown command "${cmd}".${guess ? ` Did you mean "vmbot ${guess}"?` : ''} Run "vmbot --help" for the commands.`);
    }
  }
}

/**
 * The audit query index (SQLite) and the app, loaded by the commands that use them: like the
 * front-ends, they are not loaded for `vmbot policy lint` and the other offline commands.
 */
async function auditIndexModules() {
  const [{ AuditIndex }, { auditIndexFile }] = await Promise.all([import('./audit/index/index'), import('./app')]);
  return { AuditIndex, auditIndexFile };
}

async function serve(args: string[] = []): Promise<number> {
  const { values } = parseArgs({ args, options: { 'accept-broken-audit': { type: 'string' } }, strict: true });
  const config = loadConfig();
  const log = createLogger(config.VMBOT_LOG_LEVEL);
  // Loaded here, not at the top: the front-ends (Bolt, botbuilder, the HTTP host) were most of
  // every command's start-up (`vmbot policy lint` spent ~1.7 s of 2.3 s loading them), and only
  // serving needs them.
  const [{ FRONT_ENDS }, { startServer }, { runLocalChat }] = await Promise.all([import('./adapters/index'), import('./serve'), import('./adapters/local/chat')]);
  const configured = FRONT_ENDS.map((f) => f(process.env, config)).filter((f) => f !== null);
  // With no front-end configured, vmbot is the local chat; the HTTP host then only runs for
  // health and metrics, and a taken port does not stop the chat.
  const server = await startServer(config, { log, frontEnds: configured, httpOptional: true, acceptBrokenAudit: values['accept-broken-audit'] });
  const { app } = server;
  const { revoked, expired, resumed } = app.startup;
  // A terminal user reads plain lines; a service's operator reads the structured log.
  const say = configured.length ? (msg: string) => log.warn(msg) : (msg: string) => console.error(msg);
  for (const w of app.loaded.warnings) say(`policy warning: ${w.path}: ${w.message}`);
  if (app.recovered.length) say(`Recovered ${plural(app.recovered.length, 'interrupted action')}; see "vmbot audit query --outcome unknown".`);
  const inv = app.backend instanceof SimulatedHyperV ? app.backend.inventoryChanges : null;
  if (inv) say(`VMBOT_SIM_INVENTORY changed since the last run, and wins: added ${inv.added.join(', ') || 'none'}; removed ${inv.removed.join(', ') || 'none'}; hardware changed ${inv.changed.join(', ') || 'none'}.`);
  if (revoked + expired + resumed) say(`At start-up: ${plural(revoked, 'overdue console grant')} revoked, ${plural(expired, 'request')} expired, ${plural(resumed, 'approved request')} finished.`);
  if (configured.length) log.info({ policy: config.VMBOT_POLICY, backend: app.backend.kind, dataDir: config.VMBOT_DATA_DIR }, 'serving');
  else console.error(`Policy ${config.VMBOT_POLICY}, backend ${app.backend.kind}, data in ${config.VMBOT_DATA_DIR}`);
  const stopped = new Promise<void>((resolve) => {
    const stop = () => void server.stop().then(resolve, (e) => (log.error({ error: String(e) }, 'shutdown failed'), resolve()));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (!configured.length) {
    await Promise.race([runLocalChat(app.pipeline, { user: config.VMBOT_LOCAL_USER, notices: app.services.notices }), stopped]);
    await server.stop();
    return 0;
  }
  log.info({ frontEnds: configured.map((f) => f.name) }, `front-ends: ${configured.map((f) => f.name).join(', ')}`);
  await stopped;
  return 0;
}

async function exec(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { as: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (!values.as || !positionals.length)
    throw new VmbotError('usage', 'Usage: vmbot exec --as <principal> [--json] -- "<command text>"');
  const config = loadConfig();
  const { openApp } = await import('./app');
  const app = await openApp(config, { log: createLogger(config.VMBOT_LOG_LEVEL) });
  // exec has no chat to deliver to: notices for others go to stderr, and stay listed in `requests`.
  app.services.notices.subscribe((n) => void (values.json ? undefined : console.error(`[to ${n.to.join(', ')}] ${n.reply.text}`)));
  try {
    const reply = await app.pipeline.handle(
      { principal: values.as, text: positionals.join(' '), channel: { kind: 'cli', id: '' } },
      { progress: (r) => void (values.json ? undefined : console.error(r.text)) },
    );
    if (values.json) {
      const { requestId, grantId } = (reply.data ?? {}) as { requestId?: string; grantId?: string };
      console.log(JSON.stringify({ status: reply.status, message: reply.text, auditId: reply.auditId ?? null, ...(reply.code ? { code: reply.code } : {}), ...(requestId ? { requestId } : {}), ...(grantId ? { grantId } : {}), data: reply.data ?? null }));
    } else console.log(reply.text);
    return exitCodeFor(reply.status);
  } finally {
    await app.close();
  }
}

async function policy(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'lint') {
    const file = rest[0];
    if (!file || rest.length > 1) throw new VmbotError('usage', 'Usage: vmbot policy lint <file>');
    const loaded = loadPolicyFile(file);
    for (const w of loaded.warnings) console.log(`${file}: ${w.path}: warning: ${w.message}`);
    const p = loaded.policy;
    console.log(`${file}: OK — ${plural(Object.keys(p.users).length, 'user')}, ${plural(Object.keys(p.roles).length, 'role')}, ${plural(Object.keys(p.scopes).length, 'scope')}, ${plural(p.assignments.length, 'assignment')}, ${plural(Object.keys(p.templates).length, 'template')}`);
    return 0;
  }
  if (sub === 'explain') {
    const { values, positionals } = leadingOptions(rest, ['as', 'policy', 'inventory'], ['json']);
    if (!values.as || !positionals.length) throw new VmbotError('usage', 'Usage: vmbot policy explain --as <principal> [--policy <file>] [--inventory <file>] <command text>');
    const file = values.policy ?? loadConfig().VMBOT_POLICY;
    const ev = new PolicyEvaluator(loadPolicyFile(file).policy);
    const inventory = values.inventory ? inventoryHosts(loadInventory(values.inventory, '--inventory')) : undefined;
    let x;
    try {
      x = explain(ev, ALL_COMMANDS, values.as, positionals.join(' '), { inventory });
    } catch (e) {
      // A typo reads as it does in chat ("did you mean", among the commands that principal may use).
      if (isVmbotError(e) && e.code === 'unknown_command')
        throw new VmbotError('usage', unknownCommandReply(e.detail ?? '', ALL_COMMANDS, ev, ev.identify(values.as), e.message).text);
      throw e;
    }
    if (values.json) console.log(JSON.stringify(x));
    else {
      // "alice" is not a principal: "local:alice" is (the channel comes first).
      const hint = x.user || values.as.includes(':') ? '' : ` (a principal names its channel: local:${values.as}, slack:U…, teams:…)`;
      console.log(`principal  ${x.principal} → ${x.user ? `user ${x.user}` : `not in the policy${hint}`}`);
      console.log(`command    ${x.command}${x.operation ? ` → operation "${x.operation}"` : ''}${x.vm ? ` on ${x.vm}` : ''}`);
      console.log(`decision   ${x.decision.allow ? 'ALLOW' : 'DENY'}: ${x.decision.reason}`);
      // Every decision names its assignment; "none" says no assignment grants it at all.
      console.log(`matched    ${x.decision.matched ? describeGrant(x.decision.matched) : 'none (no assignment applies)'}`);
      for (const n of x.notes) console.log(`note       ${n}`);
    }
    return x.decision.allow ? 0 : 3;
  }
  if (sub === 'schema') {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } });
    const text = JSON.stringify(policyJsonSchema(), null, 2) + '\n';
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  }
  if (sub === 'export') return policyExport(rest);
  if (sub === 'access' || sub === 'diff') return policyAccess(sub, rest);
  throw new VmbotError('usage', 'Usage: vmbot policy lint <file> | explain --as <principal> <text> | access | diff <old> <new> | schema | export jea <file> --out <dir> --group DOMAIN\\group');
}

/**
 * Options before the command text only: `policy explain --as local:bob stop db01 --turnoff`
 * keeps `--turnoff` as part of the text. `--` ends the options explicitly.
 */
function leadingOptions(args: string[], valued: string[], flags: string[]) {
  const values: Record<string, string | boolean | undefined> = {};
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    const name = a.startsWith('--') ? a.slice(2) : null;
    if (name && valued.includes(name)) {
      if (args[i + 1] === undefined) throw new VmbotError('usage', `--${name} needs a value`);
      values[name] = args[++i];
    } else if (name && flags.includes(name)) values[name] = true;
    else break;
  }
  return { values: values as { as?: string; policy?: string; inventory?: string; json?: boolean }, positionals: args.slice(i) };
}

const ACCESS_USAGE = 'Usage: vmbot policy access [--policy <file>] [--inventory <file>] [--user U] [--vm V] [--format text|csv|json]';
const DIFF_USAGE = 'Usage: vmbot policy diff <old policy> <new policy> [--inventory <file>] [--user U] [--vm V] [--format text|csv|json]';

/**
 * `policy access` (who may do what on which VM, and the assignment that grants it) and
 * `policy diff` (what a policy change adds and removes, person by person). VMs come from
 * --inventory or the configured backend; decisions from the same evaluator as every request.
 */
async function policyAccess(sub: 'access' | 'diff', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { policy: { type: 'string' }, inventory: { type: 'string' }, user: { type: 'string' }, vm: { type: 'string' }, format: { type: 'string' } },
  });
  const usage = sub === 'access' ? ACCESS_USAGE : DIFF_USAGE;
  const format = values.format ?? 'text';
  if (!['text', 'csv', 'json'].includes(format)) throw new VmbotError('usage', `--format must be text, csv or json. ${usage}`);
  if (sub === 'access' && positionals.length) throw new VmbotError('usage', `Unexpected "${positionals[0]}". ${usage}`);
  if (sub === 'diff' && (positionals.length !== 2 || values.policy)) throw new VmbotError('usage', `policy diff compares two policy files. ${usage}`);
  const inventory = values.inventory ? inventoryHosts(loadInventory(values.inventory, '--inventory')) : await readInventory(loadConfig());
  const filter = { user: values.user, vm: values.vm };
  if (values.vm && !inventory.some((v) => v.name.toLowerCase() === values.vm!.toLowerCase()))
    throw new VmbotError('usage', `No VM "${values.vm}" in the inventory (${plural(inventory.length, 'VM')}${values.inventory ? ` in ${values.inventory}` : ' from the configured backend'}).`);
  const load = (file: string) => {
    const loaded = loadPolicyFile(file);
    for (const w of loaded.warnings) console.error(`${file}: ${w.path}: warning: ${w.message}`);
    return new PolicyEvaluator(loaded.policy);
  };
  if (sub === 'access') {
    const ev = load(values.policy ?? loadConfig().VMBOT_POLICY);
    if (values.user && !named(ev.policy.users, values.user) && !Object.keys(ev.policy.users).some((u) => u.toLowerCase() === values.user!.toLowerCase()))
      throw new VmbotError('usage', `No user "${values.user}" in the policy.`);
    const rows = accessReport(ev, inventory, filter);
    process.stdout.write(format === 'json' ? JSON.stringify(rows, null, 2) + '\n' : format === 'csv' ? accessCsv(rows) : accessText(rows, inventory.length, reviewedUsers(ev, filter)));
    return 0;
  }
  const d = accessDiff(load(positionals[0]!), load(positionals[1]!), inventory, filter);
  process.stdout.write(format === 'json' ? JSON.stringify(d, null, 2) + '\n' : format === 'csv' ? diffCsv(d) : diffText(d));
  return 0;
}

const EXPORT_USAGE = 'Usage: vmbot policy export jea <policy file> --out <dir> --group DOMAIN\\group';

/** `policy export jea`: the JEA role capability and session configuration for the Hyper-V hosts. */
async function policyExport(args: string[]): Promise<number> {
  const [format, ...rest] = args;
  if (format !== 'jea') throw new VmbotError('usage', `${format === undefined ? 'Missing export format.' : `Unknown export format "${format}".`} ${EXPORT_USAGE}`);
  const { values, positionals } = parseArgs({ args: rest, options: { out: { type: 'string' }, group: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new VmbotError('usage', `${positionals.length ? 'Exactly one policy file, please.' : 'Missing the policy file.'} ${EXPORT_USAGE}`);
  if (!values.out) throw new VmbotError('usage', `Missing --out <dir>. ${EXPORT_USAGE}`);
  // The group whose members may connect to the endpoint is site-specific: never a silent default.
  if (!values.group) throw new VmbotError('usage', `Missing --group DOMAIN\\group: the Active Directory group of vmbot's service account, which the JEA endpoint admits. ${EXPORT_USAGE}`);
  const file = positionals[0]!;
  const loaded = loadPolicyFile(file); // schema, references and lint errors stop the export
  for (const w of loaded.warnings) console.error(`${file}: ${w.path}: warning: ${w.message}`);
  const { psrc, pssc } = exportJea(loaded.policy, { serviceGroup: values.group, source: file });
  const written = [
    [join(values.out, `${JEA_ROLE_NAME}.psrc`), psrc],
    [join(values.out, `${JEA_ROLE_NAME}.pssc`), pssc],
  ] as const;
  // Temp file + fsync + rename: a failed export never leaves a truncated file for a host to load.
  makeDirs(values.out);
  for (const [path, text] of written) writeFileDurable(path, text);
  console.log(`Wrote ${written[0][0]} (role capability ${JEA_ROLE_NAME}: ${JEA_FUNCTIONS.length} wrapper functions, no Hyper-V cmdlets)`);
  console.log(`Wrote ${written[1][0]} (session configuration for ${values.group})`);
  console.log(`Install the .psrc in a module's RoleCapabilities folder on each host, then: Register-PSSessionConfiguration -Path ${JEA_ROLE_NAME}.pssc -Name vmbot -Force`);
  return 0;
}

async function audit(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const dir = (c: Config) => join(c.VMBOT_DATA_DIR, 'audit');
  // Every reader of the log needs one: a wrong VMBOT_DATA_DIR must not pass an audit as "OK: 0
  // records" nor read as an empty log or an internal error.
  const withLog = (): Config => {
    const config = loadConfig();
    if (!existsSync(dir(config))) throw new VmbotError('config', `No audit log at ${dir(config)}${sub === 'verify' ? ': nothing to verify' : ''}. Check VMBOT_DATA_DIR (now ${config.VMBOT_DATA_DIR}).`);
    return config;
  };
  if (sub === 'verify') return auditVerify(rest, withLog());
  if (sub === 'keygen') return auditKeygen(rest);
  if (sub === 'status') return auditStatus(rest, withLog());
  if (sub === 'query' || sub === 'export') {
    const { values } = parseArgs({
      args: rest,
      options: Object.fromEntries(['user', 'vm', 'operation', 'outcome', 'kind', 'since', 'until', 'limit', 'format', 'out', 'correlation'].map((k) => [k, { type: 'string' as const }])),
    });
    const { format = sub === 'export' ? 'json' : 'text', out, correlation, ...filters } = values as Record<string, string | undefined>;
    const q = AuditQuerySchema.safeParse({ ...auditFilterWords(filters), correlationId: correlation });
    if (!q.success) {
      // A choice among words (--outcome, --kind): listed as the chat lists them, never zod's text.
      const i = q.error.issues[0]!;
      const key = String(i.path[0]);
      const flag = key === 'correlationId' ? 'correlation' : key;
      if (i.code === 'invalid_value') throw new VmbotError('usage', `--${flag} must be one of ${i.values.map(String).join(', ')}; "${(values as Record<string, string>)[flag]}" is not one.`);
      throw new VmbotError('usage', formatZodIssues('audit query', q.error).join('\n'));
    }
    if (!(AUDIT_FORMATS as readonly string[]).includes(format)) throw new VmbotError('usage', `--format must be ${AUDIT_FORMATS.join(', ')}; "${format}" is not one of them.`);
    const config = withLog();
    const { AuditIndex, auditIndexFile } = await auditIndexModules();
    const index = await AuditIndex.open(dir(config), auditIndexFile(config.VMBOT_DATA_DIR));
    let result;
    try {
      result = await index.query(q.data);
    } finally {
      await index.close();
    }
    const { records, skipped, chainBreak } = result;
    // A record whose bytes are not the ones hashed is never shown; say so, loudly, where a script's output is not.
    for (const s of skipped)
      console.error(`WARNING: ${s.id !== null ? `record #${s.id}` : 'a line'} (${s.file} line ${s.line}) not shown: ${s.reason}.`);
    if (chainBreak) console.error(`WARNING: the chain is broken at record #${chainBreak.id} (${chainBreak.file} line ${chainBreak.line}): it ${chainBreak.reason}; records from there on are not proven.`);
    if (skipped.length || chainBreak) console.error('Run "vmbot audit verify" for the full check.');
    const text = formatAuditRecords(records, format as AuditFormat);
    if (!records.length && format === 'text') console.error('No matching records.');
    if (out) {
      makeDirs(dirname(out));
      writeFileSync(out, text);
      console.error(`${plural(records.length, 'record')} written to ${out}`);
    } else process.stdout.write(text);
    return 0;
  }
  if (sub === 'reindex') {
    const config = withLog();
    const t = Date.now();
    const { AuditIndex, auditIndexFile } = await auditIndexModules();
    const index = await AuditIndex.open(dir(config), auditIndexFile(config.VMBOT_DATA_DIR));
    try {
      const { added } = await index.rebuild();
      console.log(`Rebuilt the audit index from the log: ${plural(added, 'record')} in ${((Date.now() - t) / 1000).toFixed(1)} s (${auditIndexFile(config.VMBOT_DATA_DIR)}).`);
    } finally {
      await index.close();
    }
    return 0;
  }
  throw new VmbotError('usage', 'Usage: vmbot audit verify [--pubkey <file>] [--checkpoints <file>] [--resume] | keygen --out <dir> | status | query [filters] [--format text|json|jsonl|csv] | export [--format json|jsonl|csv] [--out file] | reindex');
}

/**
 * `--since`/`--until` as the chat's `audit` takes them (2026-11-30, 2026-11-30T08:00Z, 90m / 24h /
 * 7d) and `--limit` a whole number of at least 1, each refused in words.
 */
function auditFilterWords(filters: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...filters };
  for (const k of ['since', 'until'] as const) {
    if (out[k] === undefined) continue;
    const t = When.safeParse(out[k]);
    if (!t.success) throw new VmbotError('usage', `--${k}: ${t.error.issues[0]!.message}.`);
    out[k] = t.data.toISOString();
  }
  if (out.limit !== undefined && (!/^\d+$/.test(out.limit.trim()) || Number(out.limit) < 1))
    throw new VmbotError('usage', `--limit needs a whole number of at least 1, such as --limit 50; "${out.limit.slice(0, 40)}" is not one.`);
  return out;
}

/** The package's version (package.json next to policies/, from src/ or dist/ alike). */
function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** What the error means for the person at the terminal: one message, never a stack trace. */
function cliErrorMessage(e: unknown): { message: string; exit: number } {
  if (isVmbotError(e)) return { message: e.message, exit: exitCodeForError(e) };
  const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  // Argument errors from parseArgs are usage errors too.
  // Node's text can run over several lines and end in a period: one line, one period.
  if (code.startsWith('ERR_PARSE_ARGS')) return { message: `${(e as Error).message.replace(/\s*\n\s*/g, ' ').replace(/\.$/, '')}. Run "vmbot --help" for the usage.`, exit: 2 };
  // A file that cannot be read or written: name it and the reason in words.
  if (code === 'EEXIST' && (e as NodeJS.ErrnoException).syscall === 'mkdir') return { message: `Cannot create the directory ${(e as NodeJS.ErrnoException).path}: a file of that name is in the way.`, exit: EXIT_ERROR };
  const reason = fsReason(e);
  if (reason) {
    const path = (e as NodeJS.ErrnoException).path;
    const verb = (e as NodeJS.ErrnoException).syscall ?? 'access';
    return { message: `Cannot ${verb === 'open' || verb === 'mkdir' || verb === 'rename' || verb === 'write' ? 'write or create' : verb} ${path ?? 'a file'}: ${reason}.`, exit: EXIT_ERROR };
  }
  return { message: `vmbot failed: ${e instanceof Error ? e.message : String(e)} (an internal error; please report it with the command you ran).`, exit: EXIT_ERROR };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const { message, exit } = cliErrorMessage(e);
    console.error(message);
    // The stack is for whoever debugs vmbot, only when asked for.
    if (process.env.VMBOT_LOG_LEVEL === 'debug' && e instanceof Error && e.stack) console.error(e.stack);
    process.exit(exit);
  },
);
