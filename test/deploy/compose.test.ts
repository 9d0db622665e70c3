import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultThresholds } from '../../dashboards/src/thresholds.js';
import { loadConfig } from '../../src/config/load-config.js';
import { defaults, settings } from '../../src/config/schema.js';
import { SHUTDOWN_BACKSTOP_MS } from '../../src/shutdown-backstop.js';
import { imageEnv } from './helpers/container-conventions.js';

/**
 * Issue 14: deploy/compose, the production-like local stack (gateway, Redis,
 * Prometheus, Grafana), checked offline by the tools that will run it:
 * Debian's docker-compose renders it, the Compose specification's JSON schema
 * validates it, promtool checks the Prometheus config with the rule files it
 * mounts, and every setting that must agree with the gateway, the image or
 * dashboards/ is compared with its source of truth.
 */

const root = resolve(import.meta.dirname, '../..');
const composeDir = join(root, 'deploy/compose');
const composeFile = join(composeDir, 'compose.yaml');
const exampleEnvFile = join(composeDir, '.env.example');
// Read at test time from Debian's docker-compose package, never copied into the repository.
const composeSchemaFile = '/usr/lib/python3/dist-packages/compose/config/compose_spec.json';

const COMPOSE_HINT = '`apt-get install -y docker-compose` (Debian; .ci/run does this)';
const PROMTOOL_HINT =
  '`apt-get install -y --no-install-recommends prometheus` (Debian; .ci/run does this)';

// ---- the compose file, as the tests read it -------------------------------------------------

interface Healthcheck {
  readonly test?: readonly string[] | string;
  readonly disable?: boolean;
}
interface DependsOn {
  readonly condition?: string;
}
interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile?: string };
  readonly environment?: Readonly<Record<string, string>> | readonly string[];
  readonly ports?: readonly string[];
  readonly expose?: readonly string[];
  readonly volumes?: readonly string[];
  readonly command?: readonly string[];
  readonly healthcheck?: Healthcheck;
  readonly depends_on?: Readonly<Record<string, DependsOn>> | readonly string[];
  readonly stop_grace_period?: string;
  readonly init?: boolean;
  readonly restart?: string;
}
interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
}

function parseYamlFile(path: string): unknown {
  return parseYaml(readFileSync(path, 'utf8')) as unknown;
}

// The Compose schema test below validates the whole shape; the other tests read it through these types.
const compose = parseYamlFile(composeFile) as ComposeFile;

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`compose.yaml has no service ${name}`);
  return found;
}

