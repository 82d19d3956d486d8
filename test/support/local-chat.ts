import { PassThrough } from 'node:stream';
import { runLocalChat } from '../../src/adapters/local/chat';
import type { TestApp } from './app';

/** Run a local chat session over in-memory streams; input stays open so only /quit can end it. */
export async function chatLines(app: TestApp, lines: string[], user = 'alice'): Promise<string[]> {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.on('data', (b: Buffer) => (out += b.toString()));
  const done = runLocalChat(app.pipeline, { user, input, output, notices: app.services.notices });
  input.write(lines.map((l) => `${l}\n`).join(''));
  await done;
  return out.split('\n').filter(Boolean);
}
