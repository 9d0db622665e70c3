// The classic counter, but through warmroute's function library: the count
// lives in the key's warm state and is checkpointed after every call, so it
// survives losing the environment (recycled, evicted, or a second one
// started in parallel). First call → 0.
//
// Snapshots go to the file store (WARMROUTE_SNAPSHOT_DIR or
// /tmp/warmroute-snapshots-<uid>), or to Redis when
// WARMROUTE_SNAPSHOT_REDIS_URL is set.
import { withWarmState } from 'warmroute/lambda';

export const handler = withWarmState(
  async (_event, context, state) => {
    const { counter } = state.get();
    state.set({ counter: counter + 1 });
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ counter, tenantId: context.tenantId }),
    };
  },
  { initialState: () => ({ counter: 0 }) },
);
