// Imports `warmroute/lambda` as a function would, serves one invocation and
// prints what it cost. argv[2]: 'file-state' (state only, file store),
// 'file-dir' (also writes a file in the key's directory), 'redis' (Redis store).
// argv[3]: the file store's directory or the Redis URL. argv[4]: a key prefix.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const started = process.hrtime.bigint();
const lib = await import('warmroute/lambda');
const importMs = Number(process.hrtime.bigint() - started) / 1e6;
const rssAfterImport = process.memoryUsage().rss;

const [mode = 'file-state', where = '', prefix = 'probe:'] = process.argv.slice(2);
const store =
  mode === 'redis'
    ? new lib.RedisSnapshotStore({ url: where, keyPrefix: prefix })
    : new lib.FileSnapshotStore({ directory: where });
const handler = lib.withWarmState(
  async (_event, _context, state) => {
    state.set({ n: state.get().n + 1 });
    if (mode === 'file-dir') await writeFile(join(state.dir, 'note.txt'), 'hello\n');
    return state.get().n;
  },
  { initialState: () => ({ n: 0 }), store },
);
const key = `probe-${process.pid}`;
const context = {
  clientContext: {
    custom: { warmroute: { v: 1, key, mode: 'affinity', stateVersion: 0, wrap: true } },
  },
};
const out = await handler({}, context);
// The request above has no gateway scope: the library keeps such keys in a namespace of their own.
await store.delete({
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? '',
  namespace: lib.LEGACY_NAMESPACE,
  epoch: '',
  generation: 0,
  key,
});
await store.close();
process.stdout.write(
  JSON.stringify({ importMs, rssAfterImport, report: out['warmroute/v1'], result: out.result }) +
    '\n',
);
