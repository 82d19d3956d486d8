import { stateWord } from '../../core/text';
import type { ActionInput, Reply, ReplyAction } from '../../core/types';

/* Block Kit for vmbot's platform-neutral replies. Plain JSON (no Bolt types) so it is easy to
 * test and to paste into Slack's Block Kit Builder. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Block = Record<string, any>;

/**
 * User text is plain text: `&`, `<`, `>` are escaped so `<!channel>`, `<@U…>` or `<http://x|y>`
 * typed by a user never pings anyone or becomes a link (Slack's own escaping rules).
 */
export const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const plain = (text: string, max = 75) => ({ type: 'plain_text', text: cut(text, max), emoji: false });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: cut(text, 3000), verbatim: true });

const ICON: Record<Reply['status'], string> = { done: '', pending: ':hourglass_flowing_sand: ', invalid: ':grey_question: ', denied: ':no_entry: ', failed: ':warning: ' };

/** What a button carries back to us: the command, and the inputs to ask for first. */
export interface ButtonValue {
  c: string;
  in?: ActionInput[];
}

export const RUN = 'vmbot_run';
export const ASK = 'vmbot_ask';
export const INPUTS_VIEW = 'vmbot_inputs';

function button(a: ReplyAction, i: number): Block {
  const value: ButtonValue = { c: a.command, ...(a.inputs?.length ? { in: a.inputs } : {}) };
  const b: Block = {
    type: 'button', text: plain(a.label), action_id: `${a.inputs?.length ? ASK : RUN}:${i}`, value: JSON.stringify(value),
    ...(a.style ? { style: a.style } : {}),
  };
  if (a.confirm)
    b.confirm = {
      title: plain(a.confirm.title, 100), text: plain(a.confirm.text, 300), confirm: plain(a.confirm.confirm, 30), deny: plain(a.confirm.deny ?? 'Cancel', 30),
      ...(a.style === 'danger' ? { style: 'danger' } : {}),
    };
  return b;
}

/** Buttons in rows of five; each keeps its index in reply.actions, so action ids are unique per message. */
const actionBlocks = (actions: Array<[ReplyAction, number]>, blockId: string): Block[] => {
  const out: Block[] = [];
  for (let i = 0; i < actions.length; i += 5)
    out.push({ type: 'actions', block_id: `${blockId}:${i}`, elements: actions.slice(i, i + 5).map(([a, n]) => button(a, n)) });
  return out;
};

const fieldsBlocks = (fields: { label: string; value: string }[]): Block[] => {
  const out: Block[] = [];
  for (let i = 0; i < fields.length; i += 10)
    out.push({ type: 'section', fields: fields.slice(i, i + 10).map((f) => mrkdwn(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value) || ' '}`)) });
  return out;
};

interface VmRow {
  name: string;
  state: string;
  host: string;
  uptime?: string;
}

/** Slack refuses a message with more blocks than this (invalid_blocks): the user would get nothing. */
export const MAX_MESSAGE_BLOCKS = 50;

/** A reply as Block Kit; `text` is the notification fallback Slack requires alongside blocks. */
export function renderBlocks(reply: Reply): { text: string; blocks: Block[] } {
  const blocks: Block[] = [];
  const actions = reply.actions ?? [];
  const vms = Array.isArray(reply.data?.vms) ? (reply.data.vms as VmRow[]) : null;
  if (reply.title) blocks.push({ type: 'header', text: plain(reply.title, 150) });
  const indexed = actions.map((a, i): [ReplyAction, number] => [a, i]);
  const rowNames = new Set((vms ?? []).map((v) => v.name));
  if (vms && vms.length) {
    // One section per VM with its facts, and its own buttons under it, as many as fit in one
    // message; the rest are named in one section (their buttons are a `status <vm>` away).
    const others = actionBlocks(indexed.filter(([a]) => !a.subject || !rowNames.has(a.subject)), 'act').length;
    const budget = MAX_MESSAGE_BLOCKS - others - (reply.auditId !== undefined ? 1 : 0) - 1;
    const rest: VmRow[] = [];
    vms.forEach((vm, n) => {
      const own = actionBlocks(indexed.filter(([a]) => a.subject === vm.name), `vmact:${n}`);
      if (rest.length || blocks.length + 1 + own.length > budget) return void rest.push(vm);
      blocks.push({
        type: 'section', block_id: `vm:${n}`,
        text: mrkdwn(`*${escapeMrkdwn(vm.name)}*`),
        fields: [mrkdwn(`*State*\n${escapeMrkdwn(stateWord(vm.state))}`), mrkdwn(`*Host*\n${escapeMrkdwn(vm.host)}`), ...(vm.uptime ? [mrkdwn(`*Uptime*\n${escapeMrkdwn(vm.uptime)}`)] : [])],
      });
      blocks.push(...own);
    });
    if (rest.length)
      blocks.push({ type: 'section', text: mrkdwn(`*${rest.length} more* (type \`status <vm>\` for one with its buttons):\n${rest.map((v) => `${escapeMrkdwn(v.name)} (${escapeMrkdwn(stateWord(v.state))}, ${escapeMrkdwn(v.host)})`).join(', ')}`) });
  } else {
    blocks.push({ type: 'section', text: mrkdwn(`${ICON[reply.status]}${escapeMrkdwn(reply.text)}`) });
    if (reply.fields?.length) blocks.push(...fieldsBlocks(reply.fields));
  }
  blocks.push(...actionBlocks(indexed.filter(([a]) => !a.subject || !rowNames.has(a.subject)), 'act'));
  if (reply.auditId !== undefined) blocks.push({ type: 'context', elements: [mrkdwn(`audit #${reply.auditId}`)] });
  return { text: cut(`${ICON[reply.status]}${escapeMrkdwn(reply.text)}`, 3000), blocks };
}

/** The modal that asks for an action's inputs (Deny: the reason). */
export function inputsModal(value: ButtonValue, metadata: string, title: string): Block {
  return {
    type: 'modal', callback_id: INPUTS_VIEW, private_metadata: metadata,
    title: plain(title, 24), submit: plain('Send', 24), close: plain('Cancel', 24),
    blocks: [
      { type: 'section', text: mrkdwn(`\`${escapeMrkdwn(value.c)}\``) },
      ...(value.in ?? []).map((i) => ({
        type: 'input', block_id: `in:${i.name}`, label: plain(i.label, 2000),
        element: {
          type: 'plain_text_input', action_id: 'value', multiline: !!i.multiline,
          ...(i.minLength !== undefined ? { min_length: i.minLength } : {}), ...(i.maxLength !== undefined ? { max_length: Math.min(i.maxLength, 3000) } : {}),
          ...(i.placeholder ? { placeholder: plain(i.placeholder, 150) } : {}),
        },
      })),
    ],
  };
}
