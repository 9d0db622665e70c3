import { FrequencySketch } from './frequency.js';

/**
 * Per function, which new tenants get an environment of their own (issue 18).
 *
 * Lambda allows a fixed number of tenant environments, active or idle; past
 * it a new tenant is refused with 429. The gateway cannot ask Lambda how
 * many are alive, but it made every invocation, so it estimates: a tenant's
 * environment counts as alive until its last invocation plus the idle
 * lifetime (`idleLifetimeMs`, normally a high quantile of the learned
 * lifetime in src/budget/idle-lifetime.ts, so the estimate errs towards
 * "still alive"). `admit` answers `dedicated` (invoke the key's own tenant)
 * or `spill` (the caller applies the route's policy: queue, pool or reject).
 *
 * Who gets a tenant is TinyLFU admission (Einziger, Friedman, Manes,
 * "TinyLFU: A Highly Efficient Cache Admission Policy", ACM Transactions on
 * Storage 13(4), 2017), adapted to a cache whose entries cannot be evicted on
 * demand: an environment leaves only by going unused for the idle lifetime.
 * - A tenant already alive is always `dedicated`: hot keys keep their tenants.
 * - Below `nearCapRatio × cap` a new tenant is admitted freely.
 * - Between that and the cap, a new tenant is admitted only if its key's
 *   frequency (src/budget/frequency.ts) beats the victim's, so the last free
 *   environments go to keys that will use them, not to one-off keys.
 * - At the cap nothing new is admitted (that would be Lambda's 429). If the
 *   newcomer beats the victim, the victim is demoted: its key spills from now
 *   on, so its environment is no longer kept alive and its place frees after
 *   the idle lifetime, where the newcomer's next request can take it. This is
 *   TinyLFU's eviction step, spread over an idle lifetime; at most
 *   `cap - nearCapRatio × cap` demotions are pending at once, so a burst of
 *   newcomers cannot demote every tenant.
 * - Frequency is counted over the last few idle lifetimes: the sketch is
 *   halved every `frequencyWindow` (default 4) lifetimes of clock time, not
 *   every 10 × capacity increments as in the paper, because the question is
 *   "will this key come back before its environment is reclaimed", and the
 *   number of requests in a lifetime varies with traffic, not with the cap.
 *   Rows are `sketchWidthPerCap` (default 8) counters per unit of cap, since
 *   many more keys than the cap are seen in a window (Caffeine's table is
 *   4 counters per entry and row). On a Zipf(1.0) trace of 20,000 keys,
 *   cap 200 and 10 × cap requests per lifetime (the trace of
 *   test/unit/budget-tenant-budget.test.ts), 0.54 of requests find their own
 *   tenant alive, against 0.49 for first-come-first-served and 0.56 for the
 *   request share of the 200 hottest keys; 1 and 4 counters per cap gave
 *   0.50 and 0.54. With 100 × cap requests per lifetime (100,000 keys),
 *   4, 8 and 16 counters per cap gave 0.445, 0.461 and 0.463
 *   (first-come-first-served 0.438): 8 is where more memory stops paying.
 * - The victim is the coldest of the `victimSample` tenants that will die
 *   soonest (least recently invoked), not of all tenants: finding the global
 *   minimum is O(cap), and the soonest-dying tenants are the ones whose place
 *   a newcomer would get anyway (Caffeine compares with its LRU victim in the
 *   same way).
 *
 * Following every decision never puts more than `cap` environments alive as
 * long as `idleLifetimeMs()` is at least the host's true idle lifetime: every
 * environment the decisions create is in the map until it is dead, and the
 * map never holds more than `cap`. Memory is bounded by that too.
 *
 * Cost: `admit` is O(1) amortised (one hash of the key, four counters, a map
 * lookup, expiry from the head of a list, and at the cap a walk of
 * `victimSample` entries); it allocates only the entry of a newly admitted
 * tenant. The tenant list is intrusive (entries carry their links) so that
 * refreshing and expiring allocate nothing.
 */

