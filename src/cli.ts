#!/usr/bin/env node
/**
 * `warmroute` command line. Sub-commands:
 *   warmroute start              local host + gateway (what `npm start` runs)
 *   warmroute local [options]    the local tenant-isolating Lambda host alone
 *   warmroute healthcheck        GET /readyz of a running gateway, exit 0 or 1 (container HEALTHCHECK)
 *   warmroute migrate-directory  copy a directory of key layout v2 into layout v3, keeping tenant IDs
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
  migrate-directory     copy the Redis directory of an older warmroute (key layout v2) into layout v3, keeping tenant IDs
`;

/**
 * The commands, then the own usages of `warmroute local` (src/localhost/command.ts) and
 * `warmroute migrate-directory` (src/directory/migrate-command.ts): one text for every help.
 */
async function fullUsage(): Promise<string> {
  const { localUsage } = await import('./localhost/command.js');
  const { migrateUsage } = await import('./directory/migrate-command.js');
  return `${usage}\n${localUsage}\n${migrateUsage}`;
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
    case 'healthcheck': {
      const { healthcheck } = await import('./healthcheck.js');
      process.exitCode = await healthcheck(process.env);
      return;
    }
    case 'migrate-directory': {
      const { runMigrateCommand } = await import('./directory/migrate-command.js');
      process.exitCode = await runMigrateCommand(rest, process.env);
      return;
    }
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