/** A service's environment as a map, from either of Compose's two forms. */
function environmentOf(svc: ComposeService): Record<string, string> {
  const env = svc.environment ?? {};
  if (!Array.isArray(env)) return { ...(env as Record<string, string>) };
  return Object.fromEntries(
    (env as readonly string[]).map((entry) => {
      const eq = entry.indexOf('=');
      return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
}

interface PortBinding {
  readonly hostIp: string | undefined;
  readonly hostPort: string | undefined;
  readonly containerPort: number;
}

/** Compose's short port syntax: `[[ip:]host:]container[/protocol]` (IPv4 addresses only here). */
function portBindings(svc: ComposeService): PortBinding[] {
  return (svc.ports ?? []).map((spec) => {
    const parts = spec.replace(/\/(tcp|udp)$/, '').split(':');
    const container = Number(parts.at(-1));
    if (parts.length === 3)
      return { hostIp: parts[0], hostPort: parts[1], containerPort: container };
    if (parts.length === 2)
      return { hostIp: undefined, hostPort: parts[0], containerPort: container };
    return { hostIp: undefined, hostPort: undefined, containerPort: container };
  });
}

interface Mount {
  /** Absolute host path of a bind mount, or the name of a named volume. */
  readonly source: string;
  readonly bind: boolean;
  readonly target: string;
  readonly readOnly: boolean;
}

/** Compose's short volume syntax, `source:target[:mode]`; a relative source is a bind mount. */
function mountsOf(svc: ComposeService): Mount[] {
  return (svc.volumes ?? []).map((spec) => {
    const [source = '', target = '', mode = ''] = spec.split(':');
    const bind = source.startsWith('.') || source.startsWith('/');
    return {
      source: bind ? resolve(composeDir, source) : source,
      bind,
      target,
      readOnly: mode.split(',').includes('ro'),
    };
  });
}

/** The host path behind a path inside a service's container (the bind mount that holds it). */
function hostPathOf(svc: ComposeService, containerPath: string): string | undefined {
  const holding = mountsOf(svc)
    .filter((m) => m.bind)
    .filter((m) => containerPath === m.target || containerPath.startsWith(`${m.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (holding === undefined) return undefined;
  return join(holding.source, posix.relative(holding.target, containerPath));
}

/** Every `${NAME…}` the file interpolates, in its values (comments are not read). */
function interpolatedNames(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    // `$$` is Compose's escape for a literal `$` (a shell variable), not an interpolation.
    for (const m of value.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) into.add(m[1] ?? '');
  } else if (Array.isArray(value)) {
    for (const v of value as unknown[]) interpolatedNames(v, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) interpolatedNames(v, into);
  }
  return into;
}

/** `NAME=value` lines of an env file, comments and blank lines skipped. */
function readEnvFile(path: string): Record<string, string> {
  const entries: [string, string][] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    entries.push([trimmed.slice(0, eq), trimmed.slice(eq + 1)]);
  }
  return Object.fromEntries(entries);
}

/** A Compose duration (`20s`, `1m30s`, `1500ms`) in milliseconds. */
function durationMs(text: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)];
  if (parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ''] ?? NaN), 0);
}

// ---- tools ------------------------------------------------------------------------------------

interface ToolRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  tool: string,
  args: readonly string[],
  hint: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ToolRun> {
  return new Promise((resolveRun, reject) => {
    execFile(tool, args, { cwd: root, env, timeout: 60_000 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error(`${tool} is not installed: ${hint}`, { cause: err }));
        return;
      }
      const code = err === null ? 0 : (err as { code?: unknown }).code;
      resolveRun({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

/**
 * docker-compose with only PATH and HOME in its environment: a WARMROUTE_SECRET in the test
 * runner's environment must not stand in for the env file compose is given.
 */
function dockerCompose(args: readonly string[]): Promise<ToolRun> {
  return run('docker-compose', args, COMPOSE_HINT, {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: tmpdir(),
  });
}

// ---- the image the gateway service builds -----------------------------------------------------

const gatewayBuild = service('gateway').build;
const dockerfilePath =
  gatewayBuild === undefined
    ? ''
    : resolve(composeDir, gatewayBuild.context, gatewayBuild.dockerfile ?? 'Dockerfile');

/** The instructions of the Dockerfile's last stage (what runs in the container). */
function finalStage(): Instruction[] {
  const instructions = DockerfileParser.parse(
    readFileSync(dockerfilePath, 'utf8'),
  ).getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
  return instructions.slice(lastFrom + 1);
}

function argsOf(instruction: Instruction): string[] {
  return instruction.getArguments().map((a) => a.getValue());
}

/** The JSON array of an exec-form instruction (`["a", "b"]`), or undefined for shell form. */
function execForm(text: string): string[] | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

// ---- shared values ----------------------------------------------------------------------------

const SECRET_NAMES = ['WARMROUTE_SECRET', 'WARMROUTE_ADMIN_TOKEN', 'WARMROUTE_REDIS_PASSWORD'];
// An environment variable name that holds a credential, in any service.
const SECRET_LIKE = /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|(^|_)AUTH$|(^|_)API_?KEY$/i;

const gatewayEnv = environmentOf(service('gateway'));
const adminPort = Number(gatewayEnv['WARMROUTE_ADMIN_PORT']);

describe('deploy/compose: docker-compose renders the stack', () => {
  let dir = '';
  /** One distinct test value per variable the file interpolates. */
  let values: Record<string, string> = {};
  /** `docker-compose config` with those values, parsed. */
  let rendered: ComposeFile;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wr-compose-'));
    values = Object.fromEntries(
      [...interpolatedNames(compose)].map((name) => [
        name,
        `test-${name.toLowerCase()}-0123456789`,
      ]),
    );
    const envFile = join(dir, 'test.env');
    await writeFile(
      envFile,
      Object.entries(values)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    const result = await dockerCompose(['--env-file', envFile, '-f', composeFile, 'config']);
    if (result.code !== 0) throw new Error(`docker-compose config failed:\n${result.stderr}`);
    rendered = parseYaml(result.stdout) as ComposeFile;
  });
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('`docker-compose config -q` accepts compose.yaml with the example env file', async () => {
    // Prepare: the committed example, never a real secret.
    const args = ['--env-file', exampleEnvFile, '-f', composeFile, 'config', '-q'];

    // Act
    const result = await dockerCompose(args);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('the example env file names exactly the variables compose.yaml needs', () => {
    // Prepare
    const needed = [...interpolatedNames(compose)].sort();

    // Act
    const offered = Object.keys(readEnvFile(exampleEnvFile)).sort();

    // Assess
    expect(needed.length).toBeGreaterThan(0);
    expect(offered).toEqual(needed);
  });

  it('each missing variable stops compose with a message naming it', async () => {
    for (const missing of Object.keys(values)) {
      // Prepare: an env file with every variable but one.
      const envFile = join(dir, `without-${missing}.env`);
      const others = Object.entries(values).filter(([k]) => k !== missing);
      await writeFile(envFile, others.map(([k, v]) => `${k}=${v}\n`).join(''));

      // Act
      const result = await dockerCompose([
        '--env-file',
        envFile,
        '-f',
        composeFile,
        'config',
        '-q',
      ]);

      // Assess
      expect(result.code, missing).not.toBe(0);
      expect(result.stderr).toContain(`${missing} is not set`);
    }
    // One docker-compose start (a few seconds of Python) per variable on shared cores.
  }, 120_000);

  it('each secret reaches exactly the services that use it', () => {
    // Prepare: which service may hold which value (the least each needs).
    const allowed: Record<string, readonly string[]> = {
      gateway: SECRET_NAMES,
      redis: ['WARMROUTE_REDIS_PASSWORD'],
      prometheus: [],
      grafana: ['GRAFANA_ADMIN_PASSWORD'],
    };

    // Act: where each test value landed in the rendered file.
    const holders = Object.fromEntries(
      Object.entries(rendered.services).map(([name, svc]) => [
        name,
        Object.entries(values)
          .filter(([, value]) => JSON.stringify(svc).includes(value))
          .map(([variable]) => variable)
          .sort(),
      ]),
    );

    // Assess
    expect(Object.keys(holders).sort()).toEqual(Object.keys(allowed).sort());
    for (const [name, variables] of Object.entries(holders))
      expect(variables, name).toEqual([...(allowed[name] ?? [])].sort());
    const gateway = environmentOf(rendered.services['gateway'] ?? {});
    for (const name of SECRET_NAMES) expect(gateway[name], name).toBe(values[name]);
    expect(environmentOf(rendered.services['redis'] ?? {})['REDISCLI_AUTH']).toBe(
      values['WARMROUTE_REDIS_PASSWORD'],
    );
  });
});

describe('deploy/compose: the Compose specification schema', () => {
  it('compose.yaml validates against the schema Debian docker-compose ships', () => {
    // Prepare: the schema declares draft 2019-09 by its old http:// URI, which Ajv knows as
    // https://; fail loudly if a docker-compose update changes the draft.
    const schema = JSON.parse(readFileSync(composeSchemaFile, 'utf8')) as Record<string, unknown>;
    expect(schema['$schema']).toBe('http://json-schema.org/draft/2019-09/schema#');
    // Union types (`type: [string, number]`) are standard JSON Schema, which the spec uses.
    const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true });
    // Compose's own formats, with the syntax its documentation gives.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
    ajv.addFormat(
      'ports',
      /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
    );
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
    // The file also carries draft-04 `id`s ("#/definitions/service"), which draft 2019-09 does
    // not define: an annotation there. Ajv refuses `id` outright (a guard for draft-04 schemas),
    // so it is redeclared as the annotation it is; strict mode still refuses any other unknown.
    ajv.removeKeyword('id');
    ajv.addKeyword({ keyword: 'id', schemaType: 'string' });
    const validate = ajv.compile({
      ...schema,
      $schema: 'https://json-schema.org/draft/2019-09/schema',
    });

    // Act
    const valid = validate(parseYamlFile(composeFile));

    // Assess
    expect(ajv.errorsText(validate.errors, { separator: '\n' })).toBe('No errors');
    expect(valid).toBe(true);
  });
});

describe('deploy/compose: secrets and exposure', () => {
  it('no credential is written in compose.yaml: each is a required interpolation without default', () => {
    // Prepare
    const credentials = Object.entries(compose.services).flatMap(([name, svc]) =>
      Object.entries(environmentOf(svc))
        .filter(([key]) => SECRET_LIKE.test(key))
        .map(([key, value]) => ({ where: `${name}.${key}`, value })),
    );

    // Act: `${NAME:?message}` and nothing else (a `:-default` would be a literal secret).
    const literal = credentials.filter((c) => !/^\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}$/.test(c.value));

    // Assess
    expect(credentials.map((c) => c.where)).toEqual(
      expect.arrayContaining([
        ...SECRET_NAMES.map((n) => `gateway.${n}`),
        'redis.REDISCLI_AUTH',
        'grafana.GF_SECURITY_ADMIN_PASSWORD',
      ]),
    );
    expect(literal).toEqual([]);
  });

  it('Redis requires the same password the gateway sends, set from the environment', () => {
    // Prepare
    const redis = service('redis');
    const redisEnv = environmentOf(redis);
    const command = (redis.command ?? []).join(' ');

    // Act: the server's password is a shell variable of its own environment ($$ in Compose).
    const passwordVariable = /--requirepass\s+"?\$\$\{?([A-Z_]+)\}?"?/.exec(command)?.[1] ?? '';

    // Assess: one interpolation feeds both; redis-cli (the health check) reads REDISCLI_AUTH.
    expect(passwordVariable).toBe('REDISCLI_AUTH');
    expect([...interpolatedNames(redisEnv[passwordVariable])]).toEqual([
      ...interpolatedNames(gatewayEnv['WARMROUTE_REDIS_PASSWORD']),
    ]);
    expect(JSON.stringify(redis.healthcheck?.test)).toContain('redis-cli');
    // The URL names this service by its compose name and the port it exposes (no TLS inside the
    // compose network).
    const redisName = Object.keys(compose.services).find((n) => compose.services[n] === redis);
    expect(gatewayEnv['REDIS_URL']).toBe(
      `redis://${String(redisName)}:${String(redis.expose?.[0])}`,
    );
    // Persistence: the directory's epoch, rotations and bindings survive a restart.
    expect(command).toContain('--appendonly yes');
    expect(mountsOf(redis).find((m) => m.target === '/data')?.bind).toBe(false);
  });

  it("Redis's start command refuses the example's placeholder and a short password, and starts redis-server with a good one", async () => {
    // Prepare: the command as the container's shell gets it (Compose turns `$$` into `$`), run
    // by this machine's sh with a stand-in redis-server that prints its arguments.
    const [shell, flag, script = ''] = service('redis').command ?? [];
    const stubDir = await mkdtemp(join(tmpdir(), 'wr-compose-redis-'));
    const stub = join(stubDir, 'redis-server');
    await writeFile(stub, '#!/bin/sh\nprintf "%s\\n" "$@"\n');
    await chmod(stub, 0o755);
    const start = (password: string): Promise<ToolRun> =>
      run(shell ?? 'sh', [flag ?? '-c', script.replaceAll('$$', '$')], 'sh', {
        PATH: `${stubDir}:/usr/bin:/bin`,
        REDISCLI_AUTH: password,
      });
    const placeholder = readEnvFile(exampleEnvFile)['WARMROUTE_REDIS_PASSWORD'] ?? '';
    const good = 'a3f1c9e07b5d4e2f8a6c1b0d9e7f5a3c';

    // Act
    const withPlaceholder = await start(placeholder);
    const withPaddedPlaceholder = await start(`${placeholder}-${placeholder}-${placeholder}`);
    const withShort = await start('0123456789abcde');
    const withGood = await start(good);
    await rm(stubDir, { recursive: true, force: true });

    // Assess
    expect(placeholder).not.toBe('');
    for (const refused of [withPlaceholder, withPaddedPlaceholder, withShort]) {
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('WARMROUTE_REDIS_PASSWORD');
      expect(refused.stdout).toBe('');
    }
    expect(withGood.stderr).toBe('');
    expect(withGood.code).toBe(0);
    expect(withGood.stdout.split('\n')).toEqual(expect.arrayContaining(['--requirepass', good]));
  });

  it('Prometheus runs without the HTTP lifecycle and admin APIs (POST /-/quit on an unauthenticated port)', () => {
    // Act
    const flags = service('prometheus').command ?? [];

    // Assess
    expect(flags.filter((f) => /^--web\.enable-(lifecycle|admin-api)/.test(f))).toEqual([]);
  });

  it('the env file users fill with secrets is git-ignored', async () => {
    // Act
    const result = await run('git', ['check-ignore', '-q', 'deploy/compose/.env'], 'git');

    // Assess: exit 0 means ignored.
    expect(result.code).toBe(0);
  });

  it('every published port is bound to 127.0.0.1; the gateway publishes its public port only', () => {
    // Prepare
    const config = loadConfig({ ...gatewayEnv, ...testSecrets() });

    // Act
    const bindings = Object.entries(compose.services).flatMap(([name, svc]) =>
      portBindings(svc).map((b) => ({ name, ...b })),
    );
    const gatewayPorts = portBindings(service('gateway')).map((b) => b.containerPort);

    // Assess
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings)
      expect(b.hostIp, `${b.name} ${String(b.containerPort)}`).toBe('127.0.0.1');
    expect(gatewayPorts).toEqual([config.port]);
    expect(gatewayPorts).not.toContain(config.adminPort);
    expect(service('gateway').expose ?? []).toContain(String(config.adminPort));
  });

  it('every image is pinned to an exact version (never latest); the gateway is built', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      // Assess: built from the repository, or an image with an x.y.z tag.
      if (svc.image === undefined) {
        expect(svc.build, name).toBeDefined();
        continue;
      }
      expect(svc.image, name).toMatch(/^[a-z0-9./-]+:v?\d+\.\d+\.\d+$/);
    }
    expect(existsSync(dockerfilePath), dockerfilePath).toBe(true);
  });
});

