/**
 * `warmroute healthcheck` (src/cli.ts), the container image's HEALTHCHECK
 * (deploy/docker/Dockerfile): GET /readyz of the gateway the settings describe.
 */
import { request } from 'node:http';
import { loadConfig } from './config/load-config.js';

/**
 * How long `warmroute healthcheck` waits for an answer: shorter than the image's HEALTHCHECK
 * --timeout (deploy/docker/Dockerfile; test/deploy/dockerfile.test.ts compares the two), so a
 * hung gateway is reported with a reason instead of the check being killed.
 */
export const HEALTHCHECK_TIMEOUT_MS = 2_000;

/** An address to dial for a listen address: a wildcard address listens on loopback too. */
function dialHost(listenHost: string): string {
  const bare = listenHost.replace(/^\[(.*)\]$/, '$1');
  if (bare === '0.0.0.0') return '127.0.0.1';
  if (bare === '::') return '::1';
  return bare;
}

/**
 * GET /readyz on the listener that serves it, found from the same settings the gateway reads
 * (PORT / HOST, or WARMROUTE_ADMIN_PORT / WARMROUTE_ADMIN_HOST when set: then the public port
 * answers 404 there). /readyz answers 200 while requests flow (also `degraded`, Redis down) and
 * 503 while the gateway drains. Resolves 0 for a 200, 1 for anything else, never 2: Docker
 * reserves that exit code. What it found goes to stdout or stderr, which `docker inspect` keeps
 * with the health status.
 */
export async function healthcheck(env: NodeJS.ProcessEnv): Promise<number> {
  let target: { host: string; port: number };
  try {
    const config = loadConfig(env);
    target =
      config.adminPort === undefined
        ? { host: dialHost(config.host), port: config.port }
        : { host: dialHost(config.adminHost ?? config.host), port: config.adminPort };
  } catch (err) {
    process.stderr.write(
      `warmroute healthcheck: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  const url = `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}/readyz`;
  if (target.port === 0) {
    process.stderr.write(
      `warmroute healthcheck: ${url}: port 0 is a random port, nothing to check\n`,
    );
    return 1;
  }
  return new Promise((resolve) => {
    const req = request(
      {
        ...target,
        path: '/readyz',
        agent: false,
        signal: AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          const healthy = res.statusCode === 200;
          (healthy ? process.stdout : process.stderr).write(
            `warmroute healthcheck: ${url}: ${String(res.statusCode)} ${body.slice(0, 1_000)}\n`,
          );
          resolve(healthy ? 0 : 1);
        });
      },
    );
    req.on('error', (err) => {
      const why =
        err.name === 'TimeoutError' || err.name === 'AbortError'
          ? `no answer within ${HEALTHCHECK_TIMEOUT_MS} ms`
          : err.message;
      process.stderr.write(`warmroute healthcheck: ${url}: ${why}\n`);
      resolve(1);
    });
    req.end();
  });
}
