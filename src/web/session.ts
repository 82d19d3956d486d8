import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed cookies for the web view: `<base64url JSON>.<base64url HMAC-SHA256>`. The key is made
 * per process (a restart signs everyone out, which is the safe side), so nothing secret is
 * stored anywhere. Any change to a cookie (a byte of the payload, a forged signature, an expired
 * time) makes it worthless: verify() returns null and the caller treats the visitor as unknown.
 */
export class CookieSigner {
  private readonly key: Buffer;
  constructor(key: Buffer = randomBytes(32)) {
    this.key = key;
  }

  sign(value: object): string {
    const body = Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The payload, if the signature holds and `exp` (ms since epoch) has not passed. */
  verify<T extends { exp: number }>(cookie: string | undefined, now = Date.now()): T | null {
    if (!cookie) return null;
    const dot = cookie.indexOf('.');
    if (dot < 1) return null;
    const body = cookie.slice(0, dot);
    const given = Buffer.from(cookie.slice(dot + 1), 'base64url');
    const want = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    let v: T;
    try {
      v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return null;
    }
    return typeof v?.exp === 'number' && v.exp > now ? v : null;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

export interface CookieOptions {
  maxAgeSec: number;
  secure: boolean;
  path: string;
}

/**
 * Set-Cookie value: HttpOnly (no script reads it), SameSite=Lax (sent on the IdP's redirect
 * back, never on a cross-site POST), Secure whenever the public URL is https, Max-Age so it
 * expires in the browser too.
 */
export function setCookie(name: string, value: string, o: CookieOptions): string {
  return [`${name}=${value}`, `Path=${o.path}`, `Max-Age=${o.maxAgeSec}`, 'HttpOnly', 'SameSite=Lax', ...(o.secure ? ['Secure'] : [])].join('; ');
}

export const clearCookie = (name: string, o: Omit<CookieOptions, 'maxAgeSec'>) => setCookie(name, '', { ...o, maxAgeSec: 0 });

/** Cookies of a request header, by name (first wins). */
export function readCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const k = part.slice(0, eq).trim();
    if (!out.has(k)) out.set(k, part.slice(eq + 1).trim());
  }
  return out;
}

export const randomToken = () => randomBytes(24).toString('base64url');

/** Constant-time comparison of two tokens. */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