/** Values that satisfy the gateway's schema, for loading the compose environment. */
function testSecrets(): Record<string, string> {
  return Object.fromEntries(SECRET_NAMES.map((n) => [n, `test-${n.toLowerCase()}-0123456789`]));
}

describe('deploy/compose: the gateway service agrees with the gateway', () => {
  it('names only settings of the config schema', () => {
    // Prepare
    const known = new Set(settings.map((s) => s.env));

    // Act
    const unknown = Object.keys(gatewayEnv).filter((name) => !known.has(name));

    // Assess
    expect(unknown).toEqual([]);
  });

  it('loads as a production config: listeners, Redis, a loopback local host without a token', () => {
    // Prepare: what the container gets, the image's ENV overlaid with the service's environment.
    const containerEnv = { ...imageEnv(), ...gatewayEnv, ...testSecrets() };

    // Act
    const config = loadConfig(containerEnv);

    // Assess
    expect(config.production).toBe(true);
    // The container conventions as the image writes them (the service may restate, not change them).
    for (const name of ['HOST', 'PORT', 'WARMROUTE_ADMIN_HOST', 'WARMROUTE_ADMIN_PORT'])
      expect(containerEnv[name], name).toBe(imageEnv()[name]);
    expect(config.host).toBe(imageEnv()['HOST']);
    expect(config.adminHost).toBe(imageEnv()['WARMROUTE_ADMIN_HOST']);
    expect(config.adminPort).toBeDefined();
    expect(config.adminPort).not.toBe(config.port);
    // The image says aws; the example functions run on the local host only because the service
    // sets it explicitly.
    expect(imageEnv()['WARMROUTE_BACKEND']).toBe('aws');
    expect(gatewayEnv['WARMROUTE_BACKEND']).toBe('local');
    expect(config.backend).toBe('local');
    expect(config.redisPassword).toBe(testSecrets()['WARMROUTE_REDIS_PASSWORD']);
    // On loopback the local host needs no control token (its control API lists every tenant).
    expect(['127.0.0.1', '::1', 'localhost']).toContain(config.localHost);
    expect(config.localControlToken).toBeUndefined();
    const redisHost = new URL(config.redisUrl ?? '').hostname;
    expect(Object.keys(compose.services)).toContain(redisHost);
  });

  it('refuses to start with the example env file as it is (its placeholders are too short)', () => {
    // Prepare
    const example = readEnvFile(exampleEnvFile);

    // Act
    const load = (): unknown => loadConfig({ ...gatewayEnv, ...example });

    // Assess
    expect(load).toThrow(/WARMROUTE_SECRET/);
    expect(load).toThrow(/WARMROUTE_ADMIN_TOKEN/);
  });

  it('gives up after a few restarts when it exits with an error (a refused config does not loop)', () => {
    // Act: Compose's restart policy, `on-failure[:max-retries]`.
    const match = /^on-failure:(\d+)$/.exec(service('gateway').restart ?? '');

    // Assess
    expect(match, service('gateway').restart).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThan(0);
    expect(Number(match?.[1])).toBeLessThanOrEqual(5);
  });

  it("its functions file is the image's copy of lambda/examples/functions.json", () => {
    // Prepare: the final stage's WORKDIR and its COPYs from the build context.
    const stage = finalStage();
    const workdir = argsOf(stage.filter((i) => i.getKeyword() === 'WORKDIR').at(-1)!)[0] ?? '/';
    // COPY --from copies out of another stage, not from the repository.
    const copies = stage
      .filter((i): i is Copy => i instanceof Copy && i.getFromFlag() === null)
      .map((i) => {
        const args = argsOf(i);
        return { from: args[0] ?? '', to: posix.resolve(workdir, args.at(-1) ?? '') };
      });
    const functionsFile = gatewayEnv['WARMROUTE_FUNCTIONS_FILE'] ?? '';

    // Act: the repository file the image holds at that path.
    const copy = copies.find((c) => functionsFile.startsWith(`${c.to}/`));
    const source =
      copy === undefined ? '' : join(root, copy.from, posix.relative(copy.to, functionsFile));

    // Assess
    expect(copy, `no COPY puts ${functionsFile} in the image`).toBeDefined();
    expect(relative(root, source)).toBe(join('lambda', 'examples', 'functions.json'));
    expect(existsSync(source)).toBe(true);
  });

  it('compose waits longer than the shutdown grace plus the backstop before SIGKILL', () => {
    // Prepare: the grace the service runs with, and main's backstop beyond it.
    const graceMs = Number(gatewayEnv['WARMROUTE_SHUTDOWN_GRACE_MS'] ?? defaults.shutdownGraceMs);

    // Act
    const stopMs = durationMs(service('gateway').stop_grace_period ?? '10s');

    // Assess
    expect(stopMs).toBeGreaterThanOrEqual(graceMs + SHUTDOWN_BACKSTOP_MS);
  });

  it('signals reach Node and health is checked: an init process and a HEALTHCHECK in the image', () => {
    // Prepare
    const stage = finalStage();
    const entrypoint = stage.filter((i) => i.getKeyword() === 'ENTRYPOINT').at(-1);
    const healthcheck = stage.filter((i) => i.getKeyword() === 'HEALTHCHECK').at(-1);

    // Act: exec forms, as written after ENTRYPOINT and after HEALTHCHECK's CMD.
    const init = execForm(entrypoint?.getArgumentsContent() ?? '')?.[0] ?? '';
    const probe = execForm(
      (healthcheck?.getArgumentsContent() ?? '').replace(/^(--\S+\s+)*CMD\s+/, ''),
    );

    // Assess: tini (or compose's own init) as PID 1; the service relies on the image's check.
    expect(init.endsWith('/tini') || service('gateway').init === true, init).toBe(true);
    expect(service('gateway').healthcheck).toBeUndefined();
    expect(probe, 'an exec-form HEALTHCHECK in the image').toBeDefined();
  });
});

