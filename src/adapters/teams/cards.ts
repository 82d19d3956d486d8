import { z } from 'zod';
import { stateWord } from '../../core/text';
import type { Reply, ReplyAction } from '../../core/types';

export type { ReplyAction };

/**
 * Reply -> Adaptive Card 1.5 (the version Teams requires for Universal Actions). Buttons are
 * `Action.Execute` with an `Action.Submit` fallback; both carry the command the button stands
 * for, and a click re-enters the pipeline as that command under the clicker's identity, so a
 * button can never do more than typing the command would. Platform-free: no botbuilder here.
 */

/** The one verb every vmbot button uses; what to run travels in `data.vmbot`. */
export const COMMAND_VERB = 'vmbot.command';
/** Universal Actions refresh: the card asks for its current view when an approver opens it. */
export const REFRESH_VERB = 'vmbot.refresh';

export type AdaptiveElement = Record<string, unknown>;
export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: string;
  version: '1.5';
  body: AdaptiveElement[];
  actions?: AdaptiveElement[];
  refresh?: { action: AdaptiveElement; userIds: string[] };
  msteams?: { width: 'Full' };
}

/**
 * User text inside Adaptive Card markdown: every character that could start emphasis, a
 * link, code, a list or a heading is backslash-escaped, and `{{` is broken up so it cannot
 * become a DATE()/TIME() function. A reason like `**urgent** [click](https://x)` shows as typed.
 */
