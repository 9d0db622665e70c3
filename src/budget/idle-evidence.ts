import { LRUCache } from 'lru-cache';
import type { IdleLifetime } from './idle-lifetime.js';

/**
 * Turns answered invocations into idle-lifetime evidence (src/budget/
 * idle-lifetime.ts): for each tenant, the gap since its previous answer and
 * whether the same environment served it warm. Remembers the last answer of
 * at most `max` tenants (least recently answered forgotten first), so memory
 * stays bounded however many keys pass; a forgotten tenant's next answer
 * only gives no evidence.
 */

/** One observation, reused: `observe` reads it and keeps nothing. */
interface Observation {
  gapMs: number;
  reusedEnvironment: boolean;
}

interface LastAnswer {
  endedAt: number;
  envId: string;
}

export class IdleEvidence {
  private readonly last: LRUCache<string, LastAnswer>;
  private readonly observation: Observation = { gapMs: 0, reusedEnvironment: false };

  constructor(
    private readonly lifetime: IdleLifetime,
    max: number,
  ) {
    this.last = new LRUCache<string, LastAnswer>({ max });
  }

  /**
   * `tenant`'s environment `envId` answered a call that reached it at
   * `startedAt` and ended at `endedAt` (ms, one clock), warm when `hit`.
   * Without an environment id (a function not on the library) there is no
   * telling which environment served it: no evidence.
   */
  answered(
    tenant: string,
    envId: string | undefined,
    hit: boolean,
    startedAt: number,
    endedAt: number,
  ): void {
    if (envId === undefined || envId === '') return;
    const previous = this.last.get(tenant);
    if (previous === undefined) {
      this.last.set(tenant, { endedAt, envId });
      return;
    }
    // A negative gap (calls overlapped: several environments) is ignored by observe.
    this.observation.gapMs = startedAt - previous.endedAt;
    this.observation.reusedEnvironment = hit && envId === previous.envId;
    this.lifetime.observe(this.observation);
    // Updated in place: a warm key's answers allocate nothing here.
    if (endedAt > previous.endedAt) previous.endedAt = endedAt;
    previous.envId = envId;
  }

  /** Tenants remembered (for tests and the bound). */
  get size(): number {
    return this.last.size;
  }
}
