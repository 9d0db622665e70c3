const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Spellings of `token` (`version.tenant.expiry.signature`, as both example
 * authorizers, SAM's and CDK's, write it) that Node's lenient base64url decoder
 * reads as the same bytes: the three other last characters of the signature
 * that differ only in its 2 unused bits (a 32-byte HMAC is 43 characters, 258
 * bits), "~" inserted in the signature and in the tenant, and "=" padding.
 */
export function nonCanonicalSpellings(token: string): string[] {
  const [version, tenant, expiry, signature] = token.split('.') as [string, string, string, string];
  const last = BASE64URL_ALPHABET.indexOf(signature.slice(-1));
  const siblings = [0, 1, 2, 3]
    .map((bits) => BASE64URL_ALPHABET[(last & ~3) + bits] ?? '')
    .filter((c) => c !== signature.slice(-1));
  return [
    ...siblings.map((c) => `${version}.${tenant}.${expiry}.${signature.slice(0, -1)}${c}`),
    `${version}.${tenant}.${expiry}.${signature.slice(0, 10)}~${signature.slice(10)}`,
    `${version}.${tenant.slice(0, 2)}~${tenant.slice(2)}.${expiry}.${signature}`,
    `${version}.${tenant}.${expiry}.${signature}=`,
  ];
}
