/**
 * Start-up bench (issue 10): how long the bot takes to be ready to serve a request with a
 * 10,000-user policy (bench/policy.ts's generated estate, written as pretty JSON, 3.7 MB) and the
 * simulator holding its 100,000 VMs (VMBOT_SIM_INVENTORY, a JSON file).
 *
 * What "start-up" covers: `openApp`, in a cold process of its own (bench/startup-child.ts) —
 * lock the data dir, read + parse + validate + lint the policy, build the evaluator, open the
 * audit log (verify, assurance), open the state, open the simulator with 100k VMs (inventory
 * validated, state file read or seeded), start-up recovery (open intents, console grants Hyper-V
 * holds that state does not know, overdue grants, expired requests), the audit query index: up
 * to the point where the pipeline can serve a request. Front-end connections (Slack, Teams)
 * are not included: they wait on the network.
 *
 *   first    a new data directory: the simulator seeds and writes its state file
 *   restart  the same data directory again (the everyday case): state file read, not rewritten
 *   estateInHyperV  a restart with the same policy, but no copy of the 100k VMs in the bot's
 *            process (the simulator's small fixture estate): what a deployment on the PowerShell
 *            backend loads, where the VMs live in Hyper-V and are asked for per request
 *
 * Each figure is the median of RUNS cold processes. Also printed: module loading and the whole
 * process to ready (Node's boot + modules + openApp), the RSS at ready, the policy's own phases
 * measured in this process (warm: read + parse, schema, references + lint, evaluator), and a cold
 * `vmbot policy lint <policy.json>` process.
 *
 * Target: openApp under 500 ms for the 10k-user / 100k-VM policy with the VMs in Hyper-V (the
 * issue's case: the estate is the policy's, the hypervisor holds the VMs). The two scenarios with
 * the simulator holding all 100k VMs in the bot's process are stricter and reported with their
 * own pass/fail; the process-to-ready totals are for information.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyEvaluator } from '../src/policy/evaluator';
import { checkReferences, lintPolicy } from '../src/policy/lint';
import { parsePolicyText } from '../src/policy/loader';
import { PolicySchema } from '../src/policy/schema';
import { generateEstate } from './policy';
import { envNumber, median, oneDecimal, writeResult } from './report';

const RUNS = envNumber('BENCH_RUNS', 5, { min: 1, integer: true });
const TARGET_MS = 500;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

interface ChildResult {
  bootMs: number;
  modulesMs: number;
  openAppMs: number;
  phases: Record<string, number>;
  readyMs: number;
  rssMiB: number;
  heapMiB: number;
}

/** One cold start-up in its own process. */
function coldStart(policy: string, inventory: string, dataDir: string): ChildResult {
  const out = execFileSync(process.execPath, [join(__dirname, 'startup-child.js'), policy, inventory, dataDir], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

/** Medians of every figure over the runs of one scenario. */
function summarise(runs: ChildResult[]) {
  const med = (f: (r: ChildResult) => number) => oneDecimal(median(runs.map(f)));
  const phases = Object.fromEntries(Object.keys(runs[0]!.phases).map((p) => [p, med((r) => r.phases[p] ?? 0)]));
  return {
    openAppMs: med((r) => r.openAppMs),
    phasesMs: phases,
    modulesMs: med((r) => r.modulesMs),
    processToReadyMs: med((r) => r.readyMs),
    rssMiB: Math.round(median(runs.map((r) => r.rssMiB))),
    heapMiB: Math.round(median(runs.map((r) => r.heapMiB))),
  };
}

export async function main(): Promise<Record<string, unknown>> {
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'vmbot-startup-'));
  const est = generateEstate();
  const policyFile = join(dir, 'policy.json');
  const policyText = JSON.stringify(est.input, null, 2);
  writeFileSync(policyFile, policyText);
  const inventoryFile = join(dir, 'inventory.json');
  writeFileSync(inventoryFile, JSON.stringify([...est.inventory].map(([name, host]) => ({ name, host, state: 'Off' }))));

  const policyPhases: Record<string, number[]> = { readParse: [], schema: [], lint: [], evaluator: [] };
  const first: ChildResult[] = [];
  const restart: ChildResult[] = [];
  const inHyperV: ChildResult[] = [];
  const lintProcess: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t = process.hrtime.bigint();
    const value = parsePolicyText(policyFile, readFileSync(policyFile, 'utf8'));
    policyPhases.readParse!.push(ms(t));
    t = process.hrtime.bigint();
    const policy = PolicySchema.parse(value);
    policyPhases.schema!.push(ms(t));
    t = process.hrtime.bigint();
    checkReferences(policy);
    lintPolicy(policy);
    policyPhases.lint!.push(ms(t));
    t = process.hrtime.bigint();
    new PolicyEvaluator(policy);
    policyPhases.evaluator!.push(ms(t));

    const data = join(dir, `data-${i}`);
    first.push(coldStart(policyFile, inventoryFile, data));
    restart.push(coldStart(policyFile, inventoryFile, data));
    rmSync(data, { recursive: true, force: true });
    const plain = join(dir, `plain-${i}`);
    coldStart(policyFile, '-', plain);
    inHyperV.push(coldStart(policyFile, '-', plain));
    rmSync(plain, { recursive: true, force: true });

    t = process.hrtime.bigint();
    execFileSync(process.execPath, [join(__dirname, '..', 'src', 'cli.js'), 'policy', 'lint', policyFile], { stdio: 'ignore' });
    lintProcess.push(ms(t));
  }
  rmSync(dir, { recursive: true, force: true });
  const f = summarise(first);
  const r = summarise(restart);
  const h = summarise(inHyperV);
  const result = {
    covers:
      'openApp in a cold process: policy read+parse+schema+lint, evaluator, audit log and assurance, state, simulator with 100k VMs (inventory validated; state file seeded or read), start-up recovery and passes, audit index: up to ready to serve a request',
    estate: { users: Object.keys(est.input.users ?? {}).length, vms: est.inventory.size, policyBytes: policyText.length },
    runs: RUNS,
    loadAverage: { before: loadBefore.map(oneDecimal), after: loadavg().map(oneDecimal) },
    firstStart: f,
    restart: r,
    estateInHyperV: h,
    policyInProcessWarmMs: Object.fromEntries(Object.entries(policyPhases).map(([k, v]) => [k, oneDecimal(median(v))])),
    policyLintProcessMs: oneDecimal(median(lintProcess)),
    target: {
      openAppUnderMs: TARGET_MS,
      firstStart: { openAppMs: f.openAppMs, pass: f.openAppMs < TARGET_MS },
      restart: { openAppMs: r.openAppMs, pass: r.openAppMs < TARGET_MS },
      estateInHyperV: { openAppMs: h.openAppMs, pass: h.openAppMs < TARGET_MS },
      processToReady: { firstMs: f.processToReadyMs, restartMs: r.processToReadyMs, underTarget: Math.max(f.processToReadyMs, r.processToReadyMs) < TARGET_MS },
      pass: h.openAppMs < TARGET_MS,
      simulatorHolding100kVmsPass: f.openAppMs < TARGET_MS && r.openAppMs < TARGET_MS,
    },
  };
  writeResult('startup', result);
  const line = (name: string, x: number) => `${name.padEnd(34)} ${String(x).padStart(8)} ms  ${x < TARGET_MS ? 'PASS' : 'FAIL'} (target ${TARGET_MS} ms)`;
  console.log(`\nstart-up at ${result.estate.users} users / ${result.estate.vms} VMs, median of ${RUNS} cold processes (load average ${result.loadAverage.before.join(' ')}):`);
  console.log(line('openApp, VMs in Hyper-V (target)', h.openAppMs));
  console.log(line('openApp, simulator 100k, first', f.openAppMs));
  console.log(line('openApp, simulator 100k, restart', r.openAppMs));
  console.log(`${'process to ready, first / restart'.padEnd(34)} ${f.processToReadyMs} / ${r.processToReadyMs} ms (modules ${r.modulesMs} ms)`);
  console.log(`${'RSS at ready, first / restart'.padEnd(34)} ${f.rssMiB} / ${r.rssMiB} MiB`);
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
