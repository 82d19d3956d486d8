import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { ZipFile } from 'yazl';
import { z } from 'zod';
import { packageRoot } from '../../core/config';
import { drawColorIcon, drawOutlineIcon } from './icons';

/**
 * The Teams app package: teams/manifest.json with the bot's app id filled in, and the two
 * icons, zipped flat (Teams rejects a package with a folder inside). Checked before zipping,
 * so a broken manifest fails here with a message instead of in the Teams admin centre.
 */

const GUID = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');
const HttpsUrl = z.string().regex(/^https:\/\/\S+$/, 'must be an https:// URL');
const Scope = z.enum(['team', 'personal', 'groupChat']);

/** The fields the Teams manifest schema requires, with its length limits (what we use of it). */
export const TeamsManifestSchema = z.looseObject({
  $schema: z.string().regex(/\/teams\/v1\.\d+\/MicrosoftTeams\.schema\.json$/),
  manifestVersion: z.string().regex(/^1\.\d+$/),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be semver (1.2.3)'),
  id: GUID,
  developer: z.looseObject({ name: z.string().min(1).max(32), websiteUrl: HttpsUrl, privacyUrl: HttpsUrl, termsOfUseUrl: HttpsUrl }),
  name: z.looseObject({ short: z.string().min(1).max(30), full: z.string().max(100).optional() }),
  description: z.looseObject({ short: z.string().min(1).max(80), full: z.string().min(1).max(4000) }),
  icons: z.strictObject({ outline: z.string().min(1), color: z.string().min(1) }),
  accentColor: z.string().regex(/^#[0-9A-Fa-f]{6}$/),
  bots: z
    .array(
      z.looseObject({
        botId: GUID,
        scopes: z.array(Scope).min(1).max(3),
        commandLists: z
          .array(
            z.strictObject({
              scopes: z.array(Scope).min(1),
              commands: z.array(z.strictObject({ title: z.string().min(1).max(32), description: z.string().min(1).max(128) })).min(1).max(12),
            }),
          )
          .max(3)
          .optional(),
      }),
    )
    .length(1),
});
export type TeamsManifest = z.infer<typeof TeamsManifestSchema>;

export const ICON_SIZES = { color: 192, outline: 32 } as const;

export const teamsDir = () => join(packageRoot(), 'teams');

export function readManifest(dir = teamsDir()): TeamsManifest {
  return TeamsManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
}

/** Width, height and whether any pixel is (partly) transparent. */
export function pngInfo(buf: Buffer): { width: number; height: number; transparent: boolean } {
  const png = PNG.sync.read(buf);
  let transparent = false;
  for (let i = 3; i < png.data.length && !transparent; i += 4) transparent = png.data[i]! < 255;
  return { width: png.width, height: png.height, transparent };
}

/** Problems that would make Teams reject the package, as messages; empty when it is fine. */
export function checkPackageInputs(manifest: unknown, icons: { color: Buffer; outline: Buffer }): string[] {
  const problems: string[] = [];
  const m = TeamsManifestSchema.safeParse(manifest);
  if (!m.success) problems.push(...m.error.issues.map((i) => `manifest.json ${i.path.join('.') || '(root)'}: ${/received undefined/.test(i.message) ? 'is missing (required by the Teams schema)' : i.message}`));
  for (const kind of ['color', 'outline'] as const) {
    const want = ICON_SIZES[kind];
    try {
      const info = pngInfo(icons[kind]);
      if (info.width !== want || info.height !== want) problems.push(`${kind} icon is ${info.width}x${info.height}; Teams needs ${want}x${want}`);
      if (kind === 'outline' && !info.transparent) problems.push('outline icon has no transparency; Teams needs a white glyph on a transparent background');
    } catch (e) {
      problems.push(`${kind} icon is not a readable PNG: ${e instanceof Error ? e.message : e}`);
    }
  }
  return problems;
}

export interface PackageOptions {
  /** The Azure Bot's Microsoft App ID (a GUID): becomes bots[0].botId. */
  appId: string;
  out: string;
  dir?: string;
}

/** Write the zip; resolves with the manifest that went into it. */
export async function buildTeamsPackage(opts: PackageOptions): Promise<TeamsManifest> {
  const dir = opts.dir ?? teamsDir();
  if (!GUID.safeParse(opts.appId).success)
    throw new Error(`MicrosoftAppId must be the Azure Bot's app id (a GUID), got ${opts.appId ? `"${opts.appId}"` : 'nothing'}`);
  const raw = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as TeamsManifest;
  const manifest: TeamsManifest = { ...raw, bots: raw.bots.map((b) => ({ ...b, botId: opts.appId })) };
  const icons = { color: readFileSync(join(dir, raw.icons.color)), outline: readFileSync(join(dir, raw.icons.outline)) };
  const problems = checkPackageInputs(manifest, icons);
  if (problems.length) throw new Error(`The Teams app package would be rejected:\n  ${problems.join('\n  ')}`);
  mkdirSync(dirname(resolve(opts.out)), { recursive: true });
  const zip = new ZipFile();
  // A fixed time: the same inputs give the same bytes.
  const mtime = new Date('2026-01-01T00:00:00Z');
  zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'manifest.json', { mtime });
  zip.addBuffer(icons.color, manifest.icons.color, { mtime });
  zip.addBuffer(icons.outline, manifest.icons.outline, { mtime });
  zip.end();
  await new Promise<void>((res, rej) => {
    const ws = createWriteStream(opts.out);
    zip.outputStream.on('error', rej).pipe(ws).on('error', rej).on('close', () => res());
  });
  return manifest;
}

/** Regenerate teams/color.png and teams/outline.png from icons.ts. */
export function writeIcons(dir = teamsDir()): void {
  writeFileSync(join(dir, 'color.png'), drawColorIcon(ICON_SIZES.color));
  writeFileSync(join(dir, 'outline.png'), drawOutlineIcon(ICON_SIZES.outline));
}

/** `npm run teams:package [-- --out file]` and `npm run teams:icons`. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === 'icons') {
    writeIcons();
    console.log(`wrote ${join(teamsDir(), 'color.png')} and outline.png`);
    return 0;
  }
  const outAt = argv.indexOf('--out');
  const out = resolve(outAt >= 0 && argv[outAt + 1] ? argv[outAt + 1]! : join(packageRoot(), 'dist', 'vmbot-teams.zip'));
  try {
    const m = await buildTeamsPackage({ appId: env.MicrosoftAppId ?? '', out });
    console.log(`wrote ${out} (manifest ${m.manifestVersion}, app ${m.id}, bot ${m.bots[0]!.botId}). Upload it in Teams: Apps > Manage your apps > Upload an app.`);
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