export type Admission =
  | { readonly kind: 'dedicated'; readonly reason: 'alive' | 'free' | 'admitted' }
  | { readonly kind: 'spill'; readonly reason: 'cold' | 'cap' | 'demoted' };

// One frozen object per answer, so a decision allocates nothing.
const ALIVE: Admission = Object.freeze({ kind: 'dedicated', reason: 'alive' });
const FREE: Admission = Object.freeze({ kind: 'dedicated', reason: 'free' });
const ADMITTED: Admission = Object.freeze({ kind: 'dedicated', reason: 'admitted' });
const COLD: Admission = Object.freeze({ kind: 'spill', reason: 'cold' });
const AT_CAP: Admission = Object.freeze({ kind: 'spill', reason: 'cap' });
const DEMOTED: Admission = Object.freeze({ kind: 'spill', reason: 'demoted' });

export interface TenantBudgetOptions {
  /** Tenant environments this budget may hold alive (the function's cap less any pooled tenants). */
  readonly cap: number;
  /**
   * How long after its last invocation an environment still counts as alive.
   * Called on every decision, so it should be cheap (IdleLifetime caches its
   * fit). A value that is not a positive number is ignored in favour of the
   * last good one (at first: forever, which can only spill more, never
   * exceed the cap).
   */
  readonly idleLifetimeMs: () => number;
  /** Share of the cap above which new tenants must beat the victim's frequency. Default 0.9. */
  readonly nearCapRatio?: number;
  /** Soonest-dying tenants compared to find the victim. Default 4. */
  readonly victimSample?: number;
  /** The frequency sketch; default one sized by the cap. */
  readonly frequency?: FrequencySketch;
  /** Frequencies are halved every this many idle lifetimes. Default 4. */
  readonly frequencyWindow?: number;
  /** Counters a sketch row has per unit of cap (default sketch only). Default 8. */
  readonly sketchWidthPerCap?: number;
}

interface Entry {
  readonly tenant: string;
  last: number;
  keyHash: number;
  demoted: boolean;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** A doubly linked list, oldest at the head. */
interface List {
  head: Entry | undefined;
  tail: Entry | undefined;
}

export class TenantBudget {
  readonly cap: number;
  readonly nearCapRatio: number;
  readonly victimSample: number;
  private readonly admitFreelyBelow: number;
  private readonly maxPendingDemotions: number;
  private readonly frequency: FrequencySketch;
  private readonly idleLifetimeMs: () => number;
  private readonly tenants = new Map<string, Entry>();
  /** Tenants that are kept alive, by last invocation. */
  private readonly live: List = { head: undefined, tail: undefined };
  /**
   * Demoted tenants, by demotion. Not strictly by last invocation, so one
   * may stay behind a later-dying one a little past its death: an overcount,
   * which only spills more.
   */
  private readonly demoted: List = { head: undefined, tail: undefined };
  private demotedCount = 0;
  private readonly frequencyWindow: number;
  private agedAt = Number.NaN;
  private lifetime = Number.POSITIVE_INFINITY;
  private latest = Number.NEGATIVE_INFINITY;

