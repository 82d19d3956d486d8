import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { verifyAudit } from '../src/audit/verify';
import { EXAMPLE_POLICY, tempDir } from './support/app';
import { readAuditRecords } from './support/audit';
import { envWithoutVmbot } from './support/cli';

// Issue 7 item 1, the must-show: 41 processes released at one barrier against one data
// directory, 20 rounds. Each round exactly one of them holds the directory and serves; every
// other one is refused with one message and the documented exit code 5; the winner acts
// (start, stop) and then either closes or is killed with SIGKILL (a crash must leave no stale
// lock to race over). A last round runs the real `vmbot serve` in all 41 with real exit codes.
// Afterwards the audit chain verifies and holds exactly one start and one stop per round.
//
// Each contender (test/support/barrier-child.js) loads every module of the built CLI once and
// stays up across the rounds, so a round costs the lock race, not 41 Node start-ups: this keeps
// the test near a minute on a 2-core machine.

const CONTENDERS = 41;
const ROUNDS = 20;
const BARRIER_CHILD = join(__dirname, 'support', 'barrier-child.js');
const EXIT_LOCKED = 5;

type Msg = { t: 'ready' } | { t: 'serving' } | { t: 'refused'; code: number; message: string } | { t: 'worked'; statuses: string[] } | { t: 'closed' };

interface Contender {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<number | null>;
  next(t: Msg['t']): Promise<Msg>;
}

function contend(env: NodeJS.ProcessEnv): Contender {
  const child = fork(BARRIER_CHILD, [], { env, stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  const inbox: Msg[] = [];
  const waiting: Array<() => void> = [];
  child.on('message', (m: Msg) => {
    inbox.push(m);
    for (const w of waiting.splice(0)) w();
  });
  const c: Contender = {
    child, out: '', err: '',
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    async next(t) {
      for (;;) {
        const i = inbox.findIndex((m) => m.t === t || (t === 'serving' && m.t === 'refused'));
        if (i >= 0) return inbox.splice(i, 1)[0]!;
        await Promise.race([new Promise<void>((r) => waiting.push(r)), c.exit.then(() => { throw new Error(`contender exited: ${c.err}`); })]);
      }
    },
  };
  child.stdout!.on('data', (d: Buffer) => (c.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (c.err += d.toString()));
  return c;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('one writer per data directory, under a barrier start', () => {
  let cs: Contender[] = [];
  afterAll(() => {
    for (const c of cs) c.child.kill('SIGKILL');
  });

  test(`${CONTENDERS} processes × ${ROUNDS} rounds (+1 through the real CLI): exactly one serves each round, the others are refused with exit code ${EXIT_LOCKED} and one message, the chain verifies`, async () => {
    const dir = tempDir('vmbot-race-');
    const base = envWithoutVmbot();
    const env = { ...base, VMBOT_DATA_DIR: dir, VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_SIM_LATENCY_MS: '0', VMBOT_HTTP_PORT: '0' };
    const refusal = new RegExp(`^The data directory ${escape(dir)} is in use by another vmbot( \\(pid \\d+ on .+, since .+ UTC\\))?: one data directory has one writer\\. Stop that one first, or set VMBOT_DATA_DIR to another directory\\.$`);
    cs = Array.from({ length: CONTENDERS }, () => contend(env));
    await Promise.all(cs.map((c) => c.next('ready')));

    const serving: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of cs) c.child.kill('SIGUSR1'); // the barrier: every contender is loaded and waiting
      const answers = await Promise.all(cs.map((c) => c.next('serving')));
      const winners = cs.filter((_, i) => answers[i]!.t === 'serving');
      serving.push(winners.length);
      expect({ round, serving: winners.length }).toEqual({ round, serving: 1 });
      for (const a of answers.filter((x) => x.t === 'refused')) expect(a).toEqual({ t: 'refused', code: EXIT_LOCKED, message: expect.stringMatching(refusal) });

      const w = winners[0]!;
      w.child.send({ t: 'work', lines: ['start web01', 'stop web01'] });
      expect(await w.next('worked')).toEqual({ t: 'worked', statuses: ['done', 'done'] });
      if (round % 2) {
        w.child.send({ t: 'close' });
        await w.next('closed');
      } else {
        w.child.kill('SIGKILL'); // a crash: the lock must go with the process
        await w.exit;
        const fresh = contend(env);
        await fresh.next('ready');
        cs[cs.indexOf(w)] = fresh;
      }
    }
    expect(serving).toEqual(Array(ROUNDS).fill(1));

    // The last round through the real command line: real processes, real exit codes.
    for (const c of cs) c.child.kill('SIGUSR2');
    const settled = await Promise.all(cs.map((c) => Promise.race([c.exit.then((code) => ({ c, code })), new Promise<{ c: Contender; code: undefined }>((r) => c.child.stdout!.once('data', () => r({ c, code: undefined })))])));
    const live = settled.filter((s) => s.code === undefined);
    expect(live).toHaveLength(1);
    for (const { c, code } of settled.filter((s) => s.code !== undefined)) {
      expect(code).toBe(EXIT_LOCKED);
      expect(c.err.trim().split('\n')).toEqual([expect.stringMatching(refusal)]);
      expect(c.out).toBe('');
    }
    const w = live[0]!.c;
    w.child.stdin!.end('/quit\n');
    expect(await w.exit).toBe(0);

    const v = await verifyAudit(join(dir, 'audit'));
    expect(v.broken).toBeUndefined();
    expect(v.ok).toBe(true);
    const recs = readAuditRecords(dir);
    expect(new Set(recs.map((r) => r.id)).size).toBe(recs.length); // no forked ids
    const results = (op: string) => recs.filter((r) => r.kind === 'result' && r.operation === op && r.outcome === 'ok').length;
    expect(results('Start Virtual Machine')).toBe(ROUNDS);
    expect(results('Stop Virtual Machine')).toBe(ROUNDS);
  }, 600_000);
});
