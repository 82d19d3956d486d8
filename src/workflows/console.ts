import { readFileSync } from 'node:fs';
import type { AuditRecord } from '../audit/record';
import { listSegments } from '../audit/segments';
import { VmbotError } from '../core/errors';
import type { Reply } from '../core/types';
import type { VmInfo, VmRef } from '../hyperv/backend';
import type { Identity, PolicyEvaluator } from '../policy/evaluator';
import type { ConsoleGrant } from '../state/schema';
import { fmtTime, SYSTEM, type Actor, type WorkflowDeps } from './deps';

const ref = (vm: VmRef): VmRef => ({ id: vm.id, name: vm.name, host: vm.host });

/**
 * Time-boxed console access (Allow Input + Allow Output): Grant-VMConnectAccess for the
 * user's Windows account on one VM, revoked at expiry. The grant record is made durable
 * before Hyper-V is asked, so a crash at any point leaves a record the revoker will act on;
 * revoking an access that was never granted is harmless.
 */
export class ConsoleGrants {
  constructor(private readonly deps: WorkflowDeps) {}

  async grant(identity: Identity, actor: Actor, vm: VmInfo, grantId: string, minutes?: number): Promise<Reply> {
    const account = identity.user.windowsAccount;
    if (!account)
      throw new VmbotError('denied', `You have no Windows account in the vmbot policy, so console access cannot be granted. Ask a platform admin to add "windowsAccount" for ${identity.id}.`);
    const refused = consoleLimits(this.deps.policy(), minutes);
    if (refused) throw new VmbotError('usage', refused);
    const mins = minutes ?? this.deps.policy().policy.settings.console.defaultMinutes;
    const now = this.deps.clock();
    const grant: ConsoleGrant = {
      id: grantId, user: identity.id, account, vm: ref(vm), grantedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + mins * 60_000).toISOString(), status: 'active',
    };
    const superseded = await this.deps.store.update((d) => {
      const old = Object.values(d.consoleGrants).filter((g) => g.status === 'active' && g.user === identity.id && g.vm.id === vm.id);
      for (const g of old) Object.assign(g, { status: 'superseded', endedAt: now.toISOString() });
      d.consoleGrants[grant.id] = grant;
      return old.map((g) => structuredClone(g)); // as they were: the store's objects change later
    });
    // Under the old grant's id: that grant's trail must show how it ended (as a revoke would).
    for (const old of superseded)
      await this.audit(actor, old, 'console.supersede', 'ok', `grant ${old.id} replaced by ${grant.id} (extension)`, { superseded: old.id, supersededBy: grant.id });
    try {
      await this.deps.backend.grantConsole(grant.vm, account, new Date(grant.expiresAt));
    } catch (e) {
      // Access may be half-granted: expire the record now so the revoker cleans up on its next pass.
      await this.deps.store.update((d) => void (d.consoleGrants[grant.id]!.expiresAt = now.toISOString()));
      throw e;
    }
    return {
      status: 'done',
      title: `Console: ${vm.name}`,
      text: `Console access to ${vm.name} granted to ${account} until ${fmtTime(grant.expiresAt)} (${mins} min${superseded.length ? `; replaces your earlier grant` : ''}). Connect with Virtual Machine Connection: vmconnect.exe ${vm.host} ${vm.name}`,
      fields: [
        { label: 'VM', value: vm.name },
        { label: 'Host', value: vm.host },
        { label: 'Account', value: account },
        { label: 'Until', value: fmtTime(grant.expiresAt) },
        { label: 'Connect', value: `vmconnect.exe ${vm.host} ${vm.name}` },
      ],
      data: { grantId: grant.id, vm: vm.name, host: vm.host, account, expiresAt: grant.expiresAt },
    };
  }

  /** The caller's active grants, soonest end first. */
  active(userId: string): ConsoleGrant[] {
    const now = this.deps.clock().getTime();
    return Object.values(this.deps.store.data.consoleGrants)
      .filter((g) => g.status === 'active' && g.user === userId && Date.parse(g.expiresAt) > now)
      .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  }

  /** "web01 until 2026-11-23 09:30 UTC (25 min left)" for each active grant. */
  describe(userId: string): string[] {
    const now = this.deps.clock().getTime();
    return this.active(userId).map((g) => `${g.vm.name} for ${g.account} until ${fmtTime(g.expiresAt)} (${minutesLeft(g.expiresAt, now)} left)`);
  }

  /** `console` with no VM: your active grants and when each ends. */
  list(identity: Identity): Reply {
    const grants = this.active(identity.id);
    if (!grants.length) return { status: 'done', text: 'You have no active console grants. Type "console <vm>" to get one.', data: { grants: [] } };
    const lines = this.describe(identity.id);
    return {
      status: 'done',
      title: 'Your console grants',
      text: `Your console grants:\n${lines.map((l) => `  ${l}`).join('\n')}`,
      fields: grants.map((g, i) => ({ label: g.vm.name, value: lines[i]!.slice(g.vm.name.length + 1) })),
      data: { grants: grants.map((g) => ({ grantId: g.id, vm: g.vm.name, host: g.vm.host, account: g.account, expiresAt: g.expiresAt })) },
    };
  }

  /**
   * A notice `warnMinutes` before a grant ends (once per grant; not for grants that are no longer
   * than the warning), so nobody loses a console session without a chance to extend it.
   */
  async warnDue(): Promise<number> {
    const warn = this.deps.policy().policy.settings.console.warnMinutes;
    if (!warn) return 0;
    const now = this.deps.clock().getTime();
    // warnedAt and the notice in one update: a crash never leaves a grant marked warned but unwarned.
    return this.deps.notices.step((d, out) => {
      let count = 0;
      for (const g of Object.values(d.consoleGrants)) {
        const end = Date.parse(g.expiresAt);
        if (g.status !== 'active' || g.warnedAt || end <= now || end - now > warn * 60_000) continue;
        if (end - Date.parse(g.grantedAt) <= warn * 60_000) continue;
        g.warnedAt = new Date(now).toISOString();
        out.send({
          to: [g.user],
          reply: {
            status: 'done',
            text: `Your console access to ${g.vm.name} ends at ${fmtTime(g.expiresAt)} (${minutesLeft(g.expiresAt, now)} left). Type "console ${g.vm.name} --minutes N" to extend it.`,
            data: { grantId: g.id, vm: g.vm.name, expiresAt: g.expiresAt },
          },
        });
        count++;
      }
      return count;
    });
  }

  async revoke(identity: Identity, actor: Actor, vm: VmInfo): Promise<Reply> {
    const active = Object.values(this.deps.store.data.consoleGrants).find((g) => g.status === 'active' && g.user === identity.id && g.vm.id === vm.id);
    if (!active) throw new VmbotError('usage', `You have no active console grant on ${vm.name}.`);
    await this.deps.backend.revokeConsole(active.vm, active.account);
    await this.deps.store.update((d) => void Object.assign(d.consoleGrants[active.id]!, { status: 'revoked', endedAt: this.deps.clock().toISOString() }));
    await this.audit(actor, active, 'console.revoke', 'ok', 'ended early by the user');
    return { status: 'done', text: `Console access to ${vm.name} for ${active.account} ended.`, data: { grantId: active.id, vm: vm.name } };
  }

  /**
   * State and Hyper-V agree: every console grant Hyper-V holds for an account the policy knows
   * (a user's windowsAccount) must be an active grant in state, or it is revoked and audited.
   * So a lost or moved-aside state.json cannot leave access on a VM that nothing would revoke.
   * Accounts the policy does not know are left alone (granted outside vmbot). Runs at start-up
   * and on every revoker pass; a VM whose host does not answer is retried on the next pass.
   */
  async reconcile(): Promise<number> {
    const known = new Map(Object.entries(this.deps.policy().policy.users).flatMap(([id, u]) => (u.windowsAccount ? [[u.windowsAccount.toLowerCase(), id] as const] : [])));
    if (!known.size) return 0;
    const held = new Set(Object.values(this.deps.store.data.consoleGrants).filter((g) => g.status === 'active').map((g) => `${g.vm.id}|${g.account.toLowerCase()}`));
    let grants: { vm: VmRef; accounts: string[] }[];
    try {
      // One call for the estate: asking VM by VM made a pass over 100k VMs take seconds.
      grants = await this.deps.backend.consoleAccessAll();
    } catch {
      return 0; // hosts down: the next pass tries again
    }
    let revoked = 0;
    for (const { vm, accounts } of grants) {
      for (const account of accounts) {
        const user = known.get(account.toLowerCase());
        if (!user || held.has(`${vm.id}|${account.toLowerCase()}`)) continue;
        const base = { principal: SYSTEM.principal, user, channel: SYSTEM.channel, correlationId: `reconcile-${vm.id}`, operation: 'console.reconcile', vm: vm.name, host: vm.host };
        const intent = await this.deps.audit.append({ ...base, kind: 'intent', reason: 'Hyper-V holds a console grant that vmbot has no record of (state lost or edited): revoking it', details: { account } });
        try {
          await this.deps.backend.revokeConsole(ref(vm), account);
          await this.deps.audit.append({ ...base, kind: 'result', intentId: intent.id, outcome: 'ok', details: { account } });
          revoked++;
        } catch (e) {
          await this.deps.audit.append({ ...base, kind: 'result', intentId: intent.id, outcome: 'failed', error: e instanceof Error ? e.message : String(e), reason: 'will retry on the next pass' });
        }
      }
    }
    return revoked;
  }

  /**
   * The audit log is the authority on how long a grant lasts: an active grant whose expiresAt in
   * state is later than its audited grant (state.json edited by hand), or that has no successful
   * grant record in the audit log at all, is cut back to the audited expiry (or now) and the
   * correction is audited. Start-up only: while vmbot runs, state lives in its memory.
   */
  async enforceAuditedExpiry(): Promise<number> {
    const active = Object.values(this.deps.store.data.consoleGrants).filter((g) => g.status === 'active');
    if (!active.length) return 0;
    const audited = auditedExpiries(this.deps.audit.dir, new Set(active.map((g) => g.id)));
    const now = this.deps.clock().toISOString();
    let fixed = 0;
    for (const g of active) {
      const authority = audited.get(g.id) ?? null;
      const until = authority ?? now;
      if (Date.parse(g.expiresAt) <= Date.parse(until)) continue;
      await this.deps.audit.append({
        kind: 'event', principal: SYSTEM.principal, user: g.user, channel: SYSTEM.channel, correlationId: g.id, operation: 'console.expiry-corrected',
        vm: g.vm.name, host: g.vm.host, outcome: 'ok',
        reason: authority
          ? `state.json says the grant lasts until ${g.expiresAt}, the audit log's grant record says ${authority}: the audit log wins`
          : `state.json holds an active grant with no successful grant record in the audit log: ended now`,
        details: { account: g.account, stateExpiresAt: g.expiresAt, auditedExpiresAt: authority },
      });
      await this.deps.store.update((d) => void (d.consoleGrants[g.id]!.expiresAt = until));
      fixed++;
    }
    return fixed;
  }

  /**
   * Revoke every active grant past its expiry (also the ones that expired while vmbot was
   * down). A failed revoke stays active and is retried on the next pass.
   */
  async revokeDue(): Promise<number> {
    const now = this.deps.clock().getTime();
    const due = Object.values(this.deps.store.data.consoleGrants).filter((g) => g.status === 'active' && Date.parse(g.expiresAt) <= now);
    let done = 0;
    for (const g of due) {
      const base = { principal: SYSTEM.principal, user: g.user, channel: SYSTEM.channel, correlationId: g.id, operation: 'console.revoke', vm: g.vm.name, host: g.vm.host };
      const intent = await this.deps.audit.append({ ...base, kind: 'intent', reason: `expired ${fmtTime(g.expiresAt)}`, details: { account: g.account } });
      try {
        await this.deps.backend.revokeConsole(g.vm, g.account);
        await this.deps.notices.step((d, out) => {
          Object.assign(d.consoleGrants[g.id]!, { status: 'expired', endedAt: new Date(this.deps.clock()).toISOString(), lastError: undefined });
          out.send({ to: [g.user], reply: { status: 'done', text: `Your console access to ${g.vm.name} has expired.` } });
        });
        await this.deps.audit.append({ ...base, kind: 'result', intentId: intent.id, outcome: 'ok', details: { account: g.account, lateBySec: Math.round((now - Date.parse(g.expiresAt)) / 1000) } });
        done++;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        await this.deps.store.update((d) => void (d.consoleGrants[g.id]!.lastError = msg));
        await this.deps.audit.append({ ...base, kind: 'result', intentId: intent.id, outcome: 'failed', error: msg, reason: 'will retry on the next pass' });
      }
    }
    return done;
  }

  private audit(actor: Actor, g: ConsoleGrant, operation: string, outcome: 'ok' | 'failed', reason: string, details: Record<string, unknown> = {}) {
    return this.deps.audit.append({
      kind: 'event', principal: actor.principal, user: actor.user, channel: actor.channel ?? null, correlationId: g.id,
      operation, vm: g.vm.name, host: g.vm.host, outcome, reason, details: { account: g.account, ...details },
    });
  }
}

