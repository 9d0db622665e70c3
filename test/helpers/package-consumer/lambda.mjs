// Runs inside a temporary project that installed the packed tarball: the
// function library with each snapshot store, imported as users import it.
// Two environments share one store, so the second one must rehydrate what the
// first one checkpointed. Prints one `RESULT <json>` line.
import {
  createWarmEnvironment,
  FileSnapshotStore,
  MemorySnapshotStore,
  RedisSnapshotStore,
} from 'warmroute/lambda';

const { PACK_TMP, PACK_REDIS_URL, PACK_REDIS_PREFIX } = process.env;

async function roundTrip(store) {
  const reports = [];
  const environment = () =>
    createWarmEnvironment({ functionName: 'pack-test', tmpDir: PACK_TMP }).withWarmState(
      async (_event, _context, state) => {
        const { n } = state.get();
        state.set({ n: n + 1 });
        return n;
      },
      {
        initialState: () => ({ n: 0 }),
        store,
        keyFromEvent: () => 'pack-key',
        onReport: (report) => reports.push(report.state),
      },
    );
  const first = environment();
  const second = environment();
  const results = [await first({}, {}), await first({}, {}), await second({}, {})];
  await store.close();
  return { results, reports };
}

const out = {};
for (const [name, make] of [
  ['memory', () => new MemorySnapshotStore()],
  ['file', () => new FileSnapshotStore({ directory: `${PACK_TMP}/snapshots` })],
  ['redis', () => new RedisSnapshotStore({ url: PACK_REDIS_URL, keyPrefix: PACK_REDIS_PREFIX })],
]) {
  try {
    out[name] = await roundTrip(make());
  } catch (err) {
    out[name] = { error: String(err?.message ?? err) };
  }
}
console.log('RESULT ' + JSON.stringify(out));
