/**
 * The PowerShell backend end to end on the real PowerShell 7.6.9 engine: node-powershell pool ->
 * VmbotRunner.psm1 -> test/fixtures/powershell/Hyper-V (same cmdlets, parameters, output and
 * error ids as the real Hyper-V module) over a JSON state file. Every block runs twice, once per
 * PowerShell (test/support/pwsh.ts): a real pwsh (when one is installed: .ci/install-pwsh.sh or
 * VMBOT_TEST_PWSH), and the PowerShell engine host tools/pshost, which CI always builds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { VmbotError } from '../src/core/errors';
import { PowerShellBackend, RUNNER_MODULE } from '../src/hyperv/powershell/backend';
import { PwshPool } from '../src/hyperv/powershell/pool';
import { psQuote } from '../src/hyperv/powershell/quote';
import { openTestApp, REPO, tempDir, type TestApp } from './support/app';
import { readAuditRecords } from './support/audit';
import { injectionCorpus } from './support/injection';
import { describePowerShell } from './support/pwsh';

const MODULES = join(REPO, 'test', 'fixtures', 'powershell');
const WEB01 = '11111111-1111-4111-8111-111111111111';
const WEB02 = '22222222-2222-4222-8222-222222222222';
const DB01 = '33333333-3333-4333-8333-333333333333';
const HANG01 = '44444444-4444-4444-8444-444444444444';

const simVm = (Name: string, Id: string, State: string, extra: Record<string, unknown> = {}) => ({
  Name, Id, State, Generation: 2, ProcessorCount: 2, MemoryStartup: 2048 * 1024 * 1024, StartedAt: null, HangSeconds: 0, Console: [], ...extra,
});

interface Sim {
  dir: string;
  state: string;
  canary: string;
  env: NodeJS.ProcessEnv;
  read(): { hosts: Record<string, Array<Record<string, unknown>>> };
  /** Change the state file (written aside and renamed, so the module never reads half of it). */
  edit(change: (state: { hosts: Record<string, Array<Record<string, unknown>>> }) => void): void;
  calls(): string[];
}

function newSim(): Sim {
  const dir = tempDir('pwsh-');
  const state = join(dir, 'hyperv.json');
  const canary = join(dir, 'CANARY');
  writeFileSync(state, JSON.stringify({
    hosts: {
      hv01: [simVm('web01', WEB01, 'Off'), simVm('web02', WEB02, 'Running', { StartedAt: new Date().toISOString() }), simVm('hang01', HANG01, 'Off', { HangSeconds: 600 })],
      hv02: [simVm('db01', DB01, 'Running', { StartedAt: new Date().toISOString(), GuestShutdown: false })],
    },
    switches: { hv01: ['vSwitch-Guest', 'Tenant-Web'], hv02: ['Tenant-Web'] },
  }));
  return {
    dir, state, canary,
    env: { ...process.env, HYPERV_SIM_STATE: state, CANARY: canary },
    read: () => JSON.parse(readFileSync(state, 'utf8')),
    edit(change) {
      const data = JSON.parse(readFileSync(state, 'utf8'));
      change(data);
      writeFileSync(`${state}.edit`, JSON.stringify(data));
      renameSync(`${state}.edit`, state);
    },
    calls: () => (existsSync(`${state}.calls`) ? readFileSync(`${state}.calls`, 'utf8').trim().split('\n') : []),
  };
}

// 120 s per call (production: 60 s): a first call (module auto-load, JIT) on a busy 2-core machine
// has taken over 60 s. The timeout test sets its own, short one.
const open = (executable: string, sim: Sim, timeoutMs = 120_000, size = 2) =>
  PowerShellBackend.open({ hosts: ['hv01', 'hv02'], modulePath: MODULES, pool: { size, executable, timeoutMs, env: sim.env } });

const refOf = (id: string, name: string, host: string) => ({ id, name, host });
const rejection = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as VmbotError);

/** A fresh simulation and a backend on it, for the tests of one describe block. */
function simAndBackend(executable: string): { sim: Sim; backend: PowerShellBackend } {
  const t = {} as { sim: Sim; backend: PowerShellBackend };
  beforeAll(async () => {
    t.sim = newSim();
    t.backend = await open(executable, t.sim);
  });
  afterAll(() => t.backend?.close());
  return t;
}

