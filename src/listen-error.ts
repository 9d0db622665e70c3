/** The listener a process opens, as an operator knows it: what it is and the setting that moves it. */
export interface ListenerName {
  /** e.g. "the gateway's port". */
  readonly what: string;
  /** e.g. "PORT" or "--port / WARMROUTE_LOCAL_PORT". */
  readonly setting: string;
}

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE:
    'address already in use (another process listens there; stop it or choose another port)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'address not available on this machine',
};

/**
 * The message for a failed `listen()` that names the listener and its
 * setting, or undefined when `err` is not a listen error. Node's own
 * (`listen EADDRINUSE: address already in use 127.0.0.1:9305`) does not say
 * which of a process's listeners it was.
 */
export function listenErrorMessage(err: unknown, listener: ListenerName): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, syscall, address, port } = err as {
    code?: unknown;
    syscall?: unknown;
    address?: unknown;
    port?: unknown;
  };
  if (syscall !== 'listen' || typeof code !== 'string') return undefined;
  const where =
    typeof address === 'string' && typeof port === 'number'
      ? ` ${address.includes(':') ? `[${address}]` : address}:${port}`
      : '';
  return `cannot listen on${where}, ${listener.what} (${listener.setting}): ${REASONS[code] ?? code}`;
}
