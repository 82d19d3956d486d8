import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { makeDirs } from '../core/dirs';
import { VmbotError } from '../core/errors';

export const PRIVATE_KEY_FILE = 'vmbot-audit.key';
export const PUBLIC_KEY_FILE = 'vmbot-audit.pub';

/** A short, stable name for a public key: the first 16 hex digits of SHA-256 over its SPKI DER. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

function writeNew(file: string, text: string, mode: number): void {
  // 'wx': never overwrite a key; a lost private key only means new checkpoints need a new public key.
  const fd = openSync(file, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `vmbot audit keygen --out <dir>`: a new Ed25519 pair, private key readable by the owner only. */
export function generateAuditKeys(outDir: string): { keyFile: string; pubFile: string; keyId: string } {
  const keyFile = join(outDir, PRIVATE_KEY_FILE);
  const pubFile = join(outDir, PUBLIC_KEY_FILE);
  for (const f of [keyFile, pubFile])
    if (existsSync(f)) throw new VmbotError('usage', `${f} already exists; keygen never overwrites a key (move it away first, or choose another --out).`);
  makeDirs(outDir, 0o700);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeNew(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeNew(pubFile, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  return { keyFile, pubFile, keyId: keyIdOf(publicKey) };
}

const inside = (dir: string, file: string) => {
  const rel = relative(resolve(dir), resolve(file));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/**
 * The signing key from VMBOT_AUDIT_KEY_FILE. Refused inside the data directory (whoever can
 * rewrite the log could then re-sign it too) and when others may read it.
 */
export function loadSigningKey(file: string, dataDir: string): { key: KeyObject; keyId: string } {
  if (inside(dataDir, file))
    throw new VmbotError('config', `VMBOT_AUDIT_KEY_FILE (${file}) is inside the data directory ${dataDir}: whoever can rewrite the audit log could then re-sign it. Keep the key elsewhere (e.g. a secret mount).`);
  let text: string;
  try {
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0)
      throw new VmbotError('config', `VMBOT_AUDIT_KEY_FILE (${file}) is readable by others; chmod 600 it.`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof VmbotError) throw e;
    throw new VmbotError('config', `VMBOT_AUDIT_KEY_FILE (${file}) cannot be read: ${(e as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    throw new VmbotError('config', `VMBOT_AUDIT_KEY_FILE (${file}) is not a PEM private key (make one with "vmbot audit keygen --out <dir>").`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new VmbotError('config', `VMBOT_AUDIT_KEY_FILE (${file}) is a ${key.asymmetricKeyType} key; audit checkpoints are signed with Ed25519.`);
  return { key, keyId: keyIdOf(key) };
}

/** Public keys from files and/or directories (every *.pub in them), by key id. */
export function loadPublicKeys(paths: string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const files = paths.flatMap((p) => {
    try {
      return statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.pub')).sort().map((f) => join(p, f)) : [p];
    } catch {
      throw new VmbotError('usage', `--pubkey ${p}: no such file or directory`);
    }
  });
  for (const f of files) {
    let key: KeyObject;
    try {
      key = createPublicKey(readFileSync(f, 'utf8'));
    } catch {
      throw new VmbotError('usage', `--pubkey ${f}: not a PEM public key`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new VmbotError('usage', `--pubkey ${f}: a ${key.asymmetricKeyType} key, not Ed25519`);
    keys.set(keyIdOf(key), key);
  }
  if (!keys.size) throw new VmbotError('usage', `--pubkey ${paths.join(', ')}: no public key found`);
  return keys;
}
