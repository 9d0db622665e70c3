import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

/**
 * Redis round trips from INFO commandstats. Redis counts the commands a Lua
 * script runs as calls too, so a round trip is every command except those
 * the directory's scripts call inside EVALSHA, and except the housekeeping
 * of connections, of replication and of this measurement (INFO, PING,
 * CLUSTER SLOTS/NODES, CLIENT, HELLO, REPLCONF, …).
 */

/** `calls` per command from an INFO commandstats reply (`cmdstat_evalsha:calls=3,…`). */
export function parseCommandStats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const name = match[1];
    if (name !== undefined) calls[name] = (calls[name] ?? 0) + Number(match[2]);
  }
  return calls;
}

/** after − before, per command, leaving out commands that did not run. */
export function statsDelta(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, count] of Object.entries(after)) {
    const d = count - (before[name] ?? 0);
    if (d > 0) delta[name] = d;
  }
  return delta;
}

const LUA_DIR = join(packageRoot, 'src', 'redis', 'lua');

/**
 * The commands the directory's scripts call, read from the scripts
 * themselves so the list follows them. PUBLISH and SPUBLISH are added: the
 * scripts take the publish command as an argument (includes/publish.lua).
 * The store's top-level state-version broadcasts use the same two commands
 * and are counted here as in-script: a path that sends them (a function
 * reporting new state versions) is undercounted by one per broadcast.
 */
function commandsInScripts(): ReadonlySet<string> {
  const names = new Set(['publish', 'spublish']);
  const read = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) read(path);
      else if (entry.name.endsWith('.lua')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/redis\.p?call\(\s*'([A-Za-z]+)'/g)) {
          if (m[1] !== undefined) names.add(m[1].toLowerCase());
        }
      }
    }
  };
  read(LUA_DIR);
  return names;
}

// Connection setup, this measurement's own INFO, and replicas' acknowledgements to their master.
const HOUSEKEEPING = new Set([
  'info',
  'ping',
  'hello',
  'auth',
  'select',
  'readonly',
  'quit',
  'replconf',
  'psync',
]);
const HOUSEKEEPING_FAMILIES = ['cluster|', 'client|', 'config|', 'command|'];

let inScripts: ReadonlySet<string> | undefined;

/** Commands that were round trips of their own in a commandstats delta. */
export function roundTrips(delta: Readonly<Record<string, number>>): number {
  inScripts ??= commandsInScripts();
  const scripted = inScripts;
  let total = 0;
  for (const [name, count] of Object.entries(delta)) {
    if (scripted.has(name) || HOUSEKEEPING.has(name)) continue;
    if (HOUSEKEEPING_FAMILIES.some((family) => name.startsWith(family))) continue;
    total += count;
  }
  return total;
}
