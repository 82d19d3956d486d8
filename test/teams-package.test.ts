import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ALL_COMMANDS } from '../commands/index';
import { buildTeamsPackage, main, pngInfo, readManifest, teamsDir } from '../src/adapters/teams/app-package';
import { ACCENT_HEX } from '../src/adapters/teams/icons';
import { tempDir as newTempDir } from './support/app';
import { readZip } from './support/zip';

const APP_ID = '3f2b8c1e-7d4a-4e6b-9a0c-1d2e3f405162';

const dirs: string[] = [];
const tempDir = () => {
  const d = newTempDir('vmbot-teams-pkg-');
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('Teams app package', () => {
  it('teams/manifest.json carries every field the Teams schema requires, for a bot in personal, team and group chats', () => {
    const m = readManifest();
    expect(m.$schema).toBe(`https://developer.microsoft.com/en-us/json-schemas/teams/v${m.manifestVersion}/MicrosoftTeams.schema.json`);
    expect(Number(m.manifestVersion.split('.')[1])).toBeGreaterThanOrEqual(25);
    expect(m.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(m.developer).toEqual(expect.objectContaining({ name: expect.any(String), websiteUrl: expect.stringMatching(/^https:/), privacyUrl: expect.stringMatching(/^https:/), termsOfUseUrl: expect.stringMatching(/^https:/) }));
    expect(m.name.short.length).toBeLessThanOrEqual(30);
    expect(m.description.short.length).toBeLessThanOrEqual(80);
    expect(m.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    expect(m.accentColor).toBe(ACCENT_HEX);
    expect(m.bots).toHaveLength(1);
    expect([...m.bots[0]!.scopes].sort()).toEqual(['groupChat', 'personal', 'team']);
  });

  it('declares exactly the commands the bot handles, one command list per scope', () => {
    const lists = readManifest().bots[0]!.commandLists!;
    expect(lists.map((l) => l.scopes)).toEqual([['personal'], ['team'], ['groupChat']]);
    // Sub-commands (`request show`, `request cancel`) live under their first word in the menu.
    const handled = [...new Set(ALL_COMMANDS.map((c) => c.name.split(' ')[0]!))].sort();
    for (const l of lists) {
      expect(l.commands.map((c) => c.title).sort()).toEqual(handled);
      // Each suggestion shows its usage, so a user picking it from the menu knows what to type.
      for (const c of l.commands) expect(c.description.startsWith(c.title)).toBe(true);
    }
  });

  it('the icons are real PNGs: 192x192 opaque colour, 32x32 white outline on transparency', () => {
    const color = PNG.sync.read(readFileSync(join(teamsDir(), 'color.png')));
    expect([color.width, color.height]).toEqual([192, 192]);
    expect(pngInfo(readFileSync(join(teamsDir(), 'color.png'))).transparent).toBe(false);
    const outline = PNG.sync.read(readFileSync(join(teamsDir(), 'outline.png')));
    expect([outline.width, outline.height]).toEqual([32, 32]);
    let clear = 0;
    let drawn = 0;
    for (let i = 0; i < outline.data.length; i += 4) {
      const a = outline.data[i + 3]!;
      if (a === 0) clear++;
      else {
        drawn++;
        // Teams shows the outline icon tinted: only white may carry colour.
        expect([outline.data[i], outline.data[i + 1], outline.data[i + 2]]).toEqual([255, 255, 255]);
      }
    }
    expect(clear).toBeGreaterThan(32 * 32 * 0.4);
    expect(drawn).toBeGreaterThan(32 * 4);
  });

  it('npm run teams:package writes a zip with exactly the manifest (bot id filled in) and both icons', async () => {
    const out = join(tempDir(), 'vmbot-teams.zip');
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['--out', out], { MicrosoftAppId: APP_ID })).toBe(0);
    } finally {
      log.mockRestore();
    }
    const files = readZip(readFileSync(out));
    expect([...files.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(manifest.bots[0].botId).toBe(APP_ID);
    expect(manifest.id).toBe(readManifest().id);
    expect(pngInfo(files.get('color.png')!)).toMatchObject({ width: 192, height: 192 });
    expect(pngInfo(files.get('outline.png')!)).toMatchObject({ width: 32, height: 32, transparent: true });
  });

  it('refuses to package without the Azure Bot app id, naming MicrosoftAppId', async () => {
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await main(['--out', join(tempDir(), 'x.zip')], {})).toBe(1);
      expect(err.mock.calls.flat().join(' ')).toMatch(/MicrosoftAppId must be the Azure Bot's app id \(a GUID\)/);
      expect(await main(['--out', join(tempDir(), 'x.zip')], { MicrosoftAppId: 'not-a-guid' })).toBe(1);
    } finally {
      err.mockRestore();
    }
  });

  it('a manifest or icon Teams would reject fails the packaging with messages naming the problem', async () => {
    const dir = tempDir();
    cpSync(teamsDir(), dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.name.short = 'A name far too long for the Teams app bar';
    delete m.developer.privacyUrl;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    writeFileSync(join(dir, 'color.png'), PNG.sync.write(new PNG({ width: 96, height: 96 })));
    const out = join(dir, 'out.zip');
    const err = await buildTeamsPackage({ appId: APP_ID, out, dir }).then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/^The Teams app package would be rejected:/);
    expect(err).toMatch(/manifest\.json name\.short: .*<=30 characters/);
    expect(err).toMatch(/manifest\.json developer\.privacyUrl: is missing \(required by the Teams schema\)/);
    expect(err).toMatch(/color icon is 96x96; Teams needs 192x192/);
    expect(existsSync(out)).toBe(false);
  });
});