jest.setTimeout(300_000);

describePowerShell('PowerShell backend against the Hyper-V simulation module', (ps) => {
  const t = simAndBackend(ps.executable);

  test('list and get return typed VMs from every host; get is exact, never a pattern', async () => {
    const all = await t.backend.list();
    expect(all.map((v) => `${v.host}/${v.name}/${v.state}`).sort()).toEqual(['hv01/hang01/Off', 'hv01/web01/Off', 'hv01/web02/Running', 'hv02/db01/Running']);
    expect(await t.backend.get('WEB01')).toMatchObject({ id: WEB01, name: 'web01', host: 'hv01', state: 'Off', generation: 2, cpuCount: 2, memoryMB: 2048 });
    expect(await t.backend.get('web0')).toBeNull();
    // `web*` would match two VMs through Get-VM -Name; the runner refuses it outright.
    expect((await rejection(t.backend.get('web*'))).code).toBe('failed');
  });

  test('start, graceful stop and turn off change the VM state; wrong states are clear errors', async () => {
    const web01 = refOf(WEB01, 'web01', 'hv01');
    expect((await t.backend.start(web01)).state).toBe('Running');
    const again = await rejection(t.backend.start(web01));
    expect(again.code).toBe('invalid_state');
    expect(again.message).toBe('Cannot start web01: it is already running.');
    expect((await t.backend.stop(web01, 'shutdown')).state).toBe('Off');
    expect((await rejection(t.backend.stop(web01, 'shutdown'))).message).toBe('Cannot shut down web01: it is already off.');
    // db01's guest does not answer shutdown: Stop-VM's "Failed to stop." maps by its error id.
    const db01 = refOf(DB01, 'db01', 'hv02');
    const failed = await rejection(t.backend.stop(db01, 'shutdown'));
    expect(failed.code).toBe('failed');
    expect(failed.detail).toMatch(/^OperationFailed,/);
    expect((await t.backend.stop(db01, 'turnoff')).state).toBe('Off');
    expect(t.sim.read().hosts.hv02![0]!.State).toBe('Off');
    expect(t.sim.calls()).toContain('Stop-VM db01 TurnOff=True');
  });

  test('a VM that is gone (or renamed) is not found, never acted on by name', async () => {
    const ghost = await rejection(t.backend.start(refOf('99999999-9999-4999-8999-999999999999', 'web01', 'hv01')));
    expect(ghost.code).toBe('not_found');
    const renamed = await rejection(t.backend.start(refOf(WEB01, 'web02', 'hv01')));
    expect(renamed.code).toBe('not_found');
    expect(t.sim.read().hosts.hv01!.find((v) => v.Id === WEB01)!.State).toBe('Off');
    const unreachable = await rejection(t.backend.call({ op: 'list', host: 'hv09' }, z.unknown(), { action: 'list VMs on', host: 'hv09' }));
    expect(unreachable.code).toBe('host_unreachable');
    expect(unreachable.message).toMatch(/hv09 cannot be reached/);
  });

  test('console access is granted, listed and revoked for exactly that account', async () => {
    const web02 = refOf(WEB02, 'web02', 'hv01');
    await t.backend.grantConsole(web02, 'CONTOSO\\alice');
    await t.backend.grantConsole(web02, 'CONTOSO\\bob');
    expect((await t.backend.consoleAccess(web02)).sort()).toEqual(['CONTOSO\\alice', 'CONTOSO\\bob']);
    await t.backend.revokeConsole(web02, 'CONTOSO\\alice');
    expect(await t.backend.consoleAccess(web02)).toEqual(['CONTOSO\\bob']);
    await t.backend.revokeConsole(web02, 'CONTOSO\\alice'); // absent: not an error
    await t.backend.revokeConsole(web02, 'CONTOSO\\bob');
    expect(await t.backend.consoleAccess(web02)).toEqual([]);
  });

  test('create builds the VM with exactly the template values and refuses an existing name', async () => {
    const spec = { name: 'web-new01', host: 'hv01', template: 'web-small', generation: 2 as const, cpuCount: 4, memoryMB: 4096, diskGB: 60, switch: 'vSwitch-Guest', vlan: 120 };
    const vm = await t.backend.create(spec);
    expect(vm).toMatchObject({ name: 'web-new01', host: 'hv01', state: 'Off', generation: 2, cpuCount: 4, memoryMB: 4096 });
    const stored = t.sim.read().hosts.hv01!.find((v) => v.Name === 'web-new01')!;
    expect(stored).toMatchObject({ SwitchName: 'vSwitch-Guest', NewVHDPath: 'web-new01.vhdx', NewVHDSizeBytes: 60 * 1024 ** 3, VlanId: 120, ProcessorCount: 4 });
    expect((await rejection(t.backend.create(spec))).code).toBe('already_exists');
  });
});

