// Connects the gateway's command client (compiled: npm run build) to the
// target in argv[2] and prints what happened as JSON. A separate process so
// that NODE_EXTRA_CA_CERTS (read by Node only at start) can trust the test's
// own CA, as a deployment trusts its Redis's CA.
import { createCommandClient } from '../../dist/src/redis/client.js';

const target = JSON.parse(process.argv[2] ?? '{}');
const client = createCommandClient({
  target,
  password: undefined,
  connectionName: 'wr-tls-probe',
  commandTimeoutMs: 2000,
  maxReconnectDelayMs: 100,
});
const errors = [];
client.on('error', (err) => errors.push(err.message));
let result;
try {
  await client.connect();
  await client.set('wr-tls-probe', 'over-tls');
  result = {
    ok: true,
    value: await client.get('wr-tls-probe'),
    tls: client.stream?.encrypted === true,
  };
} catch (err) {
  result = { ok: false, error: err.message, errors };
} finally {
  client.disconnect();
}
process.stdout.write(JSON.stringify(result));
