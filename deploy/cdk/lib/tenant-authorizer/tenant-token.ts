import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The example authorizer's tokens: `v1.<tenant ID, base64url>.<expiry, Unix
 * seconds>.<HMAC-SHA256 over the first three parts, base64url>`, signed with
 * a secret only the token issuer (you) and the authorizer hold. A token
 * proves that its holder was given that tenant by the issuer, until it
 * expires; it cannot be revoked before then other than by rolling the secret
 * (which revokes every token). An example, not an identity provider: for real
 * users, put a JWT/OIDC authorizer (Cognito, your IdP) here and map its
 * tenant claim instead.
 */
const VERSION = 'v1';

/** Minimum secret length (bytes of UTF-8): an HMAC key shorter than this is guessable. */
export const MIN_SECRET_LENGTH = 32;

/**
 * Tenant IDs this example issues: a conservative subset of what Lambda
 * accepts (1–256 of `[a-zA-Z0-9._:/=+-@ ]`), so an ID never needs escaping
 * in a header or a log line.
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** Longest lifetime the authorizer accepts: a leaked token is useful for at most this long. */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * The bytes of `text` if it is canonical base64url (what `toString('base64url')`
 * writes: no padding, only the 64 letters, unused bits of the last character
 * zero), else undefined. Node's decoder is lenient: it skips characters
 * outside the alphabet ('~', '=') and ignores the low bits of the last
 * character, so several spellings decode to the same bytes; a token has one.
 */
function canonicalBase64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

/** Throws unless `secret` is at least MIN_SECRET_LENGTH bytes. */
export function checkSecret(secret: string): void {
  if (Buffer.byteLength(secret) < MIN_SECRET_LENGTH) {
    throw new Error(`the token secret must be at least ${MIN_SECRET_LENGTH} bytes`);
  }
}

/** A token for `tenantId`, valid until `expiresAt` (Unix seconds). */
export function signTenantToken(secret: string, tenantId: string, expiresAt: number): string {
  checkSecret(secret);
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new Error(`tenant ID not allowed: ${tenantId}`);
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) throw new Error('bad expiry');
  const payload = `${VERSION}.${Buffer.from(tenantId).toString('base64url')}.${String(expiresAt)}`;
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** Why a token was refused (never shown to the client: API Gateway answers 401 for all). */
export type TokenRefusal = 'malformed' | 'bad-signature' | 'expired' | 'lifetime' | 'tenant';

/**
 * The tenant a token grants at `now` (Unix seconds), or why it grants none.
 * The signature is checked before anything in the token is believed, in
 * constant time.
 */
export function verifyTenantToken(
  secret: string,
  token: string,
  now: number,
): { readonly tenantId: string } | { readonly refused: TokenRefusal } {
  checkSecret(secret);
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return { refused: 'malformed' };
  const [version, tenant, expiry, signature] = parts as [string, string, string, string];
  const tenantBytes = canonicalBase64url(tenant);
  const given = canonicalBase64url(signature);
  if (tenantBytes === undefined || given === undefined) return { refused: 'malformed' };
  const expected = mac(secret, `${version}.${tenant}.${expiry}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { refused: 'bad-signature' };
  }
  if (!/^[1-9][0-9]{0,15}$/.test(expiry)) return { refused: 'malformed' };
  const expiresAt = Number(expiry);
  if (expiresAt <= now) return { refused: 'expired' };
  if (expiresAt - now > MAX_TOKEN_LIFETIME_SECONDS) return { refused: 'lifetime' };
  const tenantId = tenantBytes.toString('utf8');
  if (!TENANT_ID_PATTERN.test(tenantId)) return { refused: 'tenant' };
  return { tenantId };
}
