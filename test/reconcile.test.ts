import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAudit } from '../src/audit/verify';
import { dropDataLockAsIfCrashed } from '../src/state/lock';
import { EXAMPLE_POLICY, openTestApp, tempDir, type TestApp } from './support/app';
import { readAuditRecords } from './support/audit';
import { CLI, envWithoutVmbot } from './support/cli';

const immediate = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const simState = (dataDir: string, vm: string): string | undefined => {
  const file = join(dataDir, 'simulator.json');
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { vms: { name: string; state: string }[] }).vms.find((v) => v.name === vm)?.state;
  } catch {
    return undefined;
  }
};

/** After the restart: exactly one reconciled result, outcome unknown, linked to the intent. */
async function expectReconciled(app: TestApp, intentId: number) {
  expect(app.recovered).toHaveLength(1);
  const r = app.recovered[0]!;
  expect(r).toMatchObject({
    kind: 'result', intentId, outcome: 'unknown', user: 'alice', vm: 'web01', operation: 'Start Virtual Machine', decision: 'allow',
  });
  expect(r.details).toMatchObject({ reconciled: true, observedState: 'Running' });
  const recs = readAuditRecords(app.config.VMBOT_DATA_DIR);
  const intent = recs.find((x) => x.id === intentId)!;
  expect(intent.kind).toBe('intent');
  expect(r.correlationId).toBe(intent.correlationId);
  expect(recs.filter((x) => x.intentId === intentId)).toHaveLength(1);
  expect(app.audit.openIntents()).toEqual([]);
  expect((await verifyAudit(join(app.config.VMBOT_DATA_DIR, 'audit'))).ok).toBe(true);
  // the operator can see it, and the VM really is running
  expect((await app.backend.get('web01'))!.state).toBe('Running');
}

describe('reconciliation after a crash between intent and result', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    jest.useRealTimers();
    while (cleanups.length) await cleanups.pop()!();
  });

  test('in-process: an abandoned app leaves an open intent that the next start-up records as unknown', async () => {
    // Only setTimeout/setInterval are faked: the 600 s simulated boot never ends, and nothing
    // of the abandoned app keeps the test process alive afterwards.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'Date', 'hrtime', 'performance'] });
    const crashed = await openTestApp({ VMBOT_SIM_LATENCY_MS: '600000' });
    const dataDir = crashed.config.VMBOT_DATA_DIR;
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // The crash point: the simulated boot under way, its 600 s timer armed (with the action's
    // timeout, two fake timers more), so no real timer of the abandoned app outlives the test.
    const armed = jest.getTimerCount() + 2;
    void crashed.say('alice', 'start web01');
    const crashPoint = () => crashed.audit.openIntents().length && simState(dataDir, 'web01') === 'Starting' && jest.getTimerCount() >= armed;
    for (const end = Date.now() + 20_000; !crashPoint() && Date.now() < end; ) await immediate();
    const [intent] = crashed.audit.openIntents();
    expect(intent).toMatchObject({ kind: 'intent', vm: 'web01', user: 'alice' });
    expect(simState(dataDir, 'web01')).toBe('Starting');
    jest.clearAllTimers();
    jest.useRealTimers();
    // no close(): the process "died" here. The OS would close its files and drop its lock:
    // close the audit log's handle (or it is closed, with a warning, on GC) and drop the lock.
    await crashed.audit.close();
    dropDataLockAsIfCrashed(dataDir);

    const restarted = await openTestApp({ VMBOT_DATA_DIR: dataDir });
    cleanups.push(() => restarted.close());
    await expectReconciled(restarted, intent!.id);
  });

  test('a restart with nothing open reconciles nothing', async () => {
    const first = await openTestApp();
    await first.say('alice', 'start web01');
    await first.close();
    const again = await openTestApp({ VMBOT_DATA_DIR: first.config.VMBOT_DATA_DIR });
    cleanups.push(() => again.cleanup());
    expect(again.recovered).toEqual([]);
  });

  test('real crash: SIGKILL of `vmbot exec` mid-start is reconciled on the next start-up', async () => {
    const dataDir = tempDir();
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = envWithoutVmbot();
    const child = spawn(process.execPath, [CLI, 'exec', '--as', 'local:alice', '--', 'start web01'], {
      env: { ...env, VMBOT_DATA_DIR: dataDir, VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_SIM_LATENCY_MS: '600000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    cleanups.push(() => void child.kill('SIGKILL'));

    const hasIntent = () => {
      try {
        return readAuditRecords(dataDir).some((r) => r.kind === 'intent');
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 200 && !(hasIntent() && simState(dataDir, 'web01') === 'Starting'); i++) await sleep(50);
    expect(hasIntent()).toBe(true);
    expect(stderr).toContain('web01 is starting…');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const intent = readAuditRecords(dataDir).find((r) => r.kind === 'intent')!;
    expect(readAuditRecords(dataDir).some((r) => r.intentId === intent.id)).toBe(false);
    const app = await openTestApp({ VMBOT_DATA_DIR: dataDir });
    cleanups.push(() => app.close());
    await expectReconciled(app, intent.id);
  });
});
