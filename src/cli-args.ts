/** What a subcommand does with one of its flags. */
export type FlagHandler = (
  /** The flag's value: after `=` when written `--flag=value`, else the next argument (consumed on call). */
  value: () => string | undefined,
  /** Whether the value was written `--flag=value`. */
  inline: boolean,
) => void;

/**
 * Walks a subcommand's `args` (`--flag value` or `--flag=value`), the
 * parsing `warmroute local` and `warmroute migrate-directory` share: each
 * flag in `flags` runs its handler, `-h`/`--help` asks for help, and anything
 * else is reported in `problems` as an unknown argument (so every problem is
 * reported at once). A Map, not an object, so `constructor` or `__proto__`
 * is an unknown argument, not an inherited property.
 */
export function walkArgs(
  args: readonly string[],
  flags: ReadonlyMap<string, FlagHandler>,
  problems: string[],
): { help: boolean } {
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const inline = arg.startsWith('--') && eq > 0;
    const flag = inline ? arg.slice(0, eq) : arg;
    if (flag === '-h' || flag === '--help') {
      help = true;
      continue;
    }
    const handler = flags.get(flag);
    if (handler === undefined) {
      problems.push(`  unknown argument ${JSON.stringify(arg)}`);
      continue;
    }
    handler(() => (inline ? arg.slice(eq + 1) : args[++i]), inline);
  }
  return { help };
}
