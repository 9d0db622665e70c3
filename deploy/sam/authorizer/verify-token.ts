import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The example authorizer's bearer token, issued by your sign-in service:
 *
 *     v1.<base64url(tenant ID)>.<expiry, Unix seconds>.<base64url(HMAC-SHA256(secret, "v1.<base64url(tenant ID)>.<expiry>"))>
 *
 * The tenant ID is inside what is signed, so a client cannot change it
 * without the secret: this is what makes the tenant ID the authorizer puts
 * into its context (and API Gateway into `X-Amz-Tenant-Id`) one the client
 * could not choose.
 */
export const TOKEN_VERSION = 'v1';

/** Lambda's tenant ID rule (1–256 characters of this set); a token for any other ID is refused. */
const TENANT_ID = /^[a-zA-Z0-9._:/=+\-@ ]{1,256}$/;
/** A shorter HMAC key can be guessed; the authorizer refuses to run with one. */
export const MIN_SECRET_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Longest lifetime the authorizer accepts (as the CDK stack's): a leaked token is useful for at most this long. */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

export type TokenVerdict =
  | { readonly ok: true; readonly tenantId: string; readonly expiresAt: number }
  | {
      readonly ok: false;
      readonly reason: 'malformed' | 'bad-signature' | 'expired' | 'lifetime' | 'bad-tenant';
    };

/**
 * The bytes of `text` if it is canonical base64url (what `toString('base64url')`
 * writes: only the 64 letters, no padding, unused bits of the last character
 * zero), else undefined. Node's decoder ignores those low bits, so without
 * this check four spellings of a signature's last character are all accepted.
 */
function canonicalBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function sign(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload, 'utf8').digest();
}

/** A token for `tenantId` valid until `expiresAt` (Unix seconds): what your sign-in service issues. */
export function issueToken(secret: Buffer, tenantId: string, expiresAt: number): string {
  if (!TENANT_ID.test(tenantId)) throw new Error('not a valid Lambda tenant ID');
  const payload = `${TOKEN_VERSION}.${Buffer.from(tenantId, 'utf8').toString('base64url')}.${expiresAt}`;
  return `${payload}.${sign(secret, payload).toString('base64url')}`;
}

/**
 * Verifies `token` (with or without a `Bearer ` prefix) at `nowSeconds`. The
 * signature is checked first, in constant time, so nothing about the payload
 * is trusted before it is known to be ours.
 */
export function verifyToken(secret: Buffer, token: string, nowSeconds: number): TokenVerdict {
  if (secret.length < MIN_SECRET_BYTES)
    throw new Error(`the token secret must be at least ${MIN_SECRET_BYTES} bytes`);
  const raw = token.startsWith('Bearer ') ? token.slice('Bearer '.length) : token;
  const parts = raw.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'malformed' };
  const [version, tenantPart, expiryPart, signaturePart] = parts as [
    string,
    string,
    string,
    string,
  ];
  const tenantBytes = canonicalBase64url(tenantPart);
  const given = canonicalBase64url(signaturePart);
  if (
    version !== TOKEN_VERSION ||
    tenantBytes === undefined ||
    given === undefined ||
    !/^\d{1,12}$/.test(expiryPart)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = sign(secret, `${version}.${tenantPart}.${expiryPart}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad-signature' };
  }
  const expiresAt = Number(expiryPart);
  if (expiresAt <= nowSeconds) return { ok: false, reason: 'expired' };
  if (expiresAt - nowSeconds > MAX_TOKEN_LIFETIME_SECONDS) return { ok: false, reason: 'lifetime' };
  const tenantId = tenantBytes.toString('utf8');
  if (!TENANT_ID.test(tenantId)) return { ok: false, reason: 'bad-tenant' };
  return { ok: true, tenantId, expiresAt };
}
