/**
 * Policy evaluator bench: a generated estate of 10,000 users and 100,000 VMs.
 *
 *   2,000 teams t0000..t1999, 50 VMs each (t0042-001..t0042-050) spread over 50 hosts
 *   2,000 team scopes  ["t0042-*"]          (every 4th restricted to the team's two hosts)
 *     500 exact scopes ["t0007-003", ...]   (10 exact names each, from other teams)
 *       1 estate scope ["*"]                (auditors only: Read Audit Log)
 *   10,000 users, each in their team's group (5 per team), 20% also in a second team's group
 *   assignments: guest-admin (or guest-admin-turnoff for every 10th team) per team group,
 *   guest-admin on each exact scope for 3 named users, requester/approver for 500 teams,
 *   auditor on the estate for 10 users.
 *
 * Decisions are drawn from a fixed random mix (seeded) and timed one by one with
 * process.hrtime.bigint() after warm-up; the bench also times batches of 100 calls to show the
 * per-call timer overhead, and reports identify(), visible() and construction cost.
 */
import { PolicyEvaluator, type VmTarget } from '../src/policy/evaluator';
import { PolicySchema, type Operation, type PolicyInput } from '../src/policy/schema';
import { median, oneDecimal, percentile, writeResult } from './report';

export const USERS = 10_000;
export const TEAMS = 2_000;
export const VMS_PER_TEAM = 50;
export const HOSTS = 50;
const EXACT_SCOPES = 500;

/** Small seeded PRNG (mulberry32) so every run draws the same mix. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const team = (t: number) => `t${pad(t, 4)}`;
const vmName = (t: number, i: number) => `${team(t)}-${pad(i, 3)}`;
const hostOf = (t: number, i: number) => `hv${pad((t * 2 + (i % 2)) % HOSTS, 2)}`;
const userId = (u: number) => `u${pad(u, 5)}`;
/** Team of user u: 5 users per team. */
const teamOfUser = (u: number) => u % TEAMS;

export interface Estate {
  input: PolicyInput;
  /** VM name -> host, the inventory a backend would return. */
  inventory: Map<string, string>;
  /** Exact scope -> its VMs, user -> exact scopes it holds. */
  exactOfUser: Map<number, string[]>;
  secondTeam: Map<number, number>;
}