  constructor(options: TenantBudgetOptions) {
    const { cap } = options;
    const nearCapRatio = options.nearCapRatio ?? 0.9;
    const victimSample = options.victimSample ?? 4;
    const problems: string[] = [];
    if (!Number.isSafeInteger(cap) || cap < 1)
      problems.push(`cap must be a positive integer, got ${cap}`);
    if (!(nearCapRatio > 0 && nearCapRatio <= 1))
      problems.push(`nearCapRatio must be in (0, 1], got ${nearCapRatio}`);
    if (!Number.isSafeInteger(victimSample) || victimSample < 1)
      problems.push(`victimSample must be a positive integer, got ${victimSample}`);
    const frequencyWindow = options.frequencyWindow ?? 4;
    if (!(frequencyWindow > 0) || !Number.isFinite(frequencyWindow))
      problems.push(`frequencyWindow must be a positive number, got ${frequencyWindow}`);
    const widthPerCap = options.sketchWidthPerCap ?? 8;
    if (!Number.isSafeInteger(widthPerCap) || widthPerCap < 1)
      problems.push(`sketchWidthPerCap must be a positive integer, got ${widthPerCap}`);
    if (problems.length > 0) throw new RangeError(`tenant budget: ${problems.join('; ')}`);
    this.cap = cap;
    this.nearCapRatio = nearCapRatio;
    this.victimSample = victimSample;
    this.admitFreelyBelow = Math.floor(cap * nearCapRatio);
    this.maxPendingDemotions = Math.max(1, cap - this.admitFreelyBelow);
    this.frequencyWindow = frequencyWindow;
    this.frequency =
      options.frequency ??
      new FrequencySketch({
        capacity: cap * widthPerCap,
        // A backstop only, for while the lifetime is unknown: aging is by time (ageFrequencies).
        sampleSize: 100 * cap * widthPerCap,
      });
    this.idleLifetimeMs = options.idleLifetimeMs;
  }

  /**
   * Decides for one request of `key`, whose own tenant is `tenant`, at `now`
   * (ms, any monotonic origin; a clock that steps back is held at its latest
   * value). The caller must invoke the tenant on `dedicated` and must not on
   * `spill`, or the estimate no longer matches what is alive.
   */
  admit(key: string, tenant: string, now: number): Admission {
    now = this.advance(now);
    this.expire(now);
    this.ageFrequencies(now);
    const keyHash = FrequencySketch.hash(key);
    this.frequency.incrementHash(keyHash);

    const entry = this.tenants.get(tenant);
    if (entry !== undefined) {
      if (entry.demoted) return DEMOTED;
      entry.last = now;
      entry.keyHash = keyHash;
      moveToTail(this.live, entry);
      return ALIVE;
    }

    const alive = this.tenants.size;
    if (alive < this.admitFreelyBelow) {
      this.insert(tenant, keyHash, now);
      return FREE;
    }
    // At the cap with every demotion already pending the answer is known: skip the victim walk.
    if (alive >= this.cap && this.demotedCount >= this.maxPendingDemotions) return AT_CAP;
    // No live victim (none, or all demoted): there is no tenant to protect.
    const victim = this.victim();
    const beatsVictim =
      victim === undefined ||
      this.frequency.estimateHash(keyHash) > this.frequency.estimateHash(victim.keyHash);
    if (alive < this.cap) {
      if (!beatsVictim) return COLD;
      this.insert(tenant, keyHash, now);
      return ADMITTED;
    }
    if (victim !== undefined && beatsVictim && this.demotedCount < this.maxPendingDemotions)
      this.demote(victim);
    return AT_CAP;
  }

  /**
   * Strict isolation's decision (the `queue` policy, and pooled tenants):
   * `dedicated` whenever an environment fits under the cap, whatever the
   * key's frequency; at the cap `spill` without demoting anyone. A waiting
   * request asks again with `count` false, so waiting does not make its key
   * look more frequent than it is.
   */
  admitWhileRoom(key: string, tenant: string, now: number, count = true): Admission {
    now = this.advance(now);
    this.expire(now);
    this.ageFrequencies(now);
    const keyHash = FrequencySketch.hash(key);
    if (count) this.frequency.incrementHash(keyHash);
    const entry = this.tenants.get(tenant);
    if (entry !== undefined) {
      if (entry.demoted) return DEMOTED;
      entry.last = now;
      entry.keyHash = keyHash;
      moveToTail(this.live, entry);
      return ALIVE;
    }
    if (this.tenants.size >= this.cap) return AT_CAP;
    this.insert(tenant, keyHash, now);
    return this.tenants.size <= this.admitFreelyBelow ? FREE : ADMITTED;
  }

