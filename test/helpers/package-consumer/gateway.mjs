// Runs inside a temporary project that installed the packed tarball: every
// import below resolves through node_modules/warmroute, never this repo.
// Prints one `RESULT <json>` line for test/integration/package-pack.test.ts.
import * as warmroute from 'warmroute';
import { affinityInvoke, closeDefaultClient, createAffinityClient } from 'warmroute/sdk';

const { createGateway, loadConfig, WarmrouteError, errorCatalogue } = warmroute;
const out = { exports: Object.keys(warmroute).sort() };

try {
  loadConfig({ PORT: 'not-a-port', WARMROUTE_MAX_PAYLOAD_BYTES: '-1' });
} catch (err) {
  out.badConfig = { isWarmrouteError: err instanceof WarmrouteError, code: err.code };
}
out.catalogueHasConfig = errorCatalogue.WR_ERR_CONFIG?.status;

// The default backend is the embedded local host with the shipped example
// functions; port 0 so the test never collides with a running `npm start`.
const gateway = await createGateway({
  ...process.env,
  WARMROUTE_LOCAL_PORT: '0',
  WARMROUTE_LOG_LEVEL: 'silent',
});
try {
  out.localHostFunctions = gateway.localHost?.functions.map((f) => f.name).sort();
  const call = async (fn, key) => {
    const res = await gateway.app.inject({
      method: 'POST',
      url: `/v1/functions/${fn}/invoke`,
      headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
      payload: '{}',
    });
    return {
      status: res.statusCode,
      state: res.headers['x-affinity-state'],
      tenant: res.headers['x-affinity-tenant'],
      body: res.json(),
    };
  };
  out.counter = [await call('counter', 'blue'), await call('counter', 'blue')];
  out.warmCounter = [
    await call('warm-counter', 'pack-blue'),
    await call('warm-counter', 'pack-blue'),
  ];

  // warmroute/sdk against the same gateway, listening on a free loopback port.
  const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  process.env.WARMROUTE_URL = url;
  const viaDefault = await affinityInvoke('blue', {}, { functionName: 'counter' });
  const client = createAffinityClient({ url });
  const viaClient = await client.invoke('green', {}, { functionName: 'counter' });
  await client.close();
  await closeDefaultClient();
  out.sdk = [viaDefault, viaClient].map((r) => ({
    state: r.state,
    tenantId: r.tenantId,
    result: r.result,
  }));
} finally {
  await gateway.close();
}
out.closedTwice = (await gateway.close()) === undefined;
console.log('RESULT ' + JSON.stringify(out));
