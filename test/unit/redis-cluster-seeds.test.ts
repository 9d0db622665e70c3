import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatClusterTarget,
  parseClusterSeeds,
  type ClusterTarget,
} from '../../src/redis/cluster-seeds.js';

/**
 * The seed syntax of WARMROUTE_REDIS_CLUSTER_NODES and
 * WARMROUTE_SNAPSHOT_REDIS_CLUSTER_NODES (src/redis/cluster-seeds.ts).
 * What it proves: any text gives a target or a list of problems (never a
 * throw), every problem names the setting and no problem repeats a
 * password; a target formatted and parsed again is the same target; the
 * documented forms and refusals, one example each.
 */

const SETTING = 'WARMROUTE_REDIS_CLUSTER_NODES';

function problemsOf(raw: string): readonly string[] {
  const parsed = parseClusterSeeds(raw, SETTING);
  if (parsed.ok) throw new Error(`expected problems for ${JSON.stringify(raw)}`);
  return parsed.problems;
}

function targetOf(raw: string): ClusterTarget {
  const parsed = parseClusterSeeds(raw, SETTING);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.target;
}

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const hostName = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .map((labels) => labels.join('.'))
  // An all-digit name reads as a (possibly invalid) IPv4 address.
  .filter((name) => !/^[\d.]+$/.test(name));
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const host = fc.oneof(hostName, ipv4, ipv6);
const port = fc.integer({ min: 1, max: 65_535 });
const username = fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined });

const clusterTarget: fc.Arbitrary<ClusterTarget> = fc
  .record({
    nodes: fc.array(fc.record({ host, port }), { minLength: 1, maxLength: 6 }),
    tls: fc.boolean(),
    username,
  })
  .map(({ nodes, tls, username: user }) => ({
    mode: 'cluster' as const,
    nodes,
    tls,
    ...(user === undefined ? {} : { username: user }),
  }));

