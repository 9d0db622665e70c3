import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createDependencies } from '../../src/create-dependencies.js';

/**
 * The warmroute gateway in its own process for benchmarks, configured from
 * the environment like `warmroute start` (AWS_ENDPOINT_URL_LAMBDA points it
 * at the benchmark's local host); prints `{ "url" }`.
 *
 * BENCH_GATEWAY_UNSIGNED=1: Invokes go unsigned, as `npm start` sends them to
 * its embedded local host (`endpointIsEmbeddedLocalHost`: no SigV4, user
 * agent, content type or invocation type). The backend refuses it for an
 * endpoint that is not loopback; the benchmark's endpoints are.
 */
const config = loadConfig({ WARMROUTE_LOG_LEVEL: 'warn', ...process.env, PORT: '0' });
const logger = pino({ level: config.logLevel });
const deps = await createDependencies(config, {
  logger,
  endpoint: config.lambdaEndpoint,
  defaultMetrics: true,
  endpointIsEmbeddedLocalHost: process.env['BENCH_GATEWAY_UNSIGNED'] === '1',
});
const { app } = buildApp(config, deps);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ url }));
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => deps.close())
    .then(() => process.exit(0));
});
