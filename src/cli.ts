#!/usr/bin/env node
/**
 * `warmroute` command line. Sub-commands:
 *   warmroute start              local host + gateway (what `npm start` runs)
 *   warmroute local [--port N]   the local tenant-isolating Lambda host alone
 */
import { defaults } from './config/schema.js';

// Under Node 20 the AWS SDK prints a multi-line NodeVersionSupportWarning when its client is
// created: its releases after January 2027 need Node 22. warmroute pins its SDK version and
// supports Node >= 20.18 (README "Node versions"), so the warning asks nothing of a user of this
// command. This is the SDK's documented switch for it
// (https://github.com/aws/aws-sdk-js-v3/issues/7983); other warnings still print, and a value the
// user set wins. Set before `start` creates its Lambda client.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const usage = `usage: warmroute <command> [options]

commands:
  start                 local Lambda host with the example functions + gateway on ${defaults.host}:${defaults.port}
  local [--port N]      the local tenant-isolating Lambda host alone (default ${defaults.localHost}:${defaults.localPort})
        [--host H] [--functions FILE]
`;

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
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage);
      return;
    default:
      process.stderr.write(`warmroute: unknown command '${command}'\n\n${usage}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`warmroute: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
