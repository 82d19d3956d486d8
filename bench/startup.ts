/**
 * Start-up bench (issue 10): how long the bot takes to be ready with a 10,000-user policy
 * (bench/policy.ts's generated estate, written as JSON) and 100,000 simulated VMs.
 *
 *   phases   read + parse, schema validation, references + lint, evaluator construction
 *   openApp  the whole in-process start-up (policy, audit log, state, simulator with 100k VMs,
 *            start-up recovery), fresh data directory each run
 *   process  `node dist/src/cli.js policy lint <policy.json>` wall time: a cold process that
 *            loads the modules and the policy (what a platform admin waits for)
 *
 * Medians of RUNS runs; RSS after openApp. Target: openApp median under 500 ms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../src/app';
import { loadConfig } from '../src/core/config';
import { PolicyEvaluator } from '../src/policy/evaluator';
import { checkReferences, lintPolicy } from '../src/policy/lint';
import { parsePolicyText } from '../src/policy/loader';
import { PolicySchema } from '../src/policy/schema';
import { generateEstate } from './policy';
import { median, writeResult } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const round = (x: number) => Math.round(x * 10) / 10;

export async function main(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-startup-'));
  const est = generateEstate();
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(est.input, null, 2));
  const inventoryFile = join(dir, 'inventory.json');
  writeFileSync(inventoryFile, JSON.stringify([...est.inventory].map(([name, host]) => ({ name, host, state: 'Off' }))));

  const phases: Record<string, number[]> = { readParse: [], schema: [], lint: [], evaluator: [], openApp: [], process: [] };
  let rssMiB = 0;
  for (let i = 0; i < RUNS; i++) {
    let t = process.hrtime.bigint();
    const value = parsePolicyText(policyFile, readFileSync(policyFile, 'utf8'));
    phases.readParse!.push(ms(t));
    t = process.hrtime.bigint();
    const policy = PolicySchema.parse(value);
    phases.schema!.push(ms(t));
    t = process.hrtime.bigint();
    checkReferences(policy);
    lintPolicy(policy);
    phases.lint!.push(ms(t));
    t = process.hrtime.bigint();
    new PolicyEvaluator(policy);
    phases.evaluator!.push(ms(t));

    const data = join(dir, `data-${i}`);
    const config = loadConfig({ VMBOT_POLICY: policyFile, VMBOT_DATA_DIR: data, VMBOT_SIM_INVENTORY: inventoryFile, VMBOT_SIM_LATENCY_MS: '0' });
    t = process.hrtime.bigint();
    const app = await openApp(config);
    phases.openApp!.push(ms(t));
    rssMiB = Math.max(rssMiB, process.memoryUsage().rss / 2 ** 20);
    await app.close();
    rmSync(data, { recursive: true, force: true });

    t = process.hrtime.bigint();
    execFileSync(process.execPath, [join(__dirname, '..', 'src', 'cli.js'), 'policy', 'lint', policyFile], { stdio: 'ignore' });
    phases.process!.push(ms(t));
  }
  rmSync(dir, { recursive: true, force: true });
  const med = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(median(v))]));
  const result = {
    estate: { users: Object.keys(est.input.users ?? {}).length, vms: est.inventory.size, policyBytes: JSON.stringify(est.input, null, 2).length },
    runs: RUNS,
    medianMs: med,
    rssMiB: Math.round(rssMiB),
    target: { openAppUnderMs: 500, pass: med.openApp! < 500 },
  };
  writeResult('startup', result);
  return result;
}

if (require.main === module)
  void main().then(
    (r) => process.exit((r.target as { pass: boolean }).pass ? 0 : 1),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