describePowerShell('the Hyper-V test double itself', (ps) => {
  // The tests above count the calls the double records; the pool runs two PowerShells at once, so
  // a line lost when both record a call together fails a test that did nothing wrong (seen in CI).
  test('two PowerShells recording calls at the same moment lose none of them', async () => {
    const sim = newSim();
    const record = (who: string) => new Promise<number | null>((done) => {
      // Each waits for the other to be ready, so the two write at the same time however long each took to start.
      const ready = (w: string) => `'${join(sim.dir, `ready-${w}`)}'`;
      const script = `Import-Module '${join(MODULES, 'Hyper-V')}'; New-Item -ItemType File ${ready(who)} | Out-Null; ` +
        `while (-not ((Test-Path ${ready('a')}) -and (Test-Path ${ready('b')}))) { Start-Sleep -Milliseconds 1 }; ` +
        `& (Get-Module Hyper-V) { foreach ($i in 1..1000) { Write-SimCall "${who} $i" } }`;
      spawn(ps.executable, ['-NoProfile', '-NonInteractive', '-Command', script], { env: sim.env, stdio: 'ignore' }).on('exit', done);
    });
    expect(await Promise.all([record('a'), record('b')])).toEqual([0, 0]);
    const calls = sim.calls();
    expect(calls).toHaveLength(2000);
    expect(new Set(calls).size).toBe(2000);
  }, 120_000);
});

