import { z } from 'zod';
import { ALL_OPERATIONS } from './operations';

/** A plain identifier for users, groups, roles, scopes and templates. */
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const Id = z.string().regex(ID_RE, 'must be letters, digits, . _ - (max 64)');

/**
 * A section keyed by policy names (users, groups, roles, scopes, templates), parsed into an
 * object without a prototype: a name is then only ever what the policy defines. On a plain
 * object `roles["toString"]` is Object's method, so a dangling reference to it looked defined
 * to lint and crashed the evaluator; here it is undefined like any other unknown name.
 */
const byName = <T extends z.ZodType>(value: T) =>
  // The record zod just built is this parse's own object: drop its prototype in place (copying
  // 10k users into a new object was a tenth of a large policy's schema time).
  z.record(Id, value).transform((r) => Object.setPrototypeOf(r, null) as Record<string, z.output<T>>);

/**
 * Look a policy name up in a section: own entries only, so a name that happens to be a member
 * of every JavaScript object (constructor, toString) is found only when the policy defines it.
 * Sections parsed by PolicySchema have no prototype anyway; this also guards a Policy built by
 * hand and says at each call site that the key is a name.
 */
export const named = <T>(section: Readonly<Record<string, T>>, name: string): T | undefined =>
  Object.hasOwn(section, name) ? section[name] : undefined;

/** DOMAIN\account (or DOMAIN\group): NetBIOS domain, then a SAM name. */
export const WINDOWS_ACCOUNT_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,14}\\[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$/;

/** `local:alice`, `slack:U0123`, `teams:<AAD object id>`. */
export const PrincipalSchema = z
  .string()
  .regex(/^(local|slack|teams):[A-Za-z0-9._@-]{1,128}$/, 'must be local:<name>, slack:<user id> or teams:<AAD object id>');

export const OperationSchema = z.enum(ALL_OPERATIONS);

/** ISO date (2027-01-31) or date-time; YAML may hand us a Date already. */
const DateLike = z.union([z.date(), z.iso.date(), z.iso.datetime({ offset: true })]).transform((v) => new Date(v));

export const ExceptionSchema = z.strictObject({
  securityAnalysis: z.string().min(3, 'needs a written security analysis reference'),
  expires: DateLike,
  note: z.string().optional(),
});

export const GrantSchema = z.union([
  OperationSchema,
  z.strictObject({ operation: OperationSchema, exception: ExceptionSchema.optional() }),
]);

export const RoleSchema = z.strictObject({
  description: z.string().optional(),
  operations: z.array(GrantSchema).min(1),
  /** Stop with -TurnOff (pulling the power) is a separate, explicit capability. */
  allowTurnOff: z.boolean().default(false),
});

/**
 * Scope VM patterns are written by the platform admin: `*` and `?` are wildcards, everything else
 * is literal. User input is never treated as a pattern.
 */
const VmPattern = z.string().regex(/^[A-Za-z0-9._*?-]{1,100}$/, 'VM patterns may use letters, digits, . _ - and the wildcards * ?');
const HostName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/, 'must be a host name');

export const ScopeSchema = z.strictObject({
  description: z.string().optional(),
  vms: z.array(VmPattern).min(1),
  /** When given, the VM must also live on one of these hosts. */
  hosts: z.array(HostName).optional(),
  /** Most VMs one user may have requested into this scope (issue: approvals). */
  quotaPerUser: z.number().int().positive().optional(),
});

export const UserSchema = z.strictObject({
  displayName: z.string().optional(),
  identities: z.array(PrincipalSchema).min(1),
  windowsAccount: z
    .string()
    .regex(WINDOWS_ACCOUNT_RE, 'must be DOMAIN\\account')
    .optional(),
  groups: z.array(Id).default([]),
});

export const GroupSchema = z.strictObject({ description: z.string().optional() });

export const AssignmentSchema = z
  .strictObject({
    role: Id,
    scope: Id,
    users: z.array(Id).default([]),
    groups: z.array(Id).default([]),
    description: z.string().optional(),
  })
  .refine((a) => a.users.length + a.groups.length > 0, 'an assignment needs at least one user or group');

export const TemplateSchema = z.strictObject({
  description: z.string().optional(),
  generation: z.union([z.literal(1), z.literal(2)]),
  cpuCount: z.number().int().min(1).max(64),
  memoryMB: z.number().int().min(32).max(1048576),
  diskGB: z.number().int().min(1).max(65536),
  switch: z.string().min(1).max(100),
  vlan: z.number().int().min(1).max(4094).optional(),
  hosts: z.array(HostName).min(1),
  /** The scope the new VM joins: its name must match the scope's patterns. */
  scope: Id,
  approvals: z.number().int().min(1).max(5).default(1),
});

export const SettingsSchema = z
  .strictObject({
    console: z
      .strictObject({
        defaultMinutes: z.number().int().min(1).default(30),
        maxMinutes: z.number().int().min(1).default(240),
        /** A notice this many minutes before a grant ends (0: none); only for grants longer than that. */
        warnMinutes: z.number().int().min(0).default(5),
      })
      .default({ defaultMinutes: 30, maxMinutes: 240, warnMinutes: 5 }),
    requests: z.strictObject({ expireHours: z.number().positive().default(72) }).default({ expireHours: 72 }),
  })
  .default({ console: { defaultMinutes: 30, maxMinutes: 240, warnMinutes: 5 }, requests: { expireHours: 72 } });

export const PolicySchema = z.strictObject({
  version: z.literal(1),
  description: z.string().optional(),
  settings: SettingsSchema,
  users: byName(UserSchema),
  groups: byName(GroupSchema).prefault({}),
  roles: byName(RoleSchema),
  scopes: byName(ScopeSchema),
  assignments: z.array(AssignmentSchema),
  templates: byName(TemplateSchema).prefault({}),
});

export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
export type Role = z.infer<typeof RoleSchema>;
export type Scope = z.infer<typeof ScopeSchema>;
export type User = z.infer<typeof UserSchema>;
export type Assignment = z.infer<typeof AssignmentSchema>;
export type Template = z.infer<typeof TemplateSchema>;
export type Grant = z.infer<typeof GrantSchema>;
export type Operation = z.infer<typeof OperationSchema>;
