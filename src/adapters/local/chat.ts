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

/**
 * A terminal chat: each line is a message from `local:<user>`; `/as bob` switches user.
 * Lines are handled one at a time so replies appear in order.
 */
export async function runLocalChat(pipeline: Pipeline, opts: LocalChatOptions): Promise<void> {
  const output = opts.output ?? process.stdout;
  const interactive = (opts.input ?? process.stdin) === process.stdin && process.stdin.isTTY;
  const rl = createInterface({ input: opts.input ?? process.stdin, output: interactive ? output : undefined, terminal: interactive });
  let user = opts.user;
  const say = (s: string) => output.write(s.endsWith('\n') ? s : `${s}\n`);
  const prompt = () => {
    if (interactive) {
      rl.setPrompt(`${user}> `);
      rl.prompt();
    }
  };
  const unsubscribe = opts.notices?.subscribe((n: Notice) => void say(`[to ${n.to.join(', ')}] ${renderText(n.reply)}`));
  say(`vmbot local chat — you are local:${user}. Type "help", "/as <user>" to switch user, "/quit" to leave.`);
  prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/quit' || text === '/exit') break;
    const as = /^\/as\s+(\S+)$/.exec(text);
    if (as) {
      if (/^[A-Za-z0-9._@-]{1,64}$/.test(as[1]!)) {
        user = as[1]!;
        say(`You are now local:${user}.`);
      } else say('Usage: /as <user>, e.g. /as bob');
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
  rl.close();
  unsubscribe?.();
}