describe('deploy/compose: start order', () => {
  /** Whether a service has a health check: its own, or its image's (built services). */
  function hasHealthcheck(name: string): boolean {
    const svc = service(name);
    if (svc.healthcheck !== undefined) return svc.healthcheck.disable !== true;
    if (svc.build === undefined) return false;
    return finalStage().some((i) => i.getKeyword() === 'HEALTHCHECK');
  }

  it('every dependency has a condition, and service_healthy only on services with a health check', () => {
    // Prepare
    const edges = Object.entries(compose.services).flatMap(([name, svc]) => {
      const deps = svc.depends_on ?? {};
      expect(Array.isArray(deps), `${name}.depends_on must name conditions`).toBe(false);
      return Object.entries(deps as Record<string, DependsOn>).map(([target, d]) => ({
        name,
        target,
        condition: d.condition,
      }));
    });

    // Act
    const healthy = edges.filter((e) => e.condition === 'service_healthy');

    // Assess
    expect(edges.every((e) => e.condition !== undefined)).toBe(true);
    expect(edges).toEqual(
      expect.arrayContaining([
        { name: 'gateway', target: 'redis', condition: 'service_healthy' },
        { name: 'grafana', target: 'prometheus', condition: 'service_healthy' },
      ]),
    );
    for (const e of healthy) expect(hasHealthcheck(e.target), e.target).toBe(true);
    for (const name of Object.keys(compose.services)) expect(hasHealthcheck(name), name).toBe(true);
  });
});

