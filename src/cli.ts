#!/usr/bin/env node
/**
 * `warmroute` command line. Sub-commands:
 *   warmroute start              local host + gateway (what `npm start` runs)
 *   warmroute local [options]    the local tenant-isolating Lambda host alone
 *   warmroute healthcheck        GET /readyz of a running gateway, exit 0 or 1 (container HEALTHCHECK)
 */
import { silenceAwsSdkNodeVersionWarning } from './aws-sdk-node-warning.js';
import { defaults } from './config/schema.js';

// Before `start` creates its Lambda client (src/aws-sdk-node-warning.ts says why).
silenceAwsSdkNodeVersionWarning();

const usage = `usage: warmroute <command> [options]

commands:
  start                 local Lambda host with the example functions + gateway on ${defaults.host}:${defaults.port}
  local                 the local tenant-isolating Lambda host alone (default ${defaults.localHost}:${defaults.localPort})
  healthcheck           GET /readyz of the gateway these settings describe (admin port when set); exit 0 if 200, else 1
`;

/** The commands, then `warmroute local`'s own usage (src/localhost/command.ts): one text for both helps. */
async function fullUsage(): Promise<string> {
  const { localUsage } = await import('./localhost/command.js');
  return `${usage}\n${localUsage}`;
}

/**
 * How long `warmroute healthcheck` waits for an answer: shorter than the image's HEALTHCHECK
 * --timeout (deploy/docker/Dockerfile), so a hung gateway is reported with a reason instead of
 * the check being killed.
 */
const HEALTHCHECK_TIMEOUT_MS = 2_000;

/** An address to dial for a listen address: a wildcard address listens on loopback too. */
function dialHost(listenHost: string): string {
  const bare = listenHost.replace(/^\[(.*)\]$/, '$1');
  if (bare === '0.0.0.0') return '127.0.0.1';
  if (bare === '::') return '::1';
  return bare;
}

/**
 * `warmroute healthcheck`: GET /readyz on the listener that serves it, found from the same
 * settings the gateway reads (PORT / HOST, or WARMROUTE_ADMIN_PORT / WARMROUTE_ADMIN_HOST when
 * set: then the public port answers 404 there). /readyz answers 200 while requests flow (also
 * `degraded`, Redis down) and 503 while the gateway drains. Resolves 0 for a 200, 1 for anything
 * else, never 2: Docker reserves that exit code. What it found goes to stdout or stderr, which
 * `docker inspect` keeps with the health status.
 */
async function healthcheck(): Promise<number> {
  const { loadConfig } = await import('./config/load-config.js');
  const { request } = await import('node:http');
  let target: { host: string; port: number };
  try {
    const config = loadConfig(process.env);
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

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const { runStart } = await import('./main.js');
      await runStart(rest);
      return;
    }
    case 'local': {
      const { runLocalHostCommand } = await import('./localhost/command.js');
      await runLocalHostCommand(rest);
      return;
    }
    case 'healthcheck':
      process.exitCode = await healthcheck();
      return;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(await fullUsage());
      return;
    default:
      process.stderr.write(`warmroute: unknown command '${command}'\n\n${await fullUsage()}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`warmroute: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
