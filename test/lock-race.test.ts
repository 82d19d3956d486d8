import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { verifyAudit } from '../src/audit/verify';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { readAuditRecords } from './support/audit';

// Issue 7 item 1, the must-show: 40+ processes released at one barrier against one data
// directory, 20 rounds. Each round exactly one of them serves; every other one exits with the
// documented code 5 and prints one line saying the directory is in use; the winner then acts
// (start, stop) and either quits or is killed with SIGKILL (a crash leaves no stale lock behind
// to race over). After all rounds the audit chain verifies and holds exactly one start and one
// stop per round. Each contender is test/support/barrier-child.js: it loads every module of the
// built CLI first, so the barrier (SIGUSR1 to all) releases processes that are all ready to run.

const CONTENDERS = Number(process.env.LOCK_RACE_CONTENDERS ?? 41);
const ROUNDS = Number(process.env.LOCK_RACE_ROUNDS ?? 20);
const BARRIER_CHILD = join(__dirname, 'support', 'barrier-child.js');
const EXIT_LOCKED = 5;

interface Contender {
  child: ChildProcess;
  out: string;
  err: string;
  code: number | null | undefined;
  ready: Promise<void>;
  /** Resolves when the process exits or starts serving (its first output on stdout). */
  settled: Promise<void>;
  exited: Promise<void>;
}

function contend(env: NodeJS.ProcessEnv): Contender {
  const child = spawn(process.execPath, [BARRIER_CHILD, 'serve'], { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const c = { child, out: '', err: '', code: undefined } as Contender;
  child.stdout!.on('data', (d: Buffer) => (c.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (c.err += d.toString()));
  c.exited = new Promise((resolve) => child.on('exit', (code) => ((c.code = code), resolve())));
  c.ready = new Promise((resolve, reject) => {
    (child.stdio[3] as Readable).on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', () => reject(new Error(`contender exited before the barrier: ${c.err}`)));
  });
  c.settled = Promise.race([c.exited, new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()))]);
  return c;
}

const until = async (what: string, cond: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('one writer per data directory, under a barrier start', () => {
  const all: Contender[] = [];
  afterAll(() => {
    for (const c of all) if (c.code === undefined) c.child.kill('SIGKILL');
  });

  test(`${CONTENDERS} processes × ${ROUNDS} rounds: exactly one serves each round, the others exit ${EXIT_LOCKED} with one message, the chain verifies`, async () => {
    const dir = tempDir('vmbot-race-');
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VMBOT_')));
    const env = { ...base, VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_SIM_LATENCY_MS: '0', VMBOT_LOCAL_USER: 'alice' };
    const winners: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const cs = Array.from({ length: CONTENDERS }, () => contend(env));
      all.push(...cs);
      await Promise.all(cs.map((c) => c.ready));
      for (const c of cs) c.child.kill('SIGUSR1'); // the barrier
      await Promise.all(cs.map((c) => c.settled));

      const serving = cs.filter((c) => c.code === undefined && c.out.length > 0);
      const losers = cs.filter((c) => !serving.includes(c));
      winners.push(serving.length);
      expect({ round, serving: serving.length }).toEqual({ round, serving: 1 });
      for (const l of losers) {
        await l.exited;
        expect({ round, code: l.code }).toEqual({ round, code: EXIT_LOCKED });
        const lines = l.err.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^The data directory ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another vmbot( \\(pid \\d+ on .+\\))?: one data directory has one writer\\.`));
        expect(l.out).toBe('');
      }

      // The winner works: a start and a stop, both audited, then whoami to know it got that far.
      const w = serving[0]!;
      w.child.stdin!.write('start web01\nstop web01\nwhoami\n');
      await until('the winner\'s replies', () => w.out.includes('CONTOSO\\alice'));
      if (round % 2) {
        w.child.stdin!.end('/quit\n');
        await w.exited;
        expect(w.code).toBe(0);
      } else {
        w.child.kill('SIGKILL'); // a crash: the lock must not outlive the process
        await w.exited;
      }
    }
    expect(winners).toEqual(Array(ROUNDS).fill(1));

    const v = await verifyAudit(join(dir, 'audit'));
    expect(v.broken).toBeUndefined();
    expect(v.ok).toBe(true);
    const recs = readAuditRecords(dir);
    expect(new Set(recs.map((r) => r.id)).size).toBe(recs.length); // no forked ids
    const results = (op: string) => recs.filter((r) => r.kind === 'result' && r.operation === op && r.outcome === 'ok').length;
    expect(results('Start Virtual Machine')).toBe(ROUNDS);
    expect(results('Stop Virtual Machine')).toBe(ROUNDS);
  }, 900_000);
});