// ---- Prometheus -------------------------------------------------------------------------------

interface PrometheusConfig {
  readonly global?: { readonly scrape_interval?: string; readonly evaluation_interval?: string };
  readonly rule_files?: readonly string[];
  readonly scrape_configs?: readonly {
    readonly job_name: string;
    readonly metrics_path?: string;
    readonly static_configs?: readonly { readonly targets: readonly string[] }[];
  }[];
}

const prometheus = service('prometheus');
/** `--flag=value` of the service's command, else the image's default. */
function prometheusFlag(flag: string, imageDefault: string): string {
  const prefix = `--${flag}=`;
  return (
    (prometheus.command ?? []).find((a) => a.startsWith(prefix))?.slice(prefix.length) ??
    imageDefault
  );
}
const prometheusConfigPath =
  hostPathOf(prometheus, prometheusFlag('config.file', '/etc/prometheus/prometheus.yml')) ?? '';
const prometheusConfig = parseYamlFile(prometheusConfigPath) as PrometheusConfig;
const ruleDir = join(root, 'dashboards/prometheus');

/** Files matching a `dir/*.ext` glob, as Prometheus expands rule_files (one level, no recursion). */
function globOneLevel(pattern: string): string[] {
  const dir = posix.dirname(pattern);
  const base = posix.basename(pattern);
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return readdirSync(dir)
    .filter((f) => re.test(f) && statSync(join(dir, f)).isFile())
    .map((f) => join(dir, f))
    .sort();
}

