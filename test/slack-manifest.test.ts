import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOT_EVENTS, SCOPE_OF_METHOD, SLASH_COMMAND, SLASH_COMMAND_SCOPE } from '../src/adapters/slack/frontend';
import { REPO } from './support/app';

const manifest = JSON.parse(readFileSync(join(REPO, 'manifest.json'), 'utf8'));
const source = readFileSync(join(REPO, 'src', 'adapters', 'slack', 'frontend.ts'), 'utf8');

describe('manifest.json (Slack app manifest)', () => {
  test('has every field Slack requires, within Slack’s limits', () => {
    expect(typeof manifest.display_information.name).toBe('string');
    expect(manifest.display_information.name.length).toBeLessThanOrEqual(35);
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    expect(manifest.display_information.long_description.length).toBeGreaterThanOrEqual(175);
    expect(manifest.display_information.long_description.length).toBeLessThanOrEqual(4000);
    expect(manifest.features.bot_user.display_name.length).toBeLessThanOrEqual(80);
    expect(manifest.features.slash_commands.length).toBeGreaterThanOrEqual(1);
    for (const c of manifest.features.slash_commands) {
      expect(c.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
      expect(typeof c.description).toBe('string');
      expect(c.description.length).toBeLessThanOrEqual(2000);
      expect(c.usage_hint.length).toBeLessThanOrEqual(1000);
    }
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(typeof manifest.settings.socket_mode_enabled).toBe('boolean');
    expect(manifest._metadata.major_version).toBe(1);
  });

  test('names the same command, events and routes the code serves', () => {
    expect(manifest.features.slash_commands.map((c: { command: string }) => c.command)).toEqual([SLASH_COMMAND]);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual([...BOT_EVENTS]);
    for (const url of [manifest.features.slash_commands[0].url, manifest.settings.interactivity.request_url, manifest.settings.event_subscriptions.request_url])
      expect(new URL(url).pathname).toBe('/slack/events');
    expect(manifest.features.app_home.home_tab_enabled).toBe(true); // App Home is published
    // Cards and notices are DMs from the app (chat.postMessage to a user id): they appear in the
    // app's Messages tab, so it must be on; the bot reads no DMs (no message.im event), so it is
    // read-only rather than a box whose messages go unanswered.
    expect(manifest.features.app_home.messages_tab_enabled).toBe(true);
    expect(BOT_EVENTS).not.toContain('message.im');
    expect(manifest.features.app_home.messages_tab_read_only_enabled).toBe(true);
    // HTTP mode by default (the URLs above); Socket Mode is the one switch README step 1 names.
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });

  test('asks for exactly the bot scopes the code needs: every Web API method used is covered, nothing more', () => {
    const used = new Set([...source.matchAll(/\b(?:web|client)\.([a-z]+)\.([a-zA-Z]+)\(/g)].map((m) => `${m[1]}.${m[2]}`));
    expect(used.size).toBeGreaterThan(3);
    for (const m of used) expect(Object.keys(SCOPE_OF_METHOD)).toContain(m);
    const needed = new Set([SLASH_COMMAND_SCOPE, ...[...used].map((m) => SCOPE_OF_METHOD[m]).filter((s): s is string => !!s)]);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
  });
});
