import { EpochMismatchError } from '../directory/store.js';
import { WarmrouteError } from '../errors.js';
import type { ScriptReply } from './commands.js';

/**
 * The one table from Lua return codes (the first element of every script
 * reply, listed in each script's header) to typed errors. Callers branch on
 * `WarmrouteError.code`, never on message text.
 */
export const scriptErrors: Readonly<Record<number, () => WarmrouteError>> = {
  [-1]: () => new WarmrouteError('WR_ERR_BINDING_INVALID', ['a key cannot be bound to itself']),
  [-2]: () => new WarmrouteError('WR_ERR_BINDING_INVALID', ['the binding would create a cycle']),
  [-3]: () =>
    new WarmrouteError('WR_ERR_BINDING_INVALID', [
      'the binding chain would be deeper than the limit',
    ]),
};

/** Every directory script's answer when the caller's epoch is not the namespace's: `{ -4, stored epoch or '' }`. */
export const EPOCH_MISMATCH = -4;

/** Return the reply when its code is 1 (OK); throw the mapped error otherwise. */
export function checkScriptReply(script: string, reply: unknown): ScriptReply {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
    throw new WarmrouteError('WR_ERR_INTERNAL', [], {
      cause: new Error(`${script}: malformed reply`),
    });
  }
  const code = reply[0];
  if (code === 1) return reply as ScriptReply;
  if (code === EPOCH_MISMATCH) {
    const current: unknown = reply[1];
    throw new EpochMismatchError(typeof current === 'string' ? current : '');
  }
  const toError = scriptErrors[code];
  if (toError === undefined) {
    throw new WarmrouteError('WR_ERR_INTERNAL', [], {
      cause: new Error(`${script}: unknown return code ${code}`),
    });
  }
  throw toError();
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
