import type { ChildProcess } from 'node:child_process';
import { PowerShell } from 'node-powershell';
import treeKill from 'tree-kill';
import { VmbotError } from '../../core/errors';

export interface PoolOptions {
  /** Warm sessions kept (node-powershell runs one command at a time per session). */
  size: number;
  /** pwsh (or a full path). */
  executable: string;
  /** Per call; a session that overruns is killed and replaced. */
  timeoutMs: number;
  /** Lines run once in every new session before it serves calls (imports, preferences). */
  setup: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface PoolStats {
  started: number;
  replaced: number;
  busy: number;
  idle: number;
}

interface Session {
  shell: PowerShell;
  dead: boolean;
  /** Why the process ended, when it did on its own (crash, missing executable). */
  exitError?: unknown;
}

/**
 * Terminal control sequences (ECMA-48: CSI, OSC, two-byte escapes such as keypad modes). pwsh on
 * Linux/macOS writes `ESC[?1h ESC[?1l` (the terminfo keypad on/off strings) around every command
 * it reads from standard input unless TERM names a terminal without them; the sessions get
 * TERM=dumb, and these are removed anyway, in case a pwsh build writes them regardless. Left in,
 * they sit before the runner's JSON line and the reply is "not understood". JSON text never
 * holds a raw ESC (ConvertTo-Json escapes it as \u001b), so removing them cannot change a value.
 */
const TERMINAL_CONTROLS = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_=>])/g;

export const stripTerminalControls = (text: string): string => text.replace(TERMINAL_CONTROLS, '');

/**
 * A small pool of long-lived pwsh processes. Starting pwsh costs hundreds of milliseconds; a
 * warm session answers in a few. A session that times out, crashes or writes to stderr is
 * killed and replaced, so one bad call never poisons the next.
 */
export class PwshPool {
  private readonly idle: Session[] = [];
  private readonly waiting: Array<(s: Session) => void> = [];
  private readonly live = new Set<Session>();
  private closed = false;
  private started = 0;
  private replaced = 0;

  private constructor(private readonly opts: PoolOptions) {}

  /** Start every session and run its setup; fails with a clear message if pwsh is unusable. */
  static async open(opts: PoolOptions): Promise<PwshPool> {
    const pool = new PwshPool(opts);
    try {
      const sessions = await Promise.all(Array.from({ length: opts.size }, () => pool.spawn()));
      for (const s of sessions) pool.release(s);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get stats(): PoolStats {
    return { started: this.started, replaced: this.replaced, busy: this.live.size - this.idle.length, idle: this.idle.length };
  }

  /** Run one line in a warm session; resolves with its stdout. */
  async run(line: string): Promise<string> {
    const session = await this.acquire();
    let healthy = false;
    try {
      const out = await this.invoke(session, line, this.opts.timeoutMs);
      healthy = true;
      return out;
    } finally {
      if (healthy) this.release(session);
      else this.replace(session);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.live];
    this.live.clear();
    this.idle.length = 0;
    await Promise.all(all.map((s) => this.kill(s)));
  }

  private async spawn(): Promise<Session> {
    const shell = new PowerShell({
      executable: this.opts.executable,
      executableOptions: { '-NoProfile': true, '-NonInteractive': true },
      // TERM=dumb: with TERM naming a terminal, or unset (a service), pwsh 7.6.9 on Linux stalled
      // on about one call in a hundred read from standard input, until the timeout killed the
      // session (test/powershell.test.ts, "300 calls in a row"). Windows ignores TERM.
      spawnOptions: { env: { ...(this.opts.env ?? process.env), TERM: 'dumb' } },
      throwOnInvocationError: false,
    });
    const session: Session = { shell, dead: false };
    this.started++;
    this.live.add(session);
    // node-powershell keeps its exit promise private and lets it reject unobserved when the
    // process dies between calls; observe it so a dead session is known (and Node does not crash).
    (shell as unknown as { exitPromise: Promise<void> }).exitPromise.then(
      () => (session.dead = true),
      (e: unknown) => {
        session.dead = true;
        session.exitError = e;
      },
    );
    try {
      for (const line of this.opts.setup) await this.invoke(session, line, Math.max(this.opts.timeoutMs, 30_000));
    } catch (e) {
      this.live.delete(session);
      await this.kill(session);
      throw e;
    }
    return session;
  }

  private async invoke(session: Session, line: string, timeoutMs: number): Promise<string> {
    if (session.dead) throw this.deathError(session);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VmbotError('timeout', `PowerShell did not answer within ${Math.round(timeoutMs / 1000)} s.`)), timeoutMs);
    });
    const call = session.shell.invoke(line);
    call.catch(() => undefined); // settled by the race below or abandoned after a timeout
    try {
      const result = await Promise.race([call, timeout]);
      if (result.hadErrors) {
        const stderr = stripTerminalControls(result.stderr?.toString('utf8') ?? '').trim();
        throw new VmbotError('failed', 'PowerShell reported an error.', stderr.slice(0, 2000));
      }
      return stripTerminalControls(result.raw);
    } catch (e) {
      if (e instanceof VmbotError) throw e;
      throw session.dead || (e as { name?: string }).name === 'ProcessError' ? this.deathError(session, e) : new VmbotError('failed', 'PowerShell call failed.', String(e));
    } finally {
      clearTimeout(timer);
    }
  }

  private deathError(session: Session, e: unknown = session.exitError): VmbotError {
    const text = String((e as { message?: string } | undefined)?.message ?? e ?? '');
    if (/ENOENT/.test(text) || /ENOENT/.test(String((e as { originalError?: unknown })?.originalError ?? '')))
      return new VmbotError('config', `PowerShell was not found ("${this.opts.executable}"). Install PowerShell 7 or set VMBOT_PS_EXECUTABLE.`, text);
    return new VmbotError('failed', 'The PowerShell session ended unexpectedly; it has been replaced. Check with "status" before trying again.', text);
  }

  private acquire(): Promise<Session> {
    if (this.closed) return Promise.reject(new VmbotError('failed', 'The PowerShell backend is shut down.'));
    const s = this.idle.pop();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(s: Session): void {
    if (this.closed || s.dead) return this.replace(s);
    const next = this.waiting.shift();
    if (next) next(s);
    else this.idle.push(s);
  }

  /** Kill a session that misbehaved and start a fresh one in its place (in the background). */
  private replace(s: Session): void {
    this.live.delete(s);
    void this.kill(s);
    if (this.closed) return;
    this.replaced++;
    const retry = (delayMs: number) =>
      this.spawn().then(
        (fresh) => this.release(fresh),
        () => {
          if (!this.closed) setTimeout(() => retry(Math.min(delayMs * 2, 30_000)), delayMs).unref();
        },
      );
    void retry(1000);
  }

  private async kill(s: Session): Promise<void> {
    if (s.dead) return;
    s.dead = true;
    // The whole process tree: a launcher (the .NET tool shim, a wrapper script) runs PowerShell as
    // its child, which would otherwise go on running the cut-off cmdlet (a Start-VM nobody waits
    // for) and hold our pipes open. tree-kill: taskkill /T on Windows, ps/pgrep elsewhere.
    const pid = (s.shell as unknown as { process?: ChildProcess }).process?.pid;
    if (pid) await new Promise<void>((done) => treeKill(pid, 'SIGKILL', () => done()));
    await s.shell.dispose('SIGKILL').catch(() => undefined);
  }
}
