// A separate writer process for the snapshot-store CAS race: increments a
// counter snapshot N times by read-modify-write with compare-and-set, retrying
// lost races, and prints the versions it won as JSON. Runs the compiled
// library (npm run build).
import { FileSnapshotStore, RedisSnapshotStore } from '../../dist/lambda/index.js';

const args = JSON.parse(process.argv[2] ?? '{}');
const store =
  args.kind === 'redis'
    ? new RedisSnapshotStore(
        args.clusterNodes === undefined
          ? { url: args.url, keyPrefix: args.prefix }
          : { clusterNodes: args.clusterNodes, keyPrefix: args.prefix },
      )
    : new FileSnapshotStore({ directory: args.directory });

// args.scope: the whole snapshot scope (stores take no bare key).
const scope = args.scope;
const won = [];
let conflicts = 0;
try {
  for (let i = 0; i < args.increments; i++) {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const snap = await store.read(scope);
      const counter = snap === undefined ? 0 : JSON.parse(snap.state.toString()).counter;
      const res = await store.write(scope, snap?.version ?? 0, {
        state: Buffer.from(JSON.stringify({ counter: counter + 1 })),
        dir: Buffer.alloc(0),
      });
      if (res.ok) {
        won.push(res.version);
        break;
      }
      conflicts++;
    }
  }
} finally {
  await store.close();
}
process.stdout.write(JSON.stringify({ won, conflicts }));
