/** Counters of one function since the host started. */
export interface FunctionStats {
  /** Invocations accepted (RequestResponse + Event; not DryRun, not rejected, not throttled). */
  invocations: number;
  requestResponse: number;
  event: number;
  dryRun: number;
  /** Invocations that finished (any outcome). */
  completed: number;
  functionErrors: number;
  timeouts: number;
  crashes: number;
  coldStarts: number;
  throttles: number;
  /** 4xx answers (bad tenant, payload, …): nothing ran. */
  rejected: number;
  /** Healthy environments stopped: to make room, idle past the timeout, or by an evict call. */
  evictions: number;
}

export interface HostStatsSnapshot {
  /** Accepted invocations per function (what "nothing was invoked" checks read). */
  readonly invocations: Record<string, number>;
  readonly functions: Record<string, FunctionStats>;
}

function empty(): FunctionStats {
  return {
    invocations: 0,
    requestResponse: 0,
    event: 0,
    dryRun: 0,
    completed: 0,
    functionErrors: 0,
    timeouts: 0,
    crashes: 0,
    coldStarts: 0,
    throttles: 0,
    rejected: 0,
    evictions: 0,
  };
}

export class HostStats {
  private readonly byFunction = new Map<string, FunctionStats>();

  of(name: string): FunctionStats {
    let s = this.byFunction.get(name);
    if (s === undefined) {
      s = empty();
      this.byFunction.set(name, s);
    }
    return s;
  }

  snapshot(): HostStatsSnapshot {
    const invocations: Record<string, number> = {};
    const functions: Record<string, FunctionStats> = {};
    for (const [name, s] of this.byFunction) {
      invocations[name] = s.invocations;
      functions[name] = { ...s };
    }
    return { invocations, functions };
  }
}