  /**
   * An invocation of `tenant` ended at `now`: its environment's idle time
   * starts here, not when it was admitted (a long call or a wait in the
   * scheduler would otherwise count it dead while it runs). A tenant not
   * held (demoted, expired, or never admitted) is left alone.
   */
  completed(tenant: string, now: number): void {
    const entry = this.tenants.get(tenant);
    if (entry === undefined || entry.demoted) return;
    now = this.advance(now);
    if (now <= entry.last) return;
    entry.last = now;
    moveToTail(this.live, entry);
  }

  /**
   * The earliest time an environment held now counts dead (a place frees),
   * or undefined when none is held or the idle lifetime is not known yet.
   */
  nextExpiryAt(): number | undefined {
    const lifetime = this.lifetime;
    if (lifetime === Number.POSITIVE_INFINITY) return undefined;
    const live = this.live.head?.last ?? Number.POSITIVE_INFINITY;
    const demoted = this.demoted.head?.last ?? Number.POSITIVE_INFINITY;
    const first = Math.min(live, demoted);
    return first === Number.POSITIVE_INFINITY ? undefined : first + lifetime;
  }

  /** Tenant environments estimated alive at `now`. */
  alive(now: number): number {
    this.expire(this.advance(now));
    return this.tenants.size;
  }

  /** Demoted tenants whose environments are not yet counted dead. */
  get pendingDemotions(): number {
    return this.demotedCount;
  }

  private advance(now: number): number {
    // NaN (a broken clock) compares false and keeps the latest time.
    if (now > this.latest) this.latest = now;
    return this.latest;
  }

  private expire(now: number): void {
    const lifetime = this.idleLifetimeMs();
    if (lifetime > 0) this.lifetime = lifetime;
    const cutoff = now - this.lifetime;
    for (let e = this.live.head; e !== undefined && e.last <= cutoff; e = this.live.head)
      this.remove(this.live, e);
    for (let e = this.demoted.head; e !== undefined && e.last <= cutoff; e = this.demoted.head) {
      this.remove(this.demoted, e);
      this.demotedCount--;
    }
  }

  private ageFrequencies(now: number): void {
    if (Number.isNaN(this.agedAt) || this.lifetime === Number.POSITIVE_INFINITY) this.agedAt = now;
    if (now - this.agedAt >= this.frequencyWindow * this.lifetime) {
      this.frequency.age();
      this.agedAt = now;
    }
  }

  /** The least frequent of the `victimSample` soonest-dying live tenants (the oldest on a tie). */
  private victim(): Entry | undefined {
    let victim: Entry | undefined;
    let coldest = Number.POSITIVE_INFINITY;
    let e = this.live.head;
    for (let seen = 0; e !== undefined && seen < this.victimSample; seen++, e = e.next) {
      const frequency = this.frequency.estimateHash(e.keyHash);
      if (frequency < coldest) {
        coldest = frequency;
        victim = e;
      }
    }
    return victim;
  }

  private insert(tenant: string, keyHash: number, now: number): void {
    const entry: Entry = {
      tenant,
      last: now,
      keyHash,
      demoted: false,
      prev: undefined,
      next: undefined,
    };
    this.tenants.set(tenant, entry);
    append(this.live, entry);
  }

  private demote(entry: Entry): void {
    unlink(this.live, entry);
    entry.demoted = true;
    append(this.demoted, entry);
    this.demotedCount++;
  }

  private remove(list: List, entry: Entry): void {
    unlink(list, entry);
    this.tenants.delete(entry.tenant);
  }
}

function append(list: List, entry: Entry): void {
  entry.prev = list.tail;
  entry.next = undefined;
  if (list.tail === undefined) list.head = entry;
  else list.tail.next = entry;
  list.tail = entry;
}

function unlink(list: List, entry: Entry): void {
  if (entry.prev === undefined) list.head = entry.next;
  else entry.prev.next = entry.next;
  if (entry.next === undefined) list.tail = entry.prev;
  else entry.next.prev = entry.prev;
  entry.prev = undefined;
  entry.next = undefined;
}

function moveToTail(list: List, entry: Entry): void {
  if (list.tail === entry) return;
  unlink(list, entry);
  append(list, entry);
}
