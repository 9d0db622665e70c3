import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { noDeadline, scheduleRetry } from '../src/retry/schedule-retry.js';
import { sleep } from '../src/retry/sleep.js';
import {
  checkpointDue,
  validateCheckpointPolicy,
  type CheckpointPolicy,
} from './checkpoint-policy.js';
import { dirFingerprint, packDir, unpackDir } from './dir-archive.js';
import { WarmStateError, isWarmStateError } from './errors.js';
import { KeyCache } from './key-cache.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  ENVELOPE_REPORT_FIELD,
  ENVELOPE_RESULT_FIELD,
  PROTOCOL_VERSION,
  affinityKeyOf,
  isKeepWarm,
  keepWarmWraps,
  readWarmRequest,
  type WarmRequest,
  type MissReason,
  type WarmEnvelope,
  type WarmReport,
  type WarmState,
} from './protocol.js';
import { jsonSerializer } from './serializer.js';
import {
  DIRECT_NAMESPACE,
  LEGACY_NAMESPACE,
  snapshotId,
  type SnapshotScope,
} from './snapshot-scope.js';
import { defaultSnapshotStore } from './stores/default-store.js';
import type { SnapshotStore } from './stores/base-snapshot-store.js';
import type { WarmContext, WarmHandler, WarmStateApi, WarmStateOptions } from './types.js';

/** A key's state as this environment holds it. */
interface KeyEntry<T> {
  /** Whose state this is (function, namespace, epoch, generation, key). */
  readonly scope: SnapshotScope;
  value: T;
  /** Version of the snapshot this state descends from (0 = none yet). */
  version: number;
  dir: string;
  invocationsSince: number;
  lastCheckpointAt: number;
  /** Directory archive of the last checkpoint and the fingerprint it was made at (reused when unchanged). */
  archive: { fingerprint: string; bytes: Buffer } | undefined;
  /** A checkpoint of this entry lost the version race: results computed from it must not be returned. */
  conflicted: boolean;
  busy: number;
}

export type WrappedHandler<TEvent, TResult, TContext> = (
  event: TEvent,
  context: TContext,
) => Promise<TResult | WarmEnvelope<TResult>>;

export interface WarmEnvironment {
  /** Random id made when the environment initialised; reported as `env`. */
  readonly id: string;
  withWarmState<TEvent, TResult, TState, TContext extends WarmContext = WarmContext>(
    handler: WarmHandler<TEvent, TResult, TState, TContext>,
    options: WarmStateOptions<TState, TEvent, TContext>,
  ): WrappedHandler<TEvent, TResult, TContext>;
}

export interface WarmEnvironmentOptions {
  readonly id?: string;
  /**
   * The function this environment runs: part of every snapshot scope.
   * Default `AWS_LAMBDA_FUNCTION_NAME`, else `context.functionName`. Never
   * taken from a request, so no key can reach another function's state.
   */
  readonly functionName?: string;
  /** Root of the per-key directories. Default `os.tmpdir()` (on Lambda and the local host: the environment's own). */
  readonly tmpDir?: string;
}

const DEFAULT_MAX_KEYS = 64;
const DEFAULT_CONFLICT_RETRIES = 10;
const DEFAULT_CONFLICT_BACKOFF = { baseMs: 2, maxMs: 50 };

