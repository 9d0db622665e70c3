/**
 * Whether a URL's user name and password are valid percent-encoding: ioredis
 * decodes them when it connects and throws a bare "URIError: URI malformed"
 * (naming nothing) when they are not. No ioredis import here, so config
 * checking and the function library can use it without loading the client.
 */
export function userinfoDecodes(url: URL): boolean {
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    return true;
  } catch {
    return false;
  }
}

/**
 * The password to send with AUTH, or undefined for none: '' is no Redis AUTH
 * token, so it counts as unset (like an empty variable), neither replacing a
 * URL's credentials nor sending AUTH without a password.
 */
export function authPassword(password: string | undefined): string | undefined {
  return password === '' ? undefined : password;
}