describe('deploy/compose: Prometheus', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wr-compose-prom-'));
  });
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('its config file is the mounted deploy/compose/prometheus/prometheus.yml', () => {
    // Assess
    expect(relative(root, prometheusConfigPath)).toBe(
      join('deploy', 'compose', 'prometheus', 'prometheus.yml'),
    );
    expect(existsSync(prometheusConfigPath)).toBe(true);
  });

  it('loads exactly the rule files of dashboards/prometheus (not its tests), through the mounts', () => {
    // Prepare: each rule_files entry (a container path) mapped through the volume mounts.
    const patterns = prometheusConfig.rule_files ?? [];

    // Act
    const loaded = patterns.flatMap((p) => {
      const host = hostPathOf(prometheus, p);
      expect(host, `${p} is not under a bind mount`).toBeDefined();
      return globOneLevel(host ?? '');
    });
    const expected = readdirSync(ruleDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(ruleDir, f))
      .sort();

    // Assess
    expect(expected.length).toBeGreaterThan(0);
    expect(loaded.sort()).toEqual(expected);
    expect(
      mountsOf(prometheus)
        .filter((m) => m.source === ruleDir)
        .every((m) => m.readOnly),
    ).toBe(true);
  });

  it('`promtool check config` passes, rule files included', async () => {
    // Prepare: a copy whose rule_files point at the repository's files (their host paths).
    const copy = {
      ...prometheusConfig,
      rule_files: (prometheusConfig.rule_files ?? []).map((p) => hostPathOf(prometheus, p) ?? p),
    };
    const file = join(dir, 'prometheus.yml');
    // JSON is YAML.
    await writeFile(file, JSON.stringify(copy, null, 2));

    // Act
    const result = await run('promtool', ['check', 'config', file], PROMTOOL_HINT);

    // Assess: promtool names each rule file it checked.
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const rules of readdirSync(ruleDir).filter((f) => f.endsWith('.yaml')))
      expect(result.stdout).toContain(rules);
  });

  it("scrapes the gateway's admin port as the job the rules and dashboards select", () => {
    // Prepare: job="warmroute" in the thresholds the rules are generated from.
    const job = /job="([^"]+)"/.exec(defaultThresholds.jobSelector)?.[1];
    const health = readFileSync(join(root, 'src/http/routes/health.ts'), 'utf8');

    // Act
    const scrape = (prometheusConfig.scrape_configs ?? []).find((s) => s.job_name === job);
    const targets = scrape?.static_configs?.flatMap((s) => s.targets) ?? [];

    // Assess
    expect(scrape, `a scrape config with job_name ${String(job)}`).toBeDefined();
    expect(targets).toEqual([`gateway:${String(adminPort)}`]);
    const path = scrape?.metrics_path ?? '/metrics';
    expect(health).toContain(`app.get('${path}'`);
  });

  it('the scrape interval leaves every rule window at least four samples', () => {
    // Prepare
    const scrapeMs = durationMs(prometheusConfig.global?.scrape_interval ?? '1m');
    const ranges = readdirSync(ruleDir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => [...readFileSync(join(ruleDir, f), 'utf8').matchAll(/\[(\d+[smhdw])\]/g)])
      .map((m) => m[1] ?? '');

    // Act: Prometheus durations in ms (d and w beyond Compose's units).
    const units: Record<string, number> = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 };
    const toMs = (d: string): number => Number(d.slice(0, -1)) * (units[d.slice(-1)] ?? NaN);
    const shortest = Math.min(...ranges.map(toMs));

    // Assess
    expect(ranges.length).toBeGreaterThan(0);
    expect(shortest).toBeGreaterThanOrEqual(4 * scrapeMs);
  });
});