/** "25 min", "1 min", "less than a minute". Rounded up: a grant of 3 minutes reads "3 min" while it is new. */
const minutesLeft = (end: string, now: number) => {
  const ms = Date.parse(end) - now;
  return ms < 60_000 ? 'less than a minute' : `${Math.ceil(ms / 60_000)} min`;
};

/** The console's own limit, for the workflow and for `policy explain`: at most settings.console.maxMinutes. */
export function consoleLimits(policy: PolicyEvaluator, minutes?: number): string | null {
  const { defaultMinutes, maxMinutes } = policy.policy.settings.console;
  const mins = minutes ?? defaultMinutes;
  return mins > maxMinutes ? `Console access lasts at most ${maxMinutes} minutes; you asked for ${mins}.` : null;
}

/** grant id -> expiresAt of its successful grant (the pipeline's result record), newest segments first. */
function auditedExpiries(dir: string, ids: Set<string>): Map<string, string> {
  const found = new Map<string, string>();
  for (const seg of listSegments(dir).reverse()) {
    for (const line of readFileSync(seg.file, 'utf8').split('\n')) {
      if (!line.includes('"result"')) continue;
      let r: AuditRecord;
      try {
        r = JSON.parse(line) as AuditRecord;
      } catch {
        continue;
      }
      const data = (r.details as { data?: { grantId?: unknown; expiresAt?: unknown } } | null)?.data;
      if (r.kind === 'result' && r.outcome === 'ok' && ids.has(r.correlationId) && data?.grantId === r.correlationId && typeof data.expiresAt === 'string')
        found.set(r.correlationId, data.expiresAt);
    }
    if (found.size === ids.size) break;
  }
  return found;
}
