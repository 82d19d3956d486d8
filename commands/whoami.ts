import { defineCommand } from '../src/core/command';
import { NoArgs } from './args';
import { named } from '../src/policy/schema';

export default defineCommand({
  name: 'whoami',
  summary: 'Show who vmbot thinks you are and what you may do',
  usage: 'whoami',
  positional: [],
  schema: NoArgs,
  shownWith: [],
  operation: () => 'whoami',
  authz: () => ({ kind: 'none' }),
  visibility: 'private',
  effect: false,
  async run(ctx) {
    const { id, user } = ctx.identity ?? {};
    if (!id || !user)
      return { status: 'done', text: `You are ${ctx.request.principal}, which is not known to vmbot: you hold no rights.`, data: { principal: ctx.request.principal, user: null } };
    const p = ctx.policy.policy;
    const roles = p.assignments
      .filter((a) => a.users.includes(id) || a.groups.some((g) => user.groups.includes(g)))
      .map((a) => `${a.role} in ${a.scope} (${named(p.scopes, a.scope)?.vms.join(', ')})`);
    const grants = ctx.services.consoles.describe(id);
    const fields = [
      { label: 'User', value: user.displayName ? `${id} (${user.displayName})` : id },
      { label: 'Signed in as', value: ctx.request.principal },
      { label: 'Windows account', value: user.windowsAccount ?? 'none (console access unavailable)' },
      { label: 'Roles', value: roles.length ? roles.join('; ') : 'none' },
      { label: 'Console access', value: grants.length ? grants.join('; ') : 'none active' },
    ];
    return {
      status: 'done',
      title: 'whoami',
      text: fields.map((f) => `${f.label}: ${f.value}`).join('\n'),
      fields,
      data: { principal: ctx.request.principal, user: id, roles, consoleGrants: grants },
    };
  },
});
