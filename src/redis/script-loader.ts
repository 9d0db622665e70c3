import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

/** Lua scripts ship as source files (package.json `files`), read from here. */
export const scriptDir = join(packageRoot, 'src', 'redis', 'lua');

export interface ScriptDefinition {
  readonly lua: string;
  readonly numberOfKeys: number;
}

const FILE_NAME = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-(\d+)\.lua$/;

/** `resolve-key` → `wrResolveKey`: the prefix keeps script commands apart from Redis's own. */
export function commandName(baseName: string): string {
  return `wr${baseName
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}`;
}

/**
 * Every `name-<numberOfKeys>.lua` file in `dir`, keyed by command name, in the
 * shape of ioredis's `scripts` constructor option. ioredis then sends EVALSHA
 * and falls back to EVAL on NOSCRIPT (after SCRIPT FLUSH or a Redis restart).
 */
export function loadScripts(dir: string = scriptDir): Record<string, ScriptDefinition> {
  const scripts: Record<string, ScriptDefinition> = {};
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.lua')) continue;
    const match = FILE_NAME.exec(file);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new Error(`Lua script file name must be name-<numberOfKeys>.lua: ${file}`);
    }
    scripts[commandName(match[1])] = {
      lua: readFileSync(join(dir, file), 'utf8'),
      numberOfKeys: Number(match[2]),
    };
  }
  return scripts;
}

let cached: Record<string, ScriptDefinition> | undefined;

/** The directory's scripts, read once per process. */
export function directoryScripts(): Record<string, ScriptDefinition> {
  cached ??= loadScripts();
  return cached;
}