describePowerShell('console grants of the whole estate (the reconcile pass): one call per host', (ps) => {
  const ODD = '55555555-5555-4555-8555-555555555555';
  let sim: Sim;
  beforeAll(() => {
    sim = newSim();
    sim.edit((s) => {
      const vm = (h: string, name: string) => s.hosts[h]!.find((v) => v.Name === name)!;
      vm('hv01', 'web01').Console = ['CONTOSO\\alice'];
      vm('hv01', 'web02').Console = ['CONTOSO\\alice', 'CONTOSO\\bob'];
      vm('hv02', 'db01').Console = ['CONTOSO\\bob'];
      // A name the bot cannot address (list() leaves it out): its grant is left out too.
      s.hosts.hv02!.push(simVm('odd vm', ODD, 'Off', { Console: ['CONTOSO\\alice'] }));
    });
  });
  const expected = [
    { vm: refOf(DB01, 'db01', 'hv02'), accounts: ['CONTOSO\\bob'] },
    { vm: refOf(WEB01, 'web01', 'hv01'), accounts: ['CONTOSO\\alice'] },
    { vm: refOf(WEB02, 'web02', 'hv01'), accounts: ['CONTOSO\\alice', 'CONTOSO\\bob'] },
  ];
  const byName = (grants: { vm: { name: string } }[]) => [...grants].sort((a, b) => a.vm.name.localeCompare(b.vm.name));
  const accessCalls = (from: number) => sim.calls().slice(from).filter((c) => c.startsWith('Get-VMConnectAccess')).sort();

  test('every grant on hv01 and hv02, by VM, from one Get-VMConnectAccess per host and no VM-by-VM call', async () => {
    const backend = await open(ps.executable, sim);
    try {
      const before = sim.calls().length;
      expect(byName(await backend.consoleAccessAll())).toEqual(expected);
      // Exactly one Hyper-V call per host, and not per VM: no Get-VM, no -VMId.
      expect(sim.calls().slice(before).sort()).toEqual(['Get-VMConnectAccess hv01', 'Get-VMConnectAccess hv02']);
    } finally {
      await backend.close();
    }
  });

  test('a host that does not answer is left out of the pass; the other hosts still answer', async () => {
    const backend = await PowerShellBackend.open({ hosts: ['hv01', 'hv09', 'hv02'], modulePath: MODULES, pool: { size: 2, executable: ps.executable, timeoutMs: 120_000, env: sim.env } });
    try {
      const before = sim.calls().length;
      expect(byName(await backend.consoleAccessAll())).toEqual(expected);
      expect(accessCalls(before)).toEqual(['Get-VMConnectAccess hv01', 'Get-VMConnectAccess hv02', 'Get-VMConnectAccess hv09']);
    } finally {
      await backend.close();
    }
  });

  test('the host is checked like every other value: an injection attempt as host is refused before Hyper-V is asked', async () => {
    const backend = await open(ps.executable, sim, 120_000, 1);
    try {
      const before = sim.calls().length;
      for (const host of injectionCorpus(sim.canary)) {
        await expect(backend.call({ op: 'consoleAccessAll', host }, z.unknown(), { action: 'read console access on' })).rejects.toBeInstanceOf(VmbotError);
      }
      expect(existsSync(sim.canary)).toBe(false);
      expect(accessCalls(before)).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});

describePowerShell('PowerShell pool: timeouts and dead sessions', (ps) => {
  test('a hung call times out, its session is killed and replaced, and the next call works', async () => {
    const sim = newSim();
    // 20 s: far below the 600 s hang, yet room for the replacement session's first call (module
    // auto-load) on a busy machine, which a 3 s timeout did not always leave.
    const backend = await open(ps.executable, sim, 20_000, 1);
    try {
      const err = await rejection(backend.start(refOf(HANG01, 'hang01', 'hv01')));
      expect(err.code).toBe('timeout');
      expect(backend.stats.replaced).toBe(1);
      expect(await backend.get('web01')).toMatchObject({ state: 'Off' });
    } finally {
      await backend.close();
    }
  });

  test('a timed-out call leaves no PowerShell running behind it (a launcher such as the .NET tool shim runs it as a child)', async () => {
    // A session killed on timeout whose PowerShell kept running would finish the cut-off cmdlet
    // later (a Start-VM nobody waits for) and hold its pipes open.
    const pool = await PwshPool.open({ size: 1, executable: ps.executable, timeoutMs: 8_000, setup: ['$null = Get-Date'] });
    try {
      const pid = Number((await pool.run('$PID')).trim());
      expect(pid).toBeGreaterThan(0);
      expect((await rejection(pool.run('Start-Sleep -Seconds 600'))).code).toBe('timeout');
      let alive = true;
      for (const end = Date.now() + 15_000; alive && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
    } finally {
      await pool.close();
    }
  });

  test('a session killed from outside is noticed, replaced, and the pool keeps serving', async () => {
    const pool = await PwshPool.open({ size: 1, executable: ps.executable, timeoutMs: 120_000, setup: [`Import-Module -Name ${psQuote(RUNNER_MODULE)}`] });
    try {
      const pid = Number((await pool.run('$PID')).trim());
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      const err = await rejection(pool.run('$PID'));
      expect(err.code).toBe('failed');
      expect(err.message).toMatch(/session ended unexpectedly/);
      let next = NaN;
      for (let i = 0; i < 60 && !(next > 0); i++) next = Number((await pool.run('$PID').catch(() => 'x')).trim());
      expect(next).toBeGreaterThan(0);
      expect(next).not.toBe(pid);
      expect(pool.stats.replaced).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.close();
    }
  });

  // A missing executable needs no PowerShell: test/powershell-unit.test.ts covers it.
});

describePowerShell('injection corpus: no value ever runs as PowerShell', (ps) => {
  const t = simAndBackend(ps.executable);

  test('every value arrives verbatim as data (echo) and runs nothing', async () => {
    for (const value of injectionCorpus(join(t.sim.dir, 'CANARY'))) {
      const echoed = await t.backend.call({ op: 'echo', value }, z.unknown(), { action: 'echo' }).catch((e: unknown) => e);
      expect(echoed).toBe(value);
    }
    expect(existsSync(t.sim.canary)).toBe(false);
  });

  test('as a VM name, account, host or switch, every value is refused or matches nothing, and runs nothing', async () => {
    const before = t.sim.calls().length;
    for (const value of injectionCorpus(t.sim.canary)) {
      expect(await t.backend.get(value).catch(() => null)).toBeNull();
      await expect(t.backend.start({ id: WEB01, name: value, host: 'hv01' })).rejects.toBeInstanceOf(Error);
      await expect(t.backend.call({ op: 'grantConsole', id: WEB01, name: 'web01', host: 'hv01', account: value }, z.unknown(), { action: 'grant' })).rejects.toBeInstanceOf(VmbotError);
      await expect(t.backend.call({ op: 'list', host: value }, z.unknown(), { action: 'list' })).rejects.toBeInstanceOf(VmbotError);
      await expect(t.backend.call({ op: 'create', name: 'web-x1', host: 'hv01', generation: 2, cpuCount: 1, memoryMB: 512, diskGB: 1, switch: value }, z.unknown(), { action: 'create' })).rejects.toBeInstanceOf(VmbotError);
    }
    expect(existsSync(t.sim.canary)).toBe(false);
    // Only lookups reached the Hyper-V module: no Start-VM, no grant, no New-VM.
    expect(t.sim.calls().slice(before).filter((c) => !c.startsWith('Get-VM '))).toEqual([]);
    expect(t.sim.read().hosts.hv01!.find((v) => v.Id === WEB01)!.Console).toEqual([]);
  });
});

describePowerShell('the bot end to end on the PowerShell backend', (ps) => {
  let sim: Sim;
  let app: TestApp;
  beforeAll(async () => {
    sim = newSim();
    process.env.HYPERV_SIM_STATE = sim.state; // the pool hands the bot's environment to PowerShell
    app = await openTestApp({
      VMBOT_BACKEND: 'powershell', VMBOT_PS_EXECUTABLE: ps.executable, VMBOT_PS_MODULE_PATH: MODULES, VMBOT_HYPERV_HOSTS: 'hv01,hv02', VMBOT_PS_POOL_SIZE: '2',
    });
  });
  afterAll(async () => {
    await app?.cleanup();
    delete process.env.HYPERV_SIM_STATE;
  });

  test('alice starts and stops web01 on hv01; db01 and a missing VM are refused alike', async () => {
    const started = await app.say('alice', 'start web01');
    expect(started.status).toBe('done');
    expect(started.text).toMatch(/web01 is running/);
    expect(sim.read().hosts.hv01!.find((v) => v.Name === 'web01')!.State).toBe('Running');
    const db = await app.say('alice', 'start db01');
    const none = await app.say('alice', 'start nosuchvm');
    expect(db.status).toBe('denied');
    expect(db.text).toBe(none.text.replace('nosuchvm', 'db01'));
    expect((await app.say('alice', 'stop web01')).status).toBe('done');
    expect(sim.read().hosts.hv01!.find((v) => v.Name === 'web01')!.State).toBe('Off');
  });

  test('console access for alice lands on the VM in Hyper-V and is revoked on request', async () => {
    expect((await app.say('alice', 'console web01')).status).toBe('done');
    expect(sim.read().hosts.hv01!.find((v) => v.Name === 'web01')!.Console).toEqual(['CONTOSO\\alice']);
    expect((await app.say('alice', 'console web01 --revoke')).status).toBe('done');
    expect(sim.read().hosts.hv01!.find((v) => v.Name === 'web01')!.Console).toEqual([]);
  });

  test('the reconcile pass revokes (and audits) a grant Hyper-V holds that vmbot has no record of; other accounts are left alone', async () => {
    sim.edit((s) => void (s.hosts.hv02!.find((v) => v.Name === 'db01')!.Console = ['contoso\\BOB', 'CONTOSO\\hv-operator'])); // behind vmbot's back
    const before = sim.calls().length;
    await app.tick();
    await app.tick(); // the first may be a timer's pass already under way
    expect(sim.read().hosts.hv02!.find((v) => v.Name === 'db01')!.Console).toEqual(['CONTOSO\\hv-operator']);
    expect(sim.calls().slice(before)).toContain('Revoke-VMConnectAccess db01 contoso\\BOB');
    const recs = readAuditRecords(app.config.VMBOT_DATA_DIR).filter((r) => r.operation === 'console.reconcile');
    expect(recs.map((r) => [r.kind, r.vm, r.host, r.user, r.outcome])).toEqual([
      ['intent', 'db01', 'hv02', 'bob', null],
      ['result', 'db01', 'hv02', 'bob', 'ok'],
    ]);
  });

  test('an approved request creates the VM through New-VM with the template values', async () => {
    const req = await app.say('alice', 'request web-ps01 --template web-small --reason "ps test"');
    const id = req.data?.requestId as string;
    expect(id).toMatch(/^r-/);
    expect((await app.say('carol', `approve ${id}`)).status).toBe('done');
    expect(sim.read().hosts.hv01!.some((v) => v.Name === 'web-ps01')).toBe(true);
    expect(sim.calls()).toContain('New-VM web-ps01');
  });
});

/**
 * What the pool relies on from a shell started as `-NoLogo -NoProfile -NonInteractive -NoExit
 * -Command -`: state kept between commands, output on stdout, errors on stderr (node-powershell
 * then marks the call failed and the pool replaces the session), exit at end of input or on
 * `exit N`. On both PowerShells, so the engine host is shown to behave as pwsh does.
 */
describePowerShell('a shell reading commands from standard input', (ps) => {
  const args = ['-NoLogo', '-NoProfile', '-NonInteractive', '-NoExit', '-Command', '-'];

  test('state persists between commands; errors go to stderr and fail only that call', async () => {
    const pool = await PwshPool.open({ size: 1, executable: ps.executable, timeoutMs: 120_000, setup: ['$script:n = 41'] });
    try {
      expect((await pool.run('$script:n + 1')).trim()).toBe('42');
      const err = await rejection(pool.run("Write-Error 'no such thing'"));
      expect(err.code).toBe('failed');
      expect(err.detail).toContain('no such thing');
      expect(pool.stats.replaced).toBe(1);
    } finally {
      await pool.close();
    }
  });

  test('300 calls in a row all answer, whatever TERM the bot runs with', async () => {
    // pwsh 7.6.9 on Linux, with TERM naming a terminal or unset (a service), stalled on about one
    // call in a hundred until the pool's timeout killed the session.
    for (const TERM of ['xterm', undefined]) {
      const env = { ...process.env, TERM };
      if (TERM === undefined) delete env.TERM;
      const pool = await PwshPool.open({ size: 1, executable: ps.executable, timeoutMs: 15_000, env, setup: [] });
      try {
        const answers: string[] = [];
        for (let i = 0; i < 300; i++) answers.push((await pool.run(`[ordered]@{ i = ${i} } | ConvertTo-Json -Compress`).catch((e: Error) => e.message)).trim());
        expect(answers.filter((a, i) => a !== `{"i":${i}}`)).toEqual([]);
        expect(pool.stats.replaced).toBe(0);
      } finally {
        await pool.close();
      }
    }
  });

  test('end of input ends the process with 0; `exit 3` with 3; the output is plain text', () => {
    const eof = spawnSync(ps.executable, args, { input: '$x = 2\n"x is $x"\n@{ vm = "web01" }\n', encoding: 'utf8', timeout: 60_000, env: { ...process.env, TERM: 'dumb' } });
    expect(eof.status).toBe(0);
    expect(eof.stdout.split('\n').map((l) => l.trimEnd()).filter(Boolean)).toEqual(['x is 2', 'Name                           Value', '----                           -----', 'vm                             web01']);
    expect(eof.stderr).toBe('');
    const exit = spawnSync(ps.executable, args, { input: '"before"\nexit 3\n"after"\n', encoding: 'utf8', timeout: 60_000, env: { ...process.env, TERM: 'dumb' } });
    expect(exit.status).toBe(3);
    expect(exit.stdout.trim()).toBe('before');
  });
});

/**
 * The JSON cmdlets the runner and the Hyper-V simulation use, pinned to the behaviour Microsoft
 * documents for PowerShell 7 (ConvertTo-Json: Newtonsoft-based, -Depth truncates to the type name,
 * non-ASCII left as is, quotes/backslashes/control characters escaped, DateTime as ISO 8601 with
 * its kind; ConvertFrom-Json: whole numbers as Int64, ISO 8601 strings as DateTime, -AsHashtable
 * ordered). Run on both PowerShells, through node-powershell, so they are shown to agree.
 */
describePowerShell('JSON cmdlets as the runner relies on them', (ps) => {
  let pool: PwshPool;
  beforeAll(async () => {
    pool = await PwshPool.open({ size: 1, executable: ps.executable, timeoutMs: 120_000, setup: [] });
  });
  afterAll(() => pool?.close());
  const run = async (line: string) => (await pool.run(line)).trim();

  test('ConvertTo-Json -Depth 6 -Compress: one line, arrays kept inside objects, only what JSON needs escaped', async () => {
    expect(await run(`[ordered]@{ ok = $true; result = [ordered]@{ a = @(1); s = "caf\`u{e9} \`"q\`" 'x' <b> \\ \`t" } } | ConvertTo-Json -Depth 6 -Compress`))
      .toBe(String.raw`{"ok":true,"result":{"a":[1],"s":"café \"q\" 'x' <b> \\ \t"}}`);
    expect(await run('[ordered]@{ ok = $true; result = @() } | ConvertTo-Json -Compress')).toBe('{"ok":true,"result":[]}');
    // A one-element array piped alone is unwrapped: why the backend reads lists with many().
    expect(await run('@(@{ a = 1 }) | ConvertTo-Json -Compress')).toBe('{"a":1}');
  });

  test('ConvertTo-Json: dates as ISO 8601, null as null, and -Depth truncating to the type name', async () => {
    expect(await run('[ordered]@{ d = [datetime]::new(2026, 12, 1, 23, 6, 0, [DateTimeKind]::Utc); n = $null; t = [timespan]::FromSeconds(90).TotalSeconds } | ConvertTo-Json -Compress'))
      .toBe('{"d":"2026-12-01T23:06:00Z","n":null,"t":90.0}');
    expect(await run('[ordered]@{ a = [ordered]@{ b = [ordered]@{ c = 1 } } } | ConvertTo-Json -Depth 1 -Compress -WarningAction SilentlyContinue'))
      .toBe('{"a":{"b":"System.Collections.Specialized.OrderedDictionary"}}');
  });

  test('ConvertFrom-Json: Int64 numbers (what Get-Number accepts), \\u escapes decoded, dates parsed, bad JSON a terminating error', async () => {
    const line = `$o = ConvertFrom-Json -InputObject '{"n":4096,"big":5000000000,"f":1.5,"d":"2026-12-01T23:06:00Z","arr":[1],"u":"\\u00e9\\u2028"}'; ` +
      '"$($o.GetType().Name) $($o.n.GetType().Name) $($o.big.GetType().Name) $($o.f.GetType().Name) $($o.d.GetType().Name) $($o.arr.GetType().Name) $([int][char]$o.u[0]) $([int][char]$o.u[1])"';
    expect(await run(line)).toBe('PSCustomObject Int64 Int64 Double DateTime Object[] 233 8232');
    expect(await run(`$h = ConvertFrom-Json -InputObject '{"hosts":{"hv01":[{"Name":"web01"}]}}' -AsHashtable; "$($h.GetType().Name) $($h.hosts.hv01.GetType().Name)"`)).toBe('OrderedHashtable Object[]');
    expect(await run(`try { ConvertFrom-Json -InputObject '{"a":' -ErrorAction Stop } catch { $_.FullyQualifiedErrorId }`))
      .toBe('System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand');
  });
});
