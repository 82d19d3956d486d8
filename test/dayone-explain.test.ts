/**
 * `policy explain` agrees with what the chat does (issue 10): on a table of commands, explain's
 * ALLOW/DENY matches whether the chat carries the request out, and every decision names the
 * assignment (or says none applies).
 */
import { ALL_COMMANDS } from '../commands/index';
import { explain } from '../src/policy/explain';
import { appsClosedAfterEach } from './support/app';

const open = appsClosedAfterEach();

// [principal, command text, what the chat does]
const TABLE: [string, string, 'done' | 'pending' | 'denied' | 'invalid'][] = [
  ['alice', 'start web01', 'done'],
  ['alice', 'stop web02', 'done'],
  ['alice', 'stop web02 --turnoff', 'denied'], // the README's own example
  ['bob', 'stop db01 --turnoff', 'done'],
  ['alice', 'start db01', 'denied'],
  ['mallory', 'start web01', 'denied'],
  ['dave', 'status web01', 'denied'],
  ['alice', 'status web01', 'done'],
  ['alice', 'console web01 --minutes 30', 'done'],
  ['alice', 'console web01 --minutes 999', 'invalid'], // over settings.console.maxMinutes (240)
  ['bob', 'console web01', 'denied'],
  ['alice', 'request web21 --template web-small', 'pending'],
  ['alice', 'request db21 --template web-small', 'invalid'], // name outside the template's scope
  ['alice', 'request web22 --template nosuch', 'invalid'], // no such template
  ['bob', 'request db22 --template web-small', 'denied'], // bob may not request at all
  ['carol', 'requests', 'done'],
  ['mallory', 'requests', 'denied'],
];

describe('policy explain agrees with the chat', () => {
  test.each(TABLE)('%s: "%s" → %s', async (user, text, chat) => {
    const app = await open();
    const x = explain(app.policy(), ALL_COMMANDS, `local:${user}`, text);
    const r = await app.say(user, text);
    expect(r.status).toBe(chat);
    expect(x.decision.allow).toBe(chat === 'done' || chat === 'pending');
    if (chat === 'invalid') expect(x.decision.reason).toContain(r.text.replace(/ Usage:.*$/s, ''));
  });

  test('the README example: stop web01 --turnoff as alice is denied naming the assignment that lacks turn-off', async () => {
    const app = await open();
    const x = explain(app.policy(), ALL_COMMANDS, 'local:alice', 'stop web01 --turnoff');
    expect(x.decision).toMatchObject({ allow: false, reason: expect.stringContaining('turn-off'), matched: { index: 0, role: 'guest-admin', scope: 'web', via: 'group:web-admins' } });
  });
});