// ---- Grafana ----------------------------------------------------------------------------------

interface DatasourceProvisioning {
  readonly datasources: readonly {
    readonly name: string;
    readonly uid?: string;
    readonly type: string;
    readonly url: string;
    readonly isDefault?: boolean;
    readonly jsonData?: { readonly timeInterval?: string };
  }[];
}
interface DashboardProvisioning {
  readonly providers: readonly {
    readonly name: string;
    readonly type: string;
    readonly options: { readonly path: string };
  }[];
}

const grafana = service('grafana');
/** Provisioning files of one kind, read through the mount of /etc/grafana/provisioning/<kind>. */
function provisioning(kind: 'datasources' | 'dashboards'): unknown[] {
  const hostDir = hostPathOf(grafana, `/etc/grafana/provisioning/${kind}`);
  if (hostDir === undefined) throw new Error(`grafana mounts nothing at provisioning/${kind}`);
  return readdirSync(hostDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => parseYamlFile(join(hostDir, f)));
}

/** Every `datasource` reference in a dashboard: panels, targets, variables, annotations. */
function datasourceRefs(value: unknown, into: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value as unknown[]) datasourceRefs(v, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'datasource') into.push(v);
      datasourceRefs(v, into);
    }
  }
  return into;
}

/** Files the file provider would load under a folder: *.json, subfolders included. */
function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(dir, f))
    .sort();
}

