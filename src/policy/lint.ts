import { GUEST_ADMIN_PERMITTED, isHyperVOperation } from './operations';
import { named, type Grant, type Operation, type Policy } from './schema';

export interface Finding {
  severity: 'error' | 'warning';
  /** Where in the policy, e.g. `roles.guest-admin.operations[2]`. */
  path: string;
  message: string;
}

export const grantOperation = (g: Grant): Operation => (typeof g === 'string' ? g : g.operation);
export const grantException = (g: Grant) => (typeof g === 'string' ? undefined : g.exception);

/**
 * IT-Grundschutz S 4.413: guest administrators may start, stop and reach the console of their
 * VMs; every other Hyper-V operation "can impair the separation between the systems" and needs a
 * security analysis. A grant outside the permitted set is an error unless it carries an
 * unexpired exception with a written analysis reference.
 */
export function lintPolicy(policy: Policy, now: Date = new Date()): Finding[] {
  const findings: Finding[] = [];
  for (const [roleName, role] of Object.entries(policy.roles)) {
    const ops = new Set<Operation>();
    role.operations.forEach((grant, i) => {
      const op = grantOperation(grant);
      const exception = grantException(grant);
      const path = `roles.${roleName}.operations[${i}]`;
      if (ops.has(op)) findings.push({ severity: 'warning', path, message: `role "${roleName}" grants "${op}" twice` });
      ops.add(op);
      if (!isHyperVOperation(op) || GUEST_ADMIN_PERMITTED.has(op)) {
        if (exception)
          findings.push({ severity: 'warning', path, message: `role "${roleName}": "${op}" needs no exception; remove it` });
        return;
      }
      if (!exception) {
        findings.push({
          severity: 'error',
          path,
          message:
            `role "${roleName}" grants "${op}", which S 4.413 does not permit for guest administrators ` +
            `(only Start, Stop, Allow Input, Allow Output). Remove it, or add an exception with securityAnalysis and expires.`,
        });
      } else if (exception.expires.getTime() <= now.getTime()) {
        findings.push({
          severity: 'error',
          path,
          message: `role "${roleName}": the exception for "${op}" (${exception.securityAnalysis}) expired on ${exception.expires.toISOString().slice(0, 10)}`,
        });
      } else {
        findings.push({
          severity: 'warning',
          path,
          message: `role "${roleName}" grants "${op}" under exception ${exception.securityAnalysis} until ${exception.expires.toISOString().slice(0, 10)}`,
        });
      }
    });
    const input = ops.has('Allow Input to Virtual Machine');
    const output = ops.has('Allow Output from Virtual Machine');
    if (input !== output)
      findings.push({
        severity: 'warning',
        path: `roles.${roleName}`,
        message: `role "${roleName}" holds only one of Allow Input / Allow Output; console access needs both`,
      });
    if (role.allowTurnOff && !ops.has('Stop Virtual Machine'))
      findings.push({ severity: 'error', path: `roles.${roleName}.allowTurnOff`, message: `role "${roleName}" allows turn-off without "Stop Virtual Machine"` });
  }
  return findings;
}

/** The names each section defines: by default the policy's own; a partly valid file passes every name it has. */
export interface DefinedNames {
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
  roles: ReadonlySet<string>;
  scopes: ReadonlySet<string>;
}

/**
 * References between sections: every name used must be defined, every identity and Windows
 * account unique, every template host inside its scope. `defined` lets lint of a file with
 * schema errors treat a name as defined even where its entry did not parse (no false "not
 * defined" next to the schema error itself).
 */
export function checkReferences(policy: Policy, defined?: DefinedNames): Finding[] {
  const findings: Finding[] = [];
  const err = (path: string, message: string) => findings.push({ severity: 'error', path, message });
  const has = (section: keyof DefinedNames, name: string) => (defined ? defined[section].has(name) : named<unknown>(policy[section], name) !== undefined);
  const seen = new Map<string, string>();
  // Grant-VMConnectAccess grants the Windows account: two users sharing one reach each other's consoles.
  const accounts = new Map<string, string>();
  for (const [name, user] of Object.entries(policy.users)) {
    if (user.windowsAccount) {
      const key = user.windowsAccount.toLowerCase();
      const other = accounts.get(key);
      if (other)
        err(`users.${name}.windowsAccount`, `windows account "${user.windowsAccount}" belongs to both "${other}" and "${name}": each could use the other's console grants (Windows accounts compare case-insensitively)`);
      else accounts.set(key, name);
    }
    user.identities.forEach((id, i) => {
      const key = id.toLowerCase();
      const other = seen.get(key);
      if (other) err(`users.${name}.identities[${i}]`, `identity "${id}" is claimed by both "${other}" and "${name}"`);
      seen.set(key, name);
    });
    user.groups.forEach((g, i) => {
      if (!has('groups', g)) err(`users.${name}.groups[${i}]`, `user "${name}" is in group "${g}", which is not defined under groups`);
    });
  }
  policy.assignments.forEach((a, i) => {
    const path = `assignments[${i}]`;
    if (!has('roles', a.role)) err(`${path}.role`, `assignment ${i + 1} names role "${a.role}", which is not defined`);
    if (!has('scopes', a.scope)) err(`${path}.scope`, `assignment ${i + 1} names scope "${a.scope}", which is not defined`);
    a.users.forEach((u, j) => {
      if (!has('users', u)) err(`${path}.users[${j}]`, `assignment ${i + 1} names user "${u}", which is not defined`);
    });
    a.groups.forEach((g, j) => {
      if (!has('groups', g)) err(`${path}.groups[${j}]`, `assignment ${i + 1} names group "${g}", which is not defined`);
    });
  });
  for (const [name, t] of Object.entries(policy.templates)) {
    if (!has('scopes', t.scope)) err(`templates.${name}.scope`, `template "${name}" joins scope "${t.scope}", which is not defined`);
    const hosts = named(policy.scopes, t.scope)?.hosts;
    if (!hosts) continue;
    const inScope = new Set(hosts.map((h) => h.toLowerCase()));
    t.hosts.forEach((h, j) => {
      if (!inScope.has(h.toLowerCase()))
        err(`templates.${name}.hosts[${j}]`, `template "${name}" places VMs on "${h}", which scope "${t.scope}" does not include (its hosts: ${hosts.join(', ')}): a VM there would be outside the scope, so a request could never succeed`);
    });
  }
  const c = policy.settings.console;
  if (c.defaultMinutes > c.maxMinutes)
    err('settings.console', `console.defaultMinutes (${c.defaultMinutes}) is above maxMinutes (${c.maxMinutes})`);
  return findings;
}