describe('parseClusterSeeds: properties', () => {
  it('round-trips: a target formatted as a seed list parses back to itself', () => {
    fc.assert(
      fc.property(clusterTarget, (target) => {
        // Act
        const parsed = parseClusterSeeds(formatClusterTarget(target), SETTING);

        // Assess: IPv6 hosts come back as fc writes them (node:net's form is the input's).
        expect(parsed).toEqual({ ok: true, target });
      }),
    );
  });

  it('round-trips with whitespace around every seed', () => {
    fc.assert(
      fc.property(clusterTarget, fc.stringMatching(/^[ \t]{0,3}$/), (target, space) => {
        // Prepare
        const spaced = formatClusterTarget(target)
          .split(',')
          .map((seed) => `${space}${seed}${space}`)
          .join(',');

        // Act / Assess
        expect(parseClusterSeeds(spaced, SETTING)).toEqual({ ok: true, target });
      }),
    );
  });

  it('never throws on any text; problems name the setting and never repeat a password', () => {
    const secret = 'S3cr3t-pw-xyz';
    // Seed-like pieces, so the parser's later branches are reached, not only the first refusal.
    const piece = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        'rediss://',
        'redis://',
        'http://',
        `user:${secret}@`,
        `:${secret}@`,
        '@',
        '[::1]',
        '[',
        ']',
        ':',
        ':6379',
        ':0',
        ':99999',
        'cache.internal',
        '10.0.0.1',
        '999.1.1.1',
        '/',
        '?password=x',
        '%ZZ',
        ',',
        ' ',
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        // Prepare
        const raw = pieces.join('');

        // Act
        const parsed = parseClusterSeeds(raw, SETTING);

        // Assess
        if (parsed.ok) {
          expect(parsed.target.nodes.length).toBeGreaterThan(0);
          for (const node of parsed.target.nodes) {
            expect(node.port).toBeGreaterThanOrEqual(1);
            expect(node.port).toBeLessThanOrEqual(65_535);
          }
          return;
        }
        expect(parsed.problems.length).toBeGreaterThan(0);
        for (const problem of parsed.problems) {
          expect(problem.startsWith(`${SETTING}: `)).toBe(true);
          expect(problem).not.toContain(secret);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('a password written in the wrong place (?password=, after a colon, around an @) is never repeated', () => {
    // A password-looking secret: has a letter (all digits after a colon is a port, and is quoted).
    const secret = fc
      .stringMatching(/^[A-Za-z0-9!$%&*+~=_.-]{6,24}$/)
      .filter((text) => /[A-Za-z]/.test(text));
    const hostPort = fc.constantFrom('cache.internal:6379', '10.0.0.1:7000', '[::1]:6379', 'h', '');
    const scheme = fc.constantFrom('', 'redis://', 'rediss://', 'REDISS://', 'http://');
    const placed = fc.constantFrom(
      (s: string, h: string, x: string) => `${s}${h}/?password=${x}`,
      (s: string, h: string, x: string) => `${s}${h}?password=${x}`,
      (s: string, h: string, x: string) => `${s}${h}#${x}`,
      (s: string, _h: string, x: string) => `${s}:${x}`,
      (s: string, h: string, x: string) => `${s}${h}:${x}`,
      (s: string, h: string, x: string) => `${s}user:${x}${h === '' ? '' : `@${h}`}`,
      (s: string, h: string, x: string) => `${s}${x}@${h}`,
      (s: string, h: string, x: string) => `${s}${h}@${x}`,
    );
    fc.assert(
      fc.property(
        secret,
        scheme,
        hostPort,
        placed,
        fc.constantFrom('', 'ok.internal:1,'),
        (x, s, h, place, before) => {
          // Prepare
          const raw = `${before}${place(s, h, x)}`;

          // Act
          const parsed = parseClusterSeeds(raw, SETTING);

          // Assess: accepted only as a user name (`redis://<x>@host:port`), else never quoted
          if (parsed.ok) {
            // A URL's user name is percent-decoded (`%0A` in the secret is a newline).
            expect(parsed.target.username).toBe(decodeURIComponent(x));
            return;
          }
          expect(parsed.problems.join('\n')).not.toContain(x);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('names a seed with a query or fragment by position only, and quotes at most ~100 characters', () => {
    // Act
    const [query] = problemsOf('redis://cache.internal:6379/?password=hunter2');
    const [colon] = problemsOf('redis://:hunter2');
    const [huge] = problemsOf(`${'x'.repeat(1_000_000)}:1`);

    // Assess
    expect(query).toBe(
      `${SETTING}: seed 1 must not have a path, query or fragment after host:port`,
    );
    expect(colon).toBe(
      `${SETTING}: seed 1 must be host:port with a host name or IP address (and nothing after the port)`,
    );
    expect(huge?.length).toBeLessThan(300);
    expect(huge).toContain(`seed 1 ("${'x'.repeat(100)}…")`);
  });
});

describe('parseClusterSeeds: the documented forms', () => {
  it.each([
    ['one host:port', 'cache.internal:6379', [{ host: 'cache.internal', port: 6379 }], false],
    [
      'several, with spaces',
      ' 10.0.0.1:7000 , 10.0.0.2:7001',
      [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      false,
    ],
    ['IPv6 in brackets', '[::1]:7000', [{ host: '::1', port: 7000 }], false],
    [
      'rediss:// (TLS), an ElastiCache configuration endpoint',
      'rediss://clustercfg.app.abc123.use1.cache.amazonaws.com:6379',
      [{ host: 'clustercfg.app.abc123.use1.cache.amazonaws.com', port: 6379 }],
      true,
    ],
    [
      'REDISS:// in capitals',
      'REDISS://cache.internal:6379',
      [{ host: 'cache.internal', port: 6379 }],
      true,
    ],
    [
      'redis:// (plain)',
      'redis://cache.internal:6379',
      [{ host: 'cache.internal', port: 6379 }],
      false,
    ],
    [
      'plain seeds mixed with redis://',
      'a:1,redis://b:2',
      [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      false,
    ],
  ])('%s', (_, raw, nodes, tls) => {
    // Act
    const target = targetOf(raw);

    // Assess
    expect(target).toEqual({ mode: 'cluster', nodes, tls });
  });

  it('takes a user name, the same on every seed, percent-decoded', () => {
    // Act
    const target = targetOf('rediss://app%40x@a:6379,rediss://app%40x@b:6379');

    // Assess
    expect(target).toMatchObject({ tls: true, username: 'app@x' });
  });
});

describe('parseClusterSeeds: refusals, each naming the setting and the seed', () => {
  it.each([
    ['an empty value', '', 'seed 1 is empty'],
    ['only spaces', '   ', 'seed 1 is empty'],
    ['a trailing comma', 'a:1,', 'seed 2 is empty'],
    ['a doubled comma', 'a:1,,b:2', 'seed 2 is empty'],
    ['no port', 'cache.internal', 'must end in :port'],
    ['port 0', 'cache.internal:0', 'outside 1-65535'],
    ['port 65536', 'cache.internal:65536', 'outside 1-65535'],
    ['a port that is not a number', 'cache.internal:http', 'a number from 1 to 65535'],
    ['IPv6 without brackets', '::1:6379', 'in brackets'],
    ['brackets without IPv6', '[cache]:6379', 'no IPv6 address'],
    ['a bad IPv4 address', '999.1.1.1:6379', 'not an IPv4 address'],
    ['another scheme', 'http://cache.internal:6379', 'redis://… or rediss://…'],
    ['a path', 'rediss://cache.internal:6379/0', 'path, query or fragment'],
    ['a query', 'rediss://cache.internal:6379?tls=true', 'path, query or fragment'],
    ['userinfo without a scheme', 'app@cache.internal:6379', 'no rediss:// or redis:// scheme'],
    ['a bad percent-escape in the user name', 'rediss://a%ZZ@cache:6379', 'percent-encoding'],
    ['an empty user name', 'rediss://@cache:6379', 'empty user name'],
    ['a space inside a host', 'cache internal:6379', 'host name or IP address'],
  ])('%s', (_, raw, problem) => {
    // Act
    const problems = problemsOf(raw);

    // Assess
    expect(problems.join('\n')).toContain(problem);
    for (const line of problems) expect(line.startsWith(`${SETTING}: `)).toBe(true);
  });

  it('a password in a seed: refused, pointing at the password setting, never echoed', () => {
    // Act
    const problems = problemsOf('rediss://app:hunter2-secret@cache.internal:6379');

    // Assess
    expect(problems).toEqual([
      `${SETTING}: seed 1 must not hold a password (set it in the password setting, which a secret store can supply)`,
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('TLS and plain seeds mixed', () => {
    expect(problemsOf('rediss://a:1,b:2').join('\n')).toContain('mixes rediss:// (TLS) and plain');
  });

  it('different user names, or a user name on some seeds only', () => {
    expect(problemsOf('rediss://x@a:1,rediss://y@b:2').join('\n')).toContain(
      'different user names',
    );
    expect(problemsOf('rediss://x@a:1,rediss://b:2').join('\n')).toContain('different user names');
  });

  it('every bad seed is reported, not only the first', () => {
    // Act
    const problems = problemsOf('a,b:0,c:3');

    // Assess
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('seed 1 ("a")');
    expect(problems[1]).toContain('seed 2 ("b:0")');
  });

  it('more than 100 seeds', () => {
    const raw = Array.from({ length: 101 }, (_, i) => `h${i}:6379`).join(',');
    expect(problemsOf(raw).join('\n')).toContain('more than 100 seeds');
  });
});
