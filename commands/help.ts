import { z } from 'zod';
import { defineCommand } from '../src/core/command';
import { helpReply } from '../src/core/help';

export default defineCommand({
  name: 'help',
  summary: 'List the commands you can use, or explain one',
  usage: 'help [command]',
  positional: ['topic'],
  schema: z.strictObject({ topic: z.string().max(40).optional() }),
  shownWith: [],
  operation: () => 'help',
  authz: () => ({ kind: 'none' }),
  visibility: 'private',
  effect: false,
  run: async (ctx, { topic }) => helpReply(ctx.commands, ctx.policy, ctx.identity, topic),
});