function defaultKey(context: WarmContext | undefined): string {
  const tenantId = context?.tenantId;
  return typeof tenantId === 'string' && tenantId.length > 0 ? `tenant:${tenantId}` : 'default';
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * One execution environment's warm state. A Lambda process has exactly one
 * (`withWarmState` uses a module-level instance); tests create several in one
 * process to stand for several environments sharing a snapshot store.
 */
export function createWarmEnvironment(envOptions: WarmEnvironmentOptions = {}): WarmEnvironment {
  const id = envOptions.id ?? randomBytes(8).toString('hex');
  let handlers = 0;
  /** Set once the environment has served its first invocation (the report's `coldStart`). */
  let served = false;

  function withWarmState<TEvent, TResult, TState, TContext extends WarmContext = WarmContext>(
    handler: WarmHandler<TEvent, TResult, TState, TContext>,
    options: WarmStateOptions<TState, TEvent, TContext>,
  ): WrappedHandler<TEvent, TResult, TContext> {
    const policy: CheckpointPolicy = options.checkpoint ?? 'every';
    validateCheckpointPolicy(policy);
    const maxKeys = options.maxKeysInMemory ?? DEFAULT_MAX_KEYS;
    const maxRetries = options.maxConflictRetries ?? DEFAULT_CONFLICT_RETRIES;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [`maxKeysInMemory ${String(maxKeys)}`]);
    }
    if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) {
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
        `maxConflictRetries ${String(maxRetries)}`,
      ]);
    }
    if (options.maxSnapshotBytes !== undefined && !(options.maxSnapshotBytes > 0)) {
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
        `maxSnapshotBytes ${String(options.maxSnapshotBytes)}`,
      ]);
    }
    const serializer = options.serializer ?? jsonSerializer<TState>();
    const verify = options.verify ?? 'store';
    const snapshotDir = options.snapshotDir ?? true;
    const now = options.now ?? Date.now;
    const cache = new KeyCache<KeyEntry<TState>>(maxKeys);
    const locks = new KeyedMutex();
    const handlerIndex = handlers++;
    let generation = 0;
    let root: string | undefined;
    let resolvedStore: SnapshotStore | undefined;

    const store = (): SnapshotStore => (resolvedStore ??= options.store ?? defaultSnapshotStore());
    const functionNameOf = (context: WarmContext | undefined): string =>
      nonEmpty(envOptions.functionName) ??
      nonEmpty(process.env['AWS_LAMBDA_FUNCTION_NAME']) ??
      nonEmpty(context?.functionName) ??
      '';
    /**
     * The snapshot scope of an invocation: the gateway's scope when it sent
     * one; a key of its own namespace for a request without scope (an older
     * gateway) and for a direct Invoke, so neither can meet the other's or a
     * scoped key's state.
     */
    const scopeOf = (
      request: WarmRequest | undefined,
      event: TEvent,
      context: TContext,
    ): SnapshotScope => {
      const functionName = functionNameOf(context);
      if (request?.scope !== undefined) {
        const { ns, epoch, gen } = request.scope;
        // readWarmRequest only keeps a scope whose key carries the matching suffix.
        const key = affinityKeyOf(request.key, request.scope) ?? request.key;
        return { functionName, namespace: ns, epoch, generation: gen, key };
      }
      if (request !== undefined) {
        return {
          functionName,
          namespace: LEGACY_NAMESPACE,
          epoch: '',
          generation: 0,
          key: request.key,
        };
      }
      // An empty key names nothing (stores refuse it): the default key stands in.
      const key = nonEmpty(options.keyFromEvent?.(event, context)) ?? defaultKey(context);
      return { functionName, namespace: DIRECT_NAMESPACE, epoch: '', generation: 0, key };
    };
    const limit = (): number =>
      Math.min(options.maxSnapshotBytes ?? Infinity, store().maxSnapshotBytes);

    // Computed on first use: the temp dir is the environment's, known once it runs.
    // Named by the scope's snapshot id (hex), so no key text reaches the file system.
    const newDir = (cacheId: string): string => {
      root ??= join(envOptions.tmpDir ?? tmpdir(), `warmroute-${id}`, String(handlerIndex));
      return join(root, `${cacheId.slice(0, 32)}.${generation++}`);
    };

    /** Load the latest snapshot (or the initial state) into a fresh entry and directory. */
    const load = async (
      scope: SnapshotScope,
      cacheId: string,
    ): Promise<{ entry: KeyEntry<TState>; found: boolean; ms: number }> => {
      const key = scope.key;
      const started = performance.now();
      const snapshot = await store().read(scope);
      const dir = newDir(cacheId);
      const entry: KeyEntry<TState> = {
        scope,
        value:
          snapshot === undefined ? options.initialState() : serializer.deserialize(snapshot.state),
        version: snapshot?.version ?? 0,
        dir,
        invocationsSince: 0,
        lastCheckpointAt: now(),
        archive: undefined,
        conflicted: false,
        busy: 0,
      };
      await unpackDir(key, dir, snapshot?.dir ?? Buffer.alloc(0));
      if (snapshot !== undefined && snapshot.dir.length > 0) {
        entry.archive = { fingerprint: await dirFingerprint(dir), bytes: snapshot.dir };
      }
      return { entry, found: snapshot !== undefined, ms: performance.now() - started };
    };

    /** Compare-and-set the entry's state and directory; on a lost race mark it conflicted. */
    const checkpoint = async (entry: KeyEntry<TState>): Promise<void> => {
      const key = entry.scope.key;
      const max = limit();
      const state = serializer.serialize(entry.value);
      if (state.length > max)
        throw new WarmStateError('WR_ERR_SNAPSHOT_TOO_LARGE', [key, state.length, max]);
      let dir: Buffer = Buffer.alloc(0);
      if (snapshotDir) {
        const fingerprint = await dirFingerprint(entry.dir);
        if (entry.archive?.fingerprint === fingerprint) {
          dir = entry.archive.bytes;
        } else {
          dir = await packDir(key, entry.dir, max - state.length);
          entry.archive = { fingerprint, bytes: dir };
        }
      }
      if (options.maxSnapshotBytes !== undefined && state.length + dir.length > max) {
        throw new WarmStateError('WR_ERR_SNAPSHOT_TOO_LARGE', [
          key,
          state.length + dir.length,
          max,
        ]);
      }
      const result = await store().write(entry.scope, entry.version, { state, dir });
      if (result.ok) {
        entry.version = result.version;
        entry.invocationsSince = 0;
        entry.lastCheckpointAt = now();
      } else {
        entry.conflicted = true;
      }
    };

    const discard = async (entry: KeyEntry<TState>): Promise<void> => {
      await rm(entry.dir, { recursive: true, force: true });
    };

    /** Release LRU entries: write what was not yet checkpointed (best effort), free the directory. */
    const release = async (evicted: { key: string; entry: KeyEntry<TState> }[]): Promise<void> => {
      for (const { entry } of evicted) {
        if (entry.invocationsSince > 0 && !entry.conflicted) {
          // A lost race or a failing store only loses changes the policy allowed to be lost.
          await checkpoint(entry).catch(() => undefined);
        }
        await discard(entry);
      }
    };

    const stateApi = (entry: KeyEntry<TState>): WarmStateApi<TState> => ({
      key: entry.scope.key,
      scope: entry.scope,
      get: () => entry.value,
      set: (value: TState) => {
        entry.value = value;
      },
      dir: entry.dir,
      get version() {
        return entry.version;
      },
      checkpoint: async () => {
        if (!entry.conflicted) await checkpoint(entry);
        if (entry.conflicted)
          throw new WarmStateError('WR_ERR_CHECKPOINT_CONFLICT', [entry.scope.key, entry.version]);
      },
    });

    return async (event: TEvent, context: TContext): Promise<TResult | WarmEnvelope<TResult>> => {
      const clientContext = (context as WarmContext | undefined)?.clientContext;
      // Before any key is named or locked: a ping must not wait behind a key's
      // invocation, nor reorder the key cache or run keyFromEvent.
      if (isKeepWarm(clientContext)) return keepWarmAnswer<TResult>(clientContext);
      const request = readWarmRequest(clientContext);
      const scope = scopeOf(request, event, context);
      const key = scope.key;
      // Memory, locks and the /tmp directory are per scope, like the snapshots.
      const cacheId = snapshotId(scope);

      return locks.run(cacheId, async () => {
        let state: WarmState = 'hit';
        let reason: MissReason | undefined;
        let rehydrateMs = 0;
        let conflicts = 0;
        const coldStart = !served;
        served = true;

        let entry = cache.get(cacheId);
        if (entry !== undefined) {
          let required = request?.stateVersion ?? 0;
          if (verify === 'store') required = Math.max(required, await store().readVersion(scope));
          if (entry.version < required) {
            reason = 'stale';
            cache.delete(cacheId);
            await discard(entry);
            entry = undefined;
          }
        } else {
          reason = cache.wasReleased(cacheId) ? 'released' : 'first-use';
        }
        if (entry === undefined) {
          const loaded = await load(scope, cacheId);
          entry = loaded.entry;
          rehydrateMs += loaded.ms;
          state = loaded.found ? 'rehydrated' : 'fresh';
          if (!loaded.found) reason = undefined;
          await release(cache.set(cacheId, entry));
        }

        for (let attempt = 1; ; attempt++) {
          const current: KeyEntry<TState> = entry;
          current.busy++;
          current.invocationsSince++;
          let result: TResult;
          try {
            try {
              result = await handler(event, context, stateApi(current));
            } catch (err) {
              // A handler that let our conflict error through is re-run below like any lost race.
              if (!(current.conflicted && isWarmStateError(err, 'WR_ERR_CHECKPOINT_CONFLICT')))
                throw err;
              result = undefined as TResult;
            }
            if (
              !current.conflicted &&
              checkpointDue(
                policy,
                { invocationsSince: current.invocationsSince, lastAt: current.lastCheckpointAt },
                now(),
              )
            )
              await checkpoint(current);
          } catch (err) {
            // A failed invocation never leaves half-applied state behind: the next call reloads.
            cache.delete(cacheId);
            await discard(current);
            throw err;
          } finally {
            current.busy--;
          }

          if (!current.conflicted) {
            const report: WarmReport = {
              v: PROTOCOL_VERSION,
              env: id,
              state,
              ...(reason === undefined ? {} : { reason }),
              stateVersion: current.version,
              rehydrateMs: roundMs(rehydrateMs),
              ...(conflicts === 0 ? {} : { conflicts }),
              coldStart,
            };
            options.onReport?.(report, key);
            if (request?.wrap !== true) return result;
            return { [ENVELOPE_REPORT_FIELD]: report, [ENVELOPE_RESULT_FIELD]: result };
          }

          // Lost the race: the result was computed from state another environment
          // had already superseded. Throw it away, load the winner and run again.
          conflicts++;
          cache.delete(cacheId);
          await discard(current);
          // Full jitter: an environment that keeps answering its own stream of
          // requests would otherwise win every race against one that reloads.
          const { baseMs, maxMs } = options.conflictBackoff ?? DEFAULT_CONFLICT_BACKOFF;
          const decision = scheduleRetry(
            {
              maxAttempts: maxRetries + 1,
              baseDelayMs: baseMs,
              maxDelayMs: maxMs,
              jitter: 'full',
              honourRetryAfter: false,
            },
            { attempt, random: Math.random, ...noDeadline },
          );
          if (!decision.retry)
            throw new WarmStateError('WR_ERR_SNAPSHOT_CONFLICT', [key, conflicts]);
          if (decision.delayMs > 0) await sleep(decision.delayMs);
          const loaded = await load(scope, cacheId);
          entry = loaded.entry;
          rehydrateMs += loaded.ms;
          state = loaded.found ? 'rehydrated' : 'fresh';
          reason = loaded.found ? 'conflict' : undefined;
          await release(cache.set(cacheId, entry));
        }
      });
    };
  }

  /**
   * The answer to a keep-warm ping (lambda/protocol.ts): the environment's
   * id and whether it was already warm, nothing read or written. Not passed
   * to `onReport`: that callback is about a key's state, and a ping has no key.
   */
  function keepWarmAnswer<TResult>(clientContext: unknown): WarmEnvelope<TResult> | TResult {
    const coldStart = !served;
    served = true;
    const report: WarmReport = {
      v: PROTOCOL_VERSION,
      env: id,
      state: coldStart ? 'fresh' : 'hit',
      stateVersion: 0,
      rehydrateMs: 0,
      coldStart,
      keepWarm: true,
    };
    // No handler ran, so there is no result: null, which JSON can carry.
    const result = null as TResult;
    if (!keepWarmWraps(clientContext)) return result;
    return { [ENVELOPE_REPORT_FIELD]: report, [ENVELOPE_RESULT_FIELD]: result };
  }

  return { id, withWarmState };
}
