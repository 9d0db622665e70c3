/**
 * A value as one POSIX shell word in single quotes, so a printed command runs
 * as shown whatever the value holds (`'`, `$`, `&`, `;`, spaces, globs).
 * Shared by the banners of `warmroute start` (src/main.ts) and
 * `warmroute local` (src/localhost/command.ts).
 */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
