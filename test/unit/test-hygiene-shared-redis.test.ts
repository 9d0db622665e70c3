import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * Issue 11, defect 12: the machine's Redis (127.0.0.1:6379) is shared by
 * every engineer and test run, so no test may change server-wide state on
 * it. A test that flushes scripts or data, changes configuration, pauses
 * clients or kills the server must use a private `redis-server` it started
 * itself (test/helpers/redis.ts `privateRedis()` / `startOwnRedis()`).
 *
 * A lint-like check rather than a runtime one: a file that issues a
 * server-wide command must not mention the shared server at all.
 */

/** Server-wide commands as ioredis calls them (method or `call('NAME', …)`), case-insensitive. */
const SERVER_WIDE: readonly RegExp[] = [
  /\.(flushall|flushdb|config|debug|shutdown|swapdb|failover|replicaof|slaveof)\s*\(/i,
  /\.script\s*\(\s*['"`](flush|kill)['"`]/i,
  /\.function\s*\(\s*['"`](flush|delete|restore)['"`]/i,
  /\.client\s*\(\s*['"`](pause|kill|unpause|no-evict)['"`]/i,
  /\.(call|send_command|sendCommand)\s*\(\s*['"`](flushall|flushdb|config|debug|shutdown|swapdb|failover|replicaof|slaveof)['"`]/i,
  /\.(call|send_command|sendCommand)\s*\(\s*['"`](script|function)['"`]\s*,\s*['"`](flush|kill|delete|restore)['"`]/i,
  /\.(call|send_command|sendCommand)\s*\(\s*['"`]client['"`]\s*,\s*['"`](pause|unpause|kill|no-evict)['"`]/i,
];
/** How a file reaches the shared server. */
const SHARED: readonly RegExp[] = [/SHARED_REDIS_URL/, /:6379\b/, /WARMROUTE_TEST_REDIS_URL/];

/**
 * Server-wide command lines of `source` that share a test case (or the
 * file's top level) with a reference to the shared server; empty when clean.
 * Per test case, not per file: a contract suite may run most cases on the
 * shared server and one case on a private one.
 */
export function sharedServerViolations(source: string): string[] {
  const cases = source.split(/\n(?=\s*(?:it|test)(?:\.\w+)?\s*\()/);
  return cases.flatMap((block) =>
    SHARED.some((re) => re.test(block))
      ? block
          .split('\n')
          .filter((line) => SERVER_WIDE.some((re) => re.test(line)))
          .map((line) => line.trim())
      : [],
  );
}

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...testFiles(path));
    } else if (/\.(ts|mts|js|mjs|cjs)$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

describe('tests never change server-wide state on the shared Redis', () => {
  it('finds the pattern this check exists for (SCRIPT FLUSH against SHARED_REDIS_URL)', () => {
    // The contract test as it was before defect 12 was fixed.
    const before = [
      "  it('still writes after SCRIPT FLUSH', async () => {",
      '    const admin = new Redis(SHARED_REDIS_URL);',
      "    await admin.script('FLUSH');",
      '  });',
    ].join('\n');
    const moved = [
      "  it('uses the shared server', async () => {",
      '    const store = new RedisSnapshotStore({ url: SHARED_REDIS_URL });',
      '  });',
      "  it('still writes after SCRIPT FLUSH', async () => {",
      '    const redis = await privateRedis();',
      "    await admin.script('FLUSH');",
      '  });',
    ].join('\n');

    expect(sharedServerViolations(before)).toEqual(["await admin.script('FLUSH');"]);
    expect(sharedServerViolations(moved)).toEqual([]);
    expect(
      sharedServerViolations(
        "new Redis('redis://127.0.0.1:6379');\nawait r.call('CLIENT', 'PAUSE', '100');\nawait r.flushall();",
      ),
    ).toHaveLength(2);
  });

  it('holds for every file under test/', () => {
    const self = relative(packageRoot, new URL(import.meta.url).pathname);
    const offenders: Record<string, string[]> = {};
    for (const file of testFiles(join(packageRoot, 'test'))) {
      const rel = relative(packageRoot, file);
      if (rel === self) continue;
      const found = sharedServerViolations(readFileSync(file, 'utf8'));
      if (found.length > 0) offenders[rel] = found;
    }
    expect(offenders).toEqual({});
  });
});
