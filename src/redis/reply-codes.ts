/**
 * The one table of reply codes: the first element of every script's reply
 * (`src/redis/lua/*.lua`, `lambda/stores/lua/*.lua`; each script's header
 * lists the ones it returns, by these names), and the codes of bind's checks,
 * which both directory stores make in TypeScript (a binding chain spans
 * cluster slots, so no one script can see it). The memory store answers with
 * the same codes, so both directory stores fail the same way, and
 * test/unit/lua-reply-codes.test.ts checks that this table and the scripts
 * agree in both directions. No imports: the function library
 * (`lambda/stores/redis-snapshot-store.ts`) reads it on its cold-start path.
 */
export const ReplyCode = {
  /** Done; the rest of the reply is the script's output. */
  OK: 1,
  /** bind (checked by the store, not a script): the target is the key itself. */
  SELF_BINDING: -1,
  /** bind (checked by the store): the binding would close a cycle. */
  CYCLE: -2,
  /** bind (checked by the store): the chain would be deeper than the limit. */
  TOO_DEEP: -3,
  /** Every key script: `{ -4, stored epoch or '' }`; nothing read or written (docs/protocol.md, "Directory epochs"). */
  EPOCH_MISMATCH: -4,
  /** cas-snapshot: `{ -5, current version }`; the stored version is not the expected one, nothing written. */
  CAS_CONFLICT: -5,
} as const;

export type ReplyCode = (typeof ReplyCode)[keyof typeof ReplyCode];

/** The codes a directory operation fails with (CAS_CONFLICT is an answer, not a failure). */
export type DirectoryFailureCode =
  | typeof ReplyCode.SELF_BINDING
  | typeof ReplyCode.CYCLE
  | typeof ReplyCode.TOO_DEEP
  | typeof ReplyCode.EPOCH_MISMATCH;