export function escapeCardText(s: string): string {
  return s
    .replace(/[\\`*_~[\]<>|]/g, (c) => `\\${c}`)
    .replace(/\{\{/g, '{\u200B{')
    .replace(/^(\s*)([#+-]|\d+\.)(?=\s|$)/gm, (_, sp: string, mark: string) => `${sp}${mark.replace(/([#+\-.])/, '\\$1')}`);
}

const COLOR: Record<Reply['status'], string | undefined> = { done: undefined, pending: 'Accent', invalid: 'Warning', denied: 'Attention', failed: 'Attention' };
const DEFAULT_TITLE: Record<Reply['status'], string | undefined> = { done: undefined, pending: undefined, invalid: 'Cannot do that', denied: 'Not permitted', failed: 'Failed' };

/** Replies with structure become cards; a one-line answer stays a plain message. */
export function wantsCard(reply: Reply): boolean {
  return Boolean(reply.title || reply.fields?.length || reply.actions?.length || reply.text.includes('\n'));
}

/** What a button sends back (in `Action.Execute` data or as the `Action.Submit` message value). */
const ButtonData = z.object({
  vmbot: z.strictObject({
    command: z.string().min(1).max(300),
    id: z.string().max(120),
    /** Names of the inputs this button collects (values arrive next to `vmbot`). */
    inputs: z.array(z.string().regex(/^[a-z][a-zA-Z0-9]{0,31}$/)).max(5).optional(),
  }),
});

const RefreshData = z.object({ vmbot: z.strictObject({ refresh: z.string().max(200) }) });

export interface ButtonClick {
  command: string;
  actionId: string;
  inputs: Record<string, string>;
}

/** The click in a card's data, or null when the data is not a vmbot button's. */
export function readButton(data: unknown): ButtonClick | null {
  const p = ButtonData.safeParse(data);
  if (!p.success) return null;
  const inputs: Record<string, string> = {};
  for (const name of p.data.vmbot.inputs ?? []) {
    const v = (data as Record<string, unknown>)[inputId(p.data.vmbot.id, name)];
    if (typeof v === 'string') inputs[name] = v;
  }
  return { command: p.data.vmbot.command, actionId: p.data.vmbot.id, inputs };
}

/** The topic a refresh asks about, or null. */
export function readRefresh(data: unknown): string | null {
  const p = RefreshData.safeParse(data);
  return p.success ? p.data.vmbot.refresh : null;
}

/** Input ids are unique per card (a requests list has one reason box per request). */
const inputId = (actionId: string, name: string) => `${actionId.replace(/[^A-Za-z0-9:_-]/g, '_')}.${name}`;

function execute(title: string, a: ReplyAction, style?: string): AdaptiveElement {
  const data = { vmbot: { command: a.command, id: a.id, ...(a.inputs?.length ? { inputs: a.inputs.map((i) => i.name) } : {}) } };
  const s = style ? { style } : {};
  return {
    type: 'Action.Execute', title, verb: COMMAND_VERB, data, ...s,
    // Clients without Universal Actions send the same data as a message (handled alike).
    fallback: { type: 'Action.Submit', title, data, ...s },
  };
}

const STYLE = { primary: 'positive', danger: 'destructive' } as const;

/** One reply action as a card action: inputs and confirmations open an inline card first. */
export function cardAction(a: ReplyAction): AdaptiveElement {
  const style = a.style ? STYLE[a.style] : undefined;
  if (a.inputs?.length)
    return {
      type: 'Action.ShowCard', title: a.label,
      card: {
        type: 'AdaptiveCard',
        body: a.inputs.map((i) => ({
          type: 'Input.Text', id: inputId(a.id, i.name), label: i.label, isRequired: true, isMultiline: i.multiline ?? false,
          ...(i.placeholder ? { placeholder: i.placeholder } : {}), ...(i.maxLength ? { maxLength: i.maxLength } : {}),
          ...(i.minLength ? { regex: `^[\\s\\S]{${i.minLength},}$` } : {}),
          errorMessage: i.minLength ? `At least ${i.minLength} characters.` : 'Required.',
        })),
        actions: [execute(a.label, a, style)],
      },
    };
  if (a.confirm)
    return {
      type: 'Action.ShowCard', title: a.label,
      card: {
        type: 'AdaptiveCard',
        body: [
          { type: 'TextBlock', text: escapeCardText(a.confirm.title), weight: 'Bolder', wrap: true },
          { type: 'TextBlock', text: escapeCardText(a.confirm.text), wrap: true },
        ],
        actions: [execute(a.confirm.confirm, a, style ?? 'destructive')],
      },
    };
  return execute(a.label, a, style);
}

interface VmRow {
  name: string;
  state: string;
  host: string;
}

function vmRows(reply: Reply): VmRow[] | null {
  const vms = (reply.data as { vms?: unknown } | undefined)?.vms;
  if (!Array.isArray(vms) || !vms.length) return null;
  const rows = vms.filter((v): v is VmRow => typeof v?.name === 'string' && typeof v?.state === 'string' && typeof v?.host === 'string');
  return rows.length === vms.length ? rows : null;
}

/** Lines of plain text as TextBlocks: indented lines (tables) in monospace, nothing as markdown. */
function textBlocks(text: string): AdaptiveElement[] {
  const out: AdaptiveElement[] = [];
  let gap = false;
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return void (gap = true);
    out.push({
      type: 'TextBlock', text: escapeCardText(line), wrap: true,
      ...(i > 0 ? { spacing: gap ? 'Medium' : 'None' } : {}),
      ...(/^\s{2}/.test(line) ? { fontType: 'Monospace' } : {}),
    });
    gap = false;
  });
  return out;
}

export interface CardOptions {
  /** Ask Teams to refresh this card for these users (their `29:` ids) when they open it. */
  refresh?: { topic: string; userIds: string[] };
}

export function renderCard(reply: Reply, opts: CardOptions = {}): AdaptiveCard {
  const body: AdaptiveElement[] = [];
  const title = reply.title ?? DEFAULT_TITLE[reply.status];
  const color = COLOR[reply.status];
  if (title) body.push({ type: 'TextBlock', text: escapeCardText(title), weight: 'Bolder', size: 'Medium', wrap: true, style: 'heading', ...(color ? { color } : {}) });
  const actions = [...(reply.actions ?? [])];
  const rows = vmRows(reply);
  if (rows) {
    // One row per VM, with the buttons for exactly that VM (the action's subject; ids end in `:<vm>`).
    const about = (a: ReplyAction, vm: string) => (a.subject ?? a.id.slice(a.id.indexOf(':') + 1)).toLowerCase() === vm.toLowerCase();
    for (const vm of rows) {
      const mine = actions.filter((a) => about(a, vm.name));
      for (const a of mine) actions.splice(actions.indexOf(a), 1);
      body.push({
        type: 'Container', separator: true, spacing: 'Medium',
        items: [
          {
            type: 'ColumnSet',
            columns: [
              { type: 'Column', width: 'stretch', items: [{ type: 'TextBlock', text: escapeCardText(vm.name), weight: 'Bolder', wrap: true }] },
              { type: 'Column', width: 'auto', items: [{ type: 'TextBlock', text: escapeCardText(stateWord(vm.state)), color: vm.state === 'Running' ? 'Good' : 'Default', wrap: true }] },
              { type: 'Column', width: 'auto', items: [{ type: 'TextBlock', text: escapeCardText(vm.host), isSubtle: true, wrap: true }] },
            ],
          },
          ...(mine.length ? [{ type: 'ActionSet', actions: mine.map(cardAction) }] : []),
        ],
      });
    }
  } else {
    body.push(...textBlocks(reply.text));
    if (reply.fields?.length) body.push({ type: 'FactSet', facts: reply.fields.map((f) => ({ title: escapeCardText(f.label), value: escapeCardText(f.value) })) });
  }
  const card: AdaptiveCard = { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', body };
  if (actions.length) card.actions = actions.map(cardAction);
  if (rows) card.msteams = { width: 'Full' };
  if (opts.refresh?.userIds.length)
    card.refresh = { action: { type: 'Action.Execute', verb: REFRESH_VERB, data: { vmbot: { refresh: opts.refresh.topic } } }, userIds: opts.refresh.userIds.slice(0, 60) };
  return card;
}
