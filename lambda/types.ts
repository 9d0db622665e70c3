import type { CheckpointPolicy } from './checkpoint-policy.js';
import type { WarmReport } from './protocol.js';
import type { Serializer } from './serializer.js';
import type { SnapshotScope } from './snapshot-scope.js';
import type { SnapshotStore } from './stores/base-snapshot-store.js';

/** The parts of Lambda's invocation context the library reads. */
export interface WarmContext {
  /** Present during an invocation of a PER_TENANT function. */
  readonly tenantId?: string | undefined;
  /** Lambda's Node runtime: the decoded client context (where the gateway's request travels). */
  readonly clientContext?: unknown;
  /** Lambda's Node runtime: this function's name (part of every snapshot scope). */
  readonly functionName?: string | undefined;
}

/** What a wrapped handler gets for its key. */
export interface WarmStateApi<T> {
  /** The affinity key this state belongs to. */
  readonly key: string;
  /** Everything the state is scoped by: function, namespace, epoch, generation and key. */
  readonly scope: SnapshotScope;
  /** The current state (mutating it in place is fine: it is serialised at checkpoint). */
  get(): T;
  /** Replace the state. */
  set(value: T): void;
  /**
   * The key's private directory under the environment's temp dir. Snapshotted
   * with the state. Read it afresh on every invocation: a rehydration
   * extracts into a new directory.
   */
  readonly dir: string;
  /**
   * Write a snapshot now (compare-and-set). If another environment wrote a
   * newer version first, this rejects with WR_ERR_CHECKPOINT_CONFLICT and the
   * wrapper re-runs the handler on the newer state.
   */
  checkpoint(): Promise<void>;
  /** Version of the state held (the last snapshot written or loaded; 0 = none). */
  readonly version: number;
}

export type WarmHandler<TEvent, TResult, TState, TContext extends WarmContext = WarmContext> = (
  event: TEvent,
  context: TContext,
  state: WarmStateApi<TState>,
) => Promise<TResult> | TResult;

export interface WarmStateOptions<
  TState,
  TEvent = unknown,
  TContext extends WarmContext = WarmContext,
> {
  /** State of a key that has no snapshot yet. */
  readonly initialState: () => TState;
  /** Default: one store per module, Redis when WARMROUTE_SNAPSHOT_REDIS_URL is set, else the file store. */
  readonly store?: SnapshotStore;
  /** Default `'every'`. */
  readonly checkpoint?: CheckpointPolicy;
  /** Keys held in memory at once; the least recently used is released beyond it. Default 64. */
  readonly maxKeysInMemory?: number;
  /** Upper bound on one snapshot in bytes (the store's own limit applies too). */
  readonly maxSnapshotBytes?: number;
  /** Default JSON. */
  readonly serializer?: Serializer<TState>;
  /** Snapshot the key's directory with the state. Default true. */
  readonly snapshotDir?: boolean;
  /**
   * Key for an invocation without the gateway's request (a direct Invoke).
   * Default: `tenant:<context.tenantId>`, or `default` for a function without tenancy.
   */
  readonly keyFromEvent?: (event: TEvent, context: TContext) => string | undefined;
  /**
   * How a copy in memory is proven current before the handler runs:
   * `'store'` (default) also reads the store's version (one small read per
   * invocation); `'gateway'` trusts the version the gateway sent and relies
   * on the compare-and-set at checkpoint to catch the rest.
   */
  readonly verify?: 'store' | 'gateway';
  /** Re-runs of the handler after lost version races before giving up. Default 10. */
  readonly maxConflictRetries?: number;
  /** Random wait before each re-run: up to `min(maxMs, baseMs * 2^attempt)`. Default `{ baseMs: 2, maxMs: 50 }`. */
  readonly conflictBackoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Called with every report (for logs or metrics inside the function). */
  readonly onReport?: (report: WarmReport, key: string) => void;
  /** Injectable clock for the time-based checkpoint policy. */
  readonly now?: () => number;
}