describe('deploy/compose: Grafana provisioning', () => {
  const datasources = provisioning('datasources').flatMap(
    (f) => (f as DatasourceProvisioning).datasources,
  );
  const providers = provisioning('dashboards').flatMap(
    (f) => (f as DashboardProvisioning).providers,
  );
  const dashboardFiles = readdirSync(join(root, 'dashboards'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(root, 'dashboards', f))
    .sort();

  it('the dashboard provider loads exactly dashboards/*.json, mounted read-only', () => {
    // Act: each provider's path (in the container) through the volume mounts.
    const loaded = providers.flatMap((p) => {
      const host = hostPathOf(grafana, p.options.path);
      expect(host, `${p.options.path} is not under a bind mount`).toBeDefined();
      return jsonFilesUnder(host ?? '');
    });

    // Assess
    expect(providers.map((p) => p.type)).toEqual(['file']);
    expect(dashboardFiles.length).toBeGreaterThan(0);
    expect(loaded).toEqual(dashboardFiles);
    const dashboardsMount = mountsOf(grafana).find((m) => m.source === join(root, 'dashboards'));
    expect(dashboardsMount?.readOnly).toBe(true);
  });

  it("the home dashboard exists (a path inside the dashboards' mount)", () => {
    // Prepare
    const home = environmentOf(grafana)['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'] ?? '';

    // Act
    const host = hostPathOf(grafana, home) ?? '';

    // Assess
    expect(dashboardFiles).toContain(host);
  });

  it('one default Prometheus data source: the compose Prometheus, at its scrape interval', () => {
    // Prepare
    const listen = prometheusFlag('web.listen-address', ':9090');

    // Act
    const [source] = datasources;
    const url = new URL(source?.url ?? 'http://invalid');

    // Assess
    expect(datasources).toHaveLength(1);
    expect(source?.type).toBe('prometheus');
    expect(source?.isDefault).toBe(true);
    expect(url.hostname).toBe('prometheus');
    expect(`:${url.port}`).toBe(listen.slice(listen.lastIndexOf(':')));
    expect(source?.jsonData?.timeInterval).toBe(prometheusConfig.global?.scrape_interval);
  });

  it("every dashboard's data source reference resolves to the provisioned data source", () => {
    const [source] = datasources;
    for (const file of dashboardFiles) {
      // Prepare
      const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
        templating?: {
          list?: { type: string; name: string; query?: unknown; current?: { value?: unknown } }[];
        };
      };
      const variables = dashboard.templating?.list ?? [];

      // Act
      const refs = datasourceRefs(dashboard) as ({ type?: string; uid?: string } | string | null)[];

      // Assess: a literal uid must be the provisioned one; a `${var}` must be a data source
      // variable of that type whose starting value is the default data source or the provisioned one.
      expect(refs.length, file).toBeGreaterThan(0);
      for (const ref of refs) {
        const uid = typeof ref === 'string' ? ref : (ref?.uid ?? '');
        if (typeof ref === 'object' && ref !== null) expect(ref.type, file).toBe(source?.type);
        const variable = /^\$\{?(\w+)\}?$/.exec(uid)?.[1];
        if (variable === undefined) {
          expect(uid, file).toBe(source?.uid);
          continue;
        }
        const declared = variables.find((v) => v.name === variable);
        expect(declared?.type, `${file}: \${${variable}}`).toBe('datasource');
        expect(declared?.query, file).toBe(source?.type);
        const current = declared?.current?.value;
        if (current !== undefined && current !== '')
          expect([source?.uid, source?.name, 'default'], file).toContain(current);
        else expect(source?.isDefault, file).toBe(true);
      }
    }
  });
});
