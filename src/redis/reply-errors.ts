import { EpochMismatchError } from '../directory/store.js';
import { WarmrouteError } from '../errors.js';
import type { ScriptReply } from './commands.js';
import { ReplyCode, type DirectoryFailureCode } from './reply-codes.js';

/**
 * The one mapping from a failure code (reply-codes.ts) to the error a
 * directory store throws: the Redis store for a script's reply, the memory
 * store for the same situation, so both throw the same typed errors with the
 * same messages. Callers branch on `WarmrouteError.code` (or the class of
 * EpochMismatchError), never on message text.
 *
 * `current` is the namespace's stored epoch ('' when missing), carried by
 * EPOCH_MISMATCH only.
 */
export function storeError(code: DirectoryFailureCode, current = ''): Error {
  switch (code) {
    case ReplyCode.SELF_BINDING:
      return new WarmrouteError('WR_ERR_BINDING_INVALID', ['a key cannot be bound to itself']);
    case ReplyCode.CYCLE:
      return new WarmrouteError('WR_ERR_BINDING_INVALID', ['the binding would create a cycle']);
    case ReplyCode.TOO_DEEP:
      return new WarmrouteError('WR_ERR_BINDING_INVALID', [
        'the binding chain would be deeper than the limit',
      ]);
    case ReplyCode.EPOCH_MISMATCH:
      return new EpochMismatchError(current);
  }
}

function isDirectoryFailureCode(code: number): code is DirectoryFailureCode {
  return (
    code === ReplyCode.SELF_BINDING ||
    code === ReplyCode.CYCLE ||
    code === ReplyCode.TOO_DEEP ||
    code === ReplyCode.EPOCH_MISMATCH
  );
}

/** Return a directory script's reply when its code is OK; throw the mapped error otherwise. */
export function checkScriptReply(script: string, reply: unknown): ScriptReply {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
    throw new WarmrouteError('WR_ERR_INTERNAL', [], {
      cause: new Error(`${script}: malformed reply`),
    });
  }
  const code = reply[0];
  if (code === ReplyCode.OK) return reply as ScriptReply;
  if (!isDirectoryFailureCode(code)) {
    throw new WarmrouteError('WR_ERR_INTERNAL', [], {
      cause: new Error(`${script}: unknown return code ${code}`),
    });
  }
  const current: unknown = reply[1];
  throw storeError(code, typeof current === 'string' ? current : '');
}

/** An integer element of a script reply (Lua integers arrive as numbers). */
export function replyInt(reply: ScriptReply, index: number): number {
  const value = reply[index];
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return 0;
}

/** A nested table element of a script reply. */
export function replyList(reply: ScriptReply, index: number): ScriptReply {
  const value = reply[index];
  return Array.isArray(value) ? value : [];
}

/**
 * Error prefixes of replies that describe the server's condition, not the
 * command: the server or cluster cannot serve now (down, loading, busy,
 * failing over, slots moving), or this client may not use it (auth, ACL).
 * The store reports these as WR_ERR_STORE_UNAVAILABLE, and the directory
 * falls back as for a connection that is down.
 */
const UNAVAILABLE_REPLY_PREFIXES = [
  'ASK',
  'BUSY',
  'CLUSTERDOWN',
  'LOADING',
  'MASTERDOWN',
  'MISCONF',
  'MOVED',
  'NOAUTH',
  'NOPERM',
  'NOREPLICAS',
  'NOSCRIPT',
  'OOM',
  'READONLY',
  'TRYAGAIN',
  'UNBLOCKED',
  'WRONGPASS',
  'ERR max number of clients',
] as const;

/**
 * Whether `err` is an error reply the server gave to the command itself (a
 * script's `redis.call` failing on what it found, e.g. `ERR hash value is not
 * an integer` or `WRONGTYPE` from a record corrupted outside warmroute), as
 * opposed to a connection failure, a timeout or one of the server conditions
 * above. Such a reply repeats on every retry, and the store is up: the
 * caller reports WR_ERR_INTERNAL and must not treat Redis as down.
 */
export function isCommandErrorReply(err: unknown): boolean {
  // ioredis replies with redis-errors' ReplyError (name 'ReplyError'); a
  // timeout, a closed connection or MaxRetriesPerRequestError are other names.
  if (!(err instanceof Error) || err.name !== 'ReplyError') return false;
  const message = err.message;
  return !UNAVAILABLE_REPLY_PREFIXES.some(
    (prefix) => message === prefix || message.startsWith(`${prefix} `),
  );
}