export function generateEstate(seed = 42): Estate {
  const r = rng(seed);
  const inventory = new Map<string, string>();
  for (let t = 0; t < TEAMS; t++) for (let i = 1; i <= VMS_PER_TEAM; i++) inventory.set(vmName(t, i), hostOf(t, i));

  const users: NonNullable<PolicyInput['users']> = {};
  const secondTeam = new Map<number, number>();
  for (let u = 0; u < USERS; u++) {
    const groups = [`g-${team(teamOfUser(u))}`];
    if (r() < 0.2) {
      const t2 = Math.floor(r() * TEAMS);
      if (t2 !== teamOfUser(u)) {
        groups.push(`g-${team(t2)}`);
        secondTeam.set(u, t2);
      }
    }
    users[userId(u)] = {
      displayName: `User ${u}`,
      identities: [`local:${userId(u)}`, `slack:U${pad(u, 9)}`, `teams:${pad(u, 8)}-0000-4000-8000-000000000000`],
      windowsAccount: `CONTOSO\\${userId(u)}`,
      groups,
    };
  }
  const groups: Record<string, { description: string }> = {};
  for (let t = 0; t < TEAMS; t++) groups[`g-${team(t)}`] = { description: `Guest admins of team ${t}` };

  const guestOps: Operation[] = ['Start Virtual Machine', 'Stop Virtual Machine', 'Allow Input to Virtual Machine', 'Allow Output from Virtual Machine'];
  const roles: NonNullable<PolicyInput['roles']> = {
    'guest-admin': { operations: guestOps },
    'guest-admin-turnoff': { operations: guestOps, allowTurnOff: true },
    requester: { operations: ['Request Virtual Machine'] },
    approver: { operations: ['Approve Virtual Machine Request'] },
    auditor: { operations: ['Read Audit Log'] },
  };

  const scopes: NonNullable<PolicyInput['scopes']> = {};
  const assignments: NonNullable<PolicyInput['assignments']> = [];
  for (let t = 0; t < TEAMS; t++) {
    const hosts = t % 4 === 0 ? [hostOf(t, 0), hostOf(t, 1)] : undefined;
    scopes[`team-${team(t)}`] = { vms: [`${team(t)}-*`], ...(hosts ? { hosts } : {}) };
    assignments.push({ role: t % 10 === 0 ? 'guest-admin-turnoff' : 'guest-admin', scope: `team-${team(t)}`, groups: [`g-${team(t)}`] });
  }
  const exactOfUser = new Map<number, string[]>();
  for (let s = 0; s < EXACT_SCOPES; s++) {
    const vms: string[] = [];
    for (let k = 0; k < 10; k++) vms.push(vmName(Math.floor(r() * TEAMS), 1 + Math.floor(r() * VMS_PER_TEAM)));
    scopes[`exact-${pad(s, 4)}`] = { vms };
    const holders = [0, 1, 2].map(() => Math.floor(r() * USERS));
    assignments.push({ role: 'guest-admin', scope: `exact-${pad(s, 4)}`, users: holders.map(userId) });
    for (const h of holders) exactOfUser.set(h, [...(exactOfUser.get(h) ?? []), ...vms]);
  }
  for (let t = 0; t < 500; t++) {
    assignments.push({ role: 'requester', scope: `team-${team(t)}`, groups: [`g-${team(t)}`] });
    assignments.push({ role: 'approver', scope: `team-${team(t)}`, users: [userId((t + 1) % USERS)] });
  }
  scopes.estate = { vms: ['*'] };
  assignments.push({ role: 'auditor', scope: 'estate', users: Array.from({ length: 10 }, (_, i) => userId(USERS - 1 - i)) });

  return { input: { version: 1, users, groups, roles, scopes, assignments }, inventory, exactOfUser, secondTeam };
}

interface Query {
  user: string;
  op: Operation;
  vm: VmTarget | null;
  opts: { turnOff?: boolean; requireHost?: boolean };
  kind: string;
}

/** The decision mix: what a busy estate's chat traffic plausibly looks like. */
function makeQueries(est: Estate, n: number, seed: number): Query[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const vmOps: Operation[] = ['Start Virtual Machine', 'Stop Virtual Machine', 'Allow Input to Virtual Machine', 'Allow Output from Virtual Machine'];
  const target = (name: string): VmTarget => ({ name, host: est.inventory.get(name) });
  const out: Query[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.floor(r() * USERS);
    const x = r();
    let q: Query;
    if (x < 0.4) {
      // own team's VM: allow (unless the op is not granted)
      q = { user: userId(u), op: pick(vmOps), vm: target(vmName(teamOfUser(u), 1 + Math.floor(r() * VMS_PER_TEAM))), opts: {}, kind: 'own' };
    } else if (x < 0.5) {
      // second team or exact-scope VM (20% of users have one)
      const ex = est.exactOfUser.get(u);
      const t2 = est.secondTeam.get(u);
      const name = ex ? pick(ex) : t2 !== undefined ? vmName(t2, 1 + Math.floor(r() * VMS_PER_TEAM)) : vmName(teamOfUser(u), 1);
      q = { user: userId(u), op: pick(vmOps), vm: target(name), opts: {}, kind: 'other-grant' };
    } else if (x < 0.75) {
      // somebody else's VM: deny (held elsewhere)
      q = { user: userId(u), op: pick(vmOps), vm: target(vmName(Math.floor(r() * TEAMS), 1 + Math.floor(r() * VMS_PER_TEAM))), opts: {}, kind: 'foreign' };
    } else if (x < 0.82) {
      // stop --turnoff on own VM: allow only for the turnoff teams
      q = { user: userId(u), op: 'Stop Virtual Machine', vm: target(vmName(teamOfUser(u), 1 + Math.floor(r() * VMS_PER_TEAM))), opts: { turnOff: true }, kind: 'turnoff' };
    } else if (x < 0.9) {
      // a VM that does not exist (typo) or a name that is not a VM name at all
      const name = r() < 0.8 ? `${team(teamOfUser(u))}-9${pad(Math.floor(r() * 100), 2)}` : `web*'; drop`;
      q = { user: userId(u), op: pick(vmOps), vm: { name }, opts: { requireHost: false }, kind: 'unknown-vm' };
    } else if (x < 0.95) {
      // an operation nobody holds
      q = { user: userId(u), op: pick(['Create Virtual Machine', 'Reconfigure Virtual Machine', 'Delete Virtual Machine'] as Operation[]), vm: target(vmName(teamOfUser(u), 1)), opts: {}, kind: 'ungranted-op' };
    } else if (x < 0.98) {
      // bot operation without a VM
      q = { user: userId(u), op: pick(['Request Virtual Machine', 'Read Audit Log'] as Operation[]), vm: null, opts: {}, kind: 'bot-op' };
    } else {
      q = { user: `ghost${u}`, op: pick(vmOps), vm: target(vmName(teamOfUser(u), 1)), opts: {}, kind: 'unknown-user' };
    }
    out.push(q);
  }
  return out;
}

