import { createInterface } from 'node:readline';
import type { Pipeline } from '../../core/pipeline';
import type { Notices } from '../../workflows/notices';
import type { Notice, Reply } from '../../core/types';
import { renderText } from './render';

export interface LocalChatOptions {
  user: string;
  /** Messages for other users are shown inline, addressed to them. */
  notices?: Notices;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

export const AS_USAGE = 'Usage: /as <user>, e.g. /as bob (a policy user name: letters, digits, . _ @ -)';

/** `/as bob` → "bob"; any other form of /as → null (the caller shows AS_USAGE). User names are lower-cased, as the policy matches them. */
export function parseAs(text: string): string | null {
  const m = /^\/as(?:\s+(.*))?$/is.exec(text);
  const name = m?.[1]?.trim();
  return name && /^[A-Za-z0-9._@-]{1,64}$/.test(name) ? name.toLowerCase() : null;
}

/**
 * A terminal chat: each line is a message from `local:<user>`; `/as bob` switches user.
 * Lines are handled one at a time so replies appear in order.
 */
export async function runLocalChat(pipeline: Pipeline, opts: LocalChatOptions): Promise<void> {
  const output = opts.output ?? process.stdout;
  const interactive = (opts.input ?? process.stdin) === process.stdin && process.stdin.isTTY;
  const rl = createInterface({ input: opts.input ?? process.stdin, output: interactive ? output : undefined, terminal: interactive });
  let user = opts.user.toLowerCase();
  /** True while the prompt is shown and the user may be typing (not while a request runs). */
  let waiting = false;
  const say = (s: string) => output.write(s.endsWith('\n') ? s : `${s}\n`);
  const prompt = () => {
    if (interactive) {
      rl.setPrompt(`${user}> `);
      rl.prompt();
      waiting = true;
    }
  };
  // A notice arriving while the user types: clear the prompt line, print the notice, then redraw
  // the prompt with what was typed so far (readline keeps it in rl.line).
  const unsubscribe = opts.notices?.subscribe((n: Notice) => {
    const text = `[to ${n.to.join(', ')}] ${renderText(n.reply)}`;
    if (!waiting) return void say(text);
    output.write('\r\x1b[K');
    say(text);
    rl.prompt(true);
  });
  say(`vmbot local chat — you are local:${user}. Type "help", "/as <user>" to switch user, "/quit" to leave.`);
  prompt();
  for await (const line of rl) {
    waiting = false;
    const text = line.trim();
    if (text === '/quit' || text === '/exit') break;
    if (/^\/as/i.test(text)) {
      const next = parseAs(text);
      if (!next) say(AS_USAGE);
      else {
        const channel = { kind: 'local' as const, id: 'terminal' };
        try {
          const { known } = await pipeline.switchPrincipal(`local:${user}`, `local:${next}`, channel);
          user = next;
          say(known ? `You are now local:${user}.` : `You are now local:${user}, who is not in the policy: no rights.`);
        } catch (e) {
          // Not audited, so not switched: every identity change must be on the record.
          say(`Could not switch user (the audit log did not take the record): ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    } else if (text) {
      // handle() answers every failure itself; this guard only keeps the terminal alive if a bug slips past it.
      try {
        const reply = await pipeline.handle(
          { principal: `local:${user}`, text, channel: { kind: 'local', id: 'terminal' } },
          { progress: (r: Reply) => void say(renderText(r)) },
        );
        say(renderText(reply));
      } catch (e) {
        say(`That failed inside vmbot: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    prompt();
  }
  waiting = false;
  rl.close();
  unsubscribe?.();
}