const ns = () => process.hrtime.bigint();
const us = (x: number) => Math.round(x * 1000) / 1000;

/** Time each decision alone (and in batches of 100) over queries[warm..]. */
function measureDecide(ev: PolicyEvaluator, queries: Query[], warm: number) {
  const N = queries.length - warm;
  for (let i = 0; i < warm; i++) {
    const q = queries[i]!;
    ev.decide(q.user, q.op, q.vm, q.opts);
  }
  const per: number[] = new Array(N);
  let allows = 0;
  const tAll = ns();
  for (let i = 0; i < N; i++) {
    const q = queries[warm + i]!;
    const a = ns();
    const d = ev.decide(q.user, q.op, q.vm, q.opts);
    per[i] = Number(ns() - a);
    if (d.allow) allows++;
  }
  const allMs = Number(ns() - tAll) / 1e6;
  const B = 100;
  const batches: number[] = [];
  const tB = ns();
  for (let i = 0; i + B <= N; i += B) {
    const a = ns();
    for (let j = i; j < i + B; j++) {
      const q = queries[warm + j]!;
      if (ev.decide(q.user, q.op, q.vm, q.opts).allow) allows++;
    }
    batches.push(Number(ns() - a) / B);
  }
  const batchedMs = Number(ns() - tB) / 1e6;
  const perKind: Record<string, number[]> = {};
  for (let i = 0; i < N; i++) (perKind[queries[warm + i]!.kind] ??= []).push(per[i]!);
  return {
    sample: N,
    perCallMedianUs: us(median(per) / 1000),
    perCallP99Us: us(percentile(per, 99) / 1000),
    perCallP999Us: us(percentile(per, 99.9) / 1000),
    batchedPerCallMedianUs: us(median(batches) / 1000),
    batchedPerCallP99Us: us(percentile(batches, 99) / 1000),
    decisionsPerSecond: Math.round(N / (batchedMs / 1000)),
    decisionsPerSecondWithTimers: Math.round(N / (allMs / 1000)),
    byKindMedianUs: Object.fromEntries(Object.entries(perKind).map(([k, xs]) => [k, us(median(xs) / 1000)])),
    allows,
  };
}

export async function main(): Promise<Record<string, unknown>> {
  const tGen = ns();
  const est = generateEstate();
  const genMs = Number(ns() - tGen) / 1e6;

  const tParse = ns();
  const policy = PolicySchema.parse(est.input);
  const parseMs = Number(ns() - tParse) / 1e6;

  // Construction of the product evaluator: 5 times, the median is reported (the last one is used).
  const ctorRuns: number[] = [];
  let ev!: PolicyEvaluator;
  for (let i = 0; i < 5; i++) {
    const t = ns();
    ev = new PolicyEvaluator(policy);
    ctorRuns.push(Number(ns() - t) / 1e6);
  }
  const ctorMs = median(ctorRuns);

  const N = 500_000;
  const WARM = 100_000;
  const queries = makeQueries(est, N + WARM, 7);

  // Outcomes by kind.
  const outcome: Record<string, { allow: number; deny: number }> = {};
  for (const q of queries) {
    const o = (outcome[q.kind] ??= { allow: 0, deny: 0 });
    ev.decide(q.user, q.op, q.vm, q.opts).allow ? o.allow++ : o.deny++;
  }

  // Timer overhead: an empty hrtime pair.
  const empty: number[] = new Array(100_000);
  for (let i = 0; i < empty.length; i++) {
    const a = ns();
    empty[i] = Number(ns() - a);
  }
  const timerNs = median(empty);

  const current = measureDecide(ev, queries, WARM);
  const currentAgain = measureDecide(ev, queries, WARM); // order effects check

  // identify(): known principals (any case), unknown ones.
  const r = rng(9);
  const principals: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const u = Math.floor(r() * USERS);
    const k = r();
    principals.push(
      k < 0.45 ? `slack:U${pad(u, 9)}` : k < 0.8 ? `teams:${pad(u, 8)}-0000-4000-8000-000000000000` : k < 0.95 ? `LOCAL:U${pad(u, 5)}` : `slack:UNKNOWN${u}`,
    );
  }
  let sink = 0;
  for (let i = 0; i < 50_000; i++) if (ev.identify(principals[i]!)) sink++;
  const idPer: number[] = [];
  for (let i = 50_000; i < principals.length; i++) {
    const a = ns();
    const id = ev.identify(principals[i]!);
    idPer.push(Number(ns() - a));
    if (id) sink++;
  }

  // visible(): what `/vm list` costs if it filters the whole inventory for one user.
  const names = [...est.inventory.entries()].map(([name, host]) => ({ name, host }));
  const listMs: number[] = [];
  let listed = 0;
  for (let k = 0; k < 5; k++) {
    const uid = userId(Math.floor(r() * USERS));
    const a = ns();
    for (const vm of names) if (ev.visible(uid, vm).allow) listed++;
    listMs.push(Number(ns() - a) / 1e6);
  }

  const medianUs = current.perCallMedianUs;
  const result = {
    estate: {
      users: USERS,
      vms: est.inventory.size,
      scopes: Object.keys(policy.scopes).length,
      assignments: policy.assignments.length,
      groups: Object.keys(policy.groups).length,
      usersInTwoGroups: est.secondTeam.size,
    },
    setupMs: {
      generate: Math.round(genMs),
      policySchemaParse: Math.round(parseMs),
      evaluatorConstruct: Math.round(ctorMs),
      evaluatorConstructRuns: ctorRuns.map((x) => Math.round(x)),
    },
    decide: {
      method: `${N} decisions from a seeded random mix (after ${WARM} warm-up), each timed alone with process.hrtime.bigint() (empty timer pair median ${timerNs} ns, included in per-call figures); the same sample also timed in batches of 100 calls`,
      mix: Object.fromEntries(Object.entries(outcome).map(([k, o]) => [k, { n: o.allow + o.deny, ...o }])),
      current,
      currentAgain: { perCallMedianUs: currentAgain.perCallMedianUs, perCallP99Us: currentAgain.perCallP99Us, batchedPerCallMedianUs: currentAgain.batchedPerCallMedianUs },
    },
    identify: { sample: idPer.length, medianUs: us(median(idPer) / 1000), p99Us: us(percentile(idPer, 99) / 1000) },
    visibleWholeInventory: { vms: names.length, msPerListMedian: oneDecimal(median(listMs)), visibleFound: listed },
    target: { decideMedianUs: 5, measuredMedianUs: medianUs, pass: medianUs < 5 },
    sink,
  };
  writeResult('policy', result);
  return result;
}

if (require.main === module) void main();
