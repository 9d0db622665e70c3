import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { Cmd, Copy, Healthcheck, Run, type Dockerfile } from 'dockerfile-ast';
import ts from 'typescript';
import { describe, expect, it, onTestFinished } from 'vitest';
import { defaults, settings } from '../../src/config/schema.js';
import { HEALTHCHECK_TIMEOUT_MS } from '../../src/healthcheck.js';
import { packageRoot } from '../../src/paths.js';
import { DIRECTORY_KEY_PREFIX } from '../../src/redis/keys.js';
import { freePort } from '../helpers/ports.js';
import { deleteByPrefix, SHARED_REDIS_URL } from '../helpers/redis.js';
import {
  copyFromEarlierStages,
  copySourcesInContext,
  execFormCommands,
  execFormOf,
  exposeMatchesListenPorts,
  finalStageCopies,
  finalStageEnv,
  healthcheckCommandOf,
  healthcheckExecWithTimeout,
  initEntrypoint,
  multiStage,
  noPackageManagersInRuntime,
  noRemoteAdd,
  noSecretsInArgOrEnv,
  nonRootFinalStage,
  parseDockerfile,
  pinnedBaseImages,
  productionDependenciesOnly,
  publishedFilesMirrored,
  stagesOf,
  stageWorkdir,
  type BuildContext,
  type Stage,
} from './helpers/dockerfile-rules.js';
import { isExcluded, parseDockerignore } from './helpers/dockerignore.js';

/**
 * deploy/docker/Dockerfile and the root .dockerignore, checked without a Docker engine: the
 * Dockerfile is parsed with dockerfile-ast and held to the rules in helpers/dockerfile-rules.ts
 * (each proven to fire on a broken Dockerfile), compared with what it must agree with (the
 * config schema's settings and defaults, package.json "bin" and "files", the files of a fresh
 * clone and .dockerignore), and its final stage is laid out in a temporary directory and run:
 * the gateway starts from exactly the files the image holds, answers its own HEALTHCHECK
 * command and invokes an example function.
 */

const DOCKERFILE = join(packageRoot, 'deploy/docker/Dockerfile');
const DOCKERIGNORE = join(packageRoot, '.dockerignore');

interface PackageJson {
  readonly bin: Readonly<Record<string, string>>;
  readonly files: readonly string[];
  readonly scripts: Readonly<Record<string, string>>;
}

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as PackageJson;
const dockerfile = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const ignore = parseDockerignore(readFileSync(DOCKERIGNORE, 'utf8'));

/** What a fresh clone holds: the build context CI and users build from. */
const trackedFiles = execFileSync('git', ['ls-files', '-z'], { cwd: packageRoot, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f !== '');
const context: BuildContext = { files: trackedFiles, excluded: (path) => isExcluded(ignore, path) };

/**
 * A build stage's path as this checkout has it: relative to the stage's WORKDIR, where the
 * stage copied the repository and ran the same build (`npm test` builds first).
 */
function stagePathInCheckout(stage: Stage, source: string): string {
  return join(packageRoot, posix.relative(stageWorkdir(stage), source));
}

/**
 * Whether a COPY source is a directory: in the context, a path with tracked files under it; in a
 * build stage, a directory in this checkout.
 */
function isDirectory(stage: Stage | undefined, source: string): boolean {
  if (stage === undefined) return trackedFiles.some((f) => f.startsWith(`${source}/`));
  const local = stagePathInCheckout(stage, source);
  return existsSync(local) && statSync(local).isDirectory();
}

/** The gateway's secret settings: WARMROUTE_SECRET, the admin and control tokens, the Redis password. */
const secretNamed = /SECRET|TOKEN|PASSWORD/;
const gatewaySecrets = settings.map((s) => s.env).filter((name) => secretNamed.test(name));
/** Settings named KEY for the affinity key (WARMROUTE_KEY_HEADER…), not a cryptographic one. */
const safeKeyNamed = settings
  .map((s) => s.env)
  .filter((name) => /KEY/.test(name) && !secretNamed.test(name));

/** The final stage's last CMD and HEALTHCHECK commands (exec form), what `docker run` runs. */
function finalCommands(): {
  cmd: readonly string[] | undefined;
  check: readonly string[] | undefined;
} {
  const instructions = stagesOf(dockerfile).at(-1)?.instructions ?? [];
  const cmd = instructions.filter((i): i is Cmd => i instanceof Cmd).at(-1);
  const check = instructions.filter((i): i is Healthcheck => i instanceof Healthcheck).at(-1);
  return {
    cmd: cmd === undefined ? undefined : execFormOf(cmd),
    check: check === undefined ? undefined : healthcheckCommandOf(check),
  };
}

interface RuleCase {
  readonly rule: string;
  readonly check: (d: Dockerfile) => string[];
  /** The rule as applied to the repository, when the fixture needs other arguments. */
  readonly onRepository?: (d: Dockerfile) => string[];
  /** A Dockerfile that breaks the rule. */
  readonly broken: string;
  /** What the problem must say. */
  readonly says: RegExp;
}

const GOOD_TAIL = [
  'RUN apt-get update && apt-get install -y tini',
  'USER 1000:1000',
  'HEALTHCHECK --timeout=3s CMD ["node", "x.js"]',
  'ENTRYPOINT ["/usr/bin/tini", "--"]',
  'CMD ["node", "x.js"]',
].join('\n');

const rules: readonly RuleCase[] = [
  {
    rule: 'multi-stage',
    check: multiStage,
    broken: `FROM node:22.23.0-bookworm-slim\n${GOOD_TAIL}`,
    says: /1 FROM, need at least 2/,
  },
  {
    rule: 'base images pinned',
    check: pinnedBaseImages,
    broken: `FROM node:22-bookworm-slim AS build\nFROM node:latest\nFROM node\nFROM build\n${GOOD_TAIL}`,
    says: /tag 22-bookworm-slim is not an x.y.z version[^]*tag latest[^]*FROM node: no tag/,
  },
  {
    rule: 'non-root final stage',
    check: nonRootFinalStage,
    broken: `FROM a:1.2.3 AS b\nUSER 1000\nFROM a:1.2.3\nUSER node\nUSER root\nRUN true`,
    says: /runs as root \(USER root\)[^]*RUN after the last USER/,
  },
  {
    rule: 'non-root final stage (numeric)',
    check: nonRootFinalStage,
    broken: `FROM a:1.2.3\nRUN true\nUSER node`,
    says: /USER node: not numeric/,
  },
  {
    rule: 'exec-form CMD and ENTRYPOINT',
    check: execFormCommands,
    broken: `FROM a:1.2.3\nENTRYPOINT tini --\nCMD node dist/src/cli.js start`,
    says: /CMD node dist\/src\/cli.js start: shell form[^]*ENTRYPOINT tini --: shell form/,
  },
  {
    rule: 'init as ENTRYPOINT',
    check: initEntrypoint,
    broken: `FROM a:1.2.3\nENTRYPOINT ["node"]\nCMD ["x.js"]`,
    says: /ENTRYPOINT is not an init/,
  },
  {
    rule: 'init installed in the image',
    check: initEntrypoint,
    broken: `FROM a:1.2.3\nENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["node", "x.js"]`,
    says: /final stage does not install tini/,
  },
  {
    rule: 'no secrets in ARG/ENV',
    check: (d) => noSecretsInArgOrEnv(d, { safe: safeKeyNamed, secrets: gatewaySecrets }),
    broken: `FROM a:1.2.3 AS b\nARG NPM_TOKEN\nFROM a:1.2.3\nENV WARMROUTE_SECRET=abcdefghijklmnopq API_KEY=x WARMROUTE_KEY_HEADER=x-k`,
    says: /ARG NPM_TOKEN[^]*ENV WARMROUTE_SECRET \(line 4\): a secret setting[^]*ENV API_KEY/,
  },
  {
    rule: 'no package managers in a node-based runtime',
    check: noPackageManagersInRuntime,
    broken: [
      'FROM node:22.23.0-bookworm-slim AS runtime',
      'RUN rm -rf /usr/local/bin/npm /usr/local/lib/node_modules/npm',
      'FROM runtime',
      'RUN apt-get update',
    ].join('\n'),
    says: /\/usr\/local\/lib\/node_modules\/corepack: the final stage[^]*\/usr\/local\/bin\/npm: the final stage[^]*\/opt\/yarn-v\*/,
  },
  {
    rule: 'no ADD of a URL',
    check: noRemoteAdd,
    broken: `FROM a:1.2.3\nADD https://example.com/tini /tini\nADD local.txt /x`,
    says: /^ADD https:\/\/example.com\/tini: remote source$/,
  },
  {
    rule: 'production dependencies only',
    check: productionDependenciesOnly,
    broken: [
      'FROM a:1.2.3 AS deps',
      'WORKDIR /app',
      'RUN npm ci',
      'FROM deps AS build',
      'RUN npm run build',
      'FROM a:1.2.3',
      'COPY --from=build /app ./',
    ].join('\n'),
    says: /COPY --from=build \/app: stage build installed dev dependencies \(npm ci\)/,
  },
  {
    rule: 'exec-form HEALTHCHECK with a timeout',
    check: healthcheckExecWithTimeout,
    broken: `FROM a:1.2.3\nHEALTHCHECK CMD curl -f http://localhost:3000/readyz || exit 1`,
    says: /not CMD in exec form[^]*no --timeout/,
  },
  {
    rule: 'EXPOSE matches the listen ports',
    check: (d) => exposeMatchesListenPorts(d, ['PORT', 'WARMROUTE_ADMIN_PORT']),
    broken: `FROM a:1.2.3\nENV PORT=3000 WARMROUTE_ADMIN_PORT=9090\nEXPOSE 3000 8080`,
    says: /EXPOSE 3000 8080 but the listen settings use 3000 9090/,
  },
  {
    rule: 'COPY sources exist and reach the context',
    check: (d) =>
      copySourcesInContext(d, {
        files: ['src/a.ts', 'src/lua/x.lua', '.env'],
        excluded: (path) => isExcluded(parseDockerignore('*\n!src\n**/*.lua'), path),
      }),
    broken: `FROM a:1.2.3\nCOPY src ./src\nCOPY missing.json .env ./`,
    onRepository: (d) => copySourcesInContext(d, context),
    says: /COPY src: .dockerignore leaves out src\/lua\/x.lua[^]*COPY missing.json: not in the repository[^]*COPY .env: .dockerignore leaves out .env/,
  },
  {
    rule: 'COPY --from an earlier stage',
    check: copyFromEarlierStages,
    broken: `FROM a:1.2.3 AS one\nCOPY --from=two /x /x\nFROM a:1.2.3 AS two\nCOPY --from=nginx:1.27.0 /etc /etc`,
    says: /--from=two: not an earlier stage[^]*--from=nginx:1.27.0/,
  },
  {
    rule: 'runtime files mirror package.json "files"',
    check: (d) =>
      publishedFilesMirrored(d, ['dist/src', '!dist/**/*.map', 'lua'], (_stage, source) =>
        ['/app/dist/src', 'lua', 'test'].includes(source),
      ),
    onRepository: (d) => publishedFilesMirrored(d, pkg.files, isDirectory),
    broken: [
      'FROM a:1.2.3 AS build',
      'WORKDIR /app',
      'RUN npm run build',
      'FROM a:1.2.3',
      'WORKDIR /app',
      'COPY --from=build /app/dist/src ./dist/src',
      'COPY test ./test',
    ].join('\n'),
    says: /entry lua: not copied[^]*\/app\/test: copied but not in package.json "files"[^]*package.json: not copied[^]*!dist\/\*\*\/\*.map: stage build does not delete \*.map/,
  },
];

describe('deploy/docker/Dockerfile rules', () => {
  it.each(rules)('$rule: holds for deploy/docker/Dockerfile', ({ check, onRepository }) => {
    // Act
    const problems = (onRepository ?? check)(dockerfile);

    // Assess
    expect(problems).toEqual([]);
  });

  it.each(rules)('$rule: fires on a broken Dockerfile', ({ check, broken, says }) => {
    // Act
    const problems = check(parseDockerfile(broken));

    // Assess
    expect(problems.join('\n')).toMatch(says);
  });
});

describe('deploy/docker/Dockerfile agrees with the gateway', () => {
  it('every stage starts from one Node 22 bookworm-slim image at an exact version', () => {
    // Act
    const images = stagesOf(dockerfile)
      .map((s) => s.from)
      .filter((f) => !stagesOf(dockerfile).some((s) => s.name === f.getImage()))
      .map((f) => `${f.getImageName() ?? ''}:${f.getImageTag() ?? ''}`);

    // Assess
    expect(new Set(images).size).toBe(1);
    expect(images[0]).toMatch(/^node:22\.\d+\.\d+-bookworm-slim$/);
  });

  it('sets the shared listen settings, production and the AWS backend, under names the config schema has', () => {
    // Act
    const env = finalStageEnv(dockerfile);

    // Assess: the AWS backend unless told otherwise (compose says local; the schema's default is
    // local, the demo functions).
    // This ENV is where the container conventions are written (helpers/container-conventions.ts
    // reads it for the compose and Kubernetes tests); here it is held to what the gateway needs:
    // the public port is the schema's default, both listeners on a wildcard address, the admin
    // listener on a port of its own.
    const adminPort = Number(env.get('WARMROUTE_ADMIN_PORT'));
    expect([...env.keys()].sort()).toEqual(
      [
        'HOST',
        'NODE_ENV',
        'PORT',
        'WARMROUTE_ADMIN_HOST',
        'WARMROUTE_ADMIN_PORT',
        'WARMROUTE_BACKEND',
      ].sort(),
    );
    expect(env.get('NODE_ENV')).toBe('production');
    expect(env.get('WARMROUTE_BACKEND')).toBe('aws');
    expect(defaults.backend).not.toBe('aws');
    expect(env.get('PORT')).toBe(String(defaults.port));
    expect(['0.0.0.0', '::']).toContain(env.get('HOST'));
    expect(['0.0.0.0', '::']).toContain(env.get('WARMROUTE_ADMIN_HOST'));
    expect(Number.isInteger(adminPort) && adminPort > 0 && adminPort < 65_536).toBe(true);
    expect(adminPort).not.toBe(defaults.port);
    const known = new Set(settings.map((s) => s.env));
    for (const name of env.keys()) {
      if (name !== 'NODE_ENV') expect(known, name).toContain(name);
    }
  });

  it('runs `warmroute start` and health-checks with `warmroute healthcheck`, through the package bin at an absolute path', () => {
    // Prepare: the bin inside the final stage's WORKDIR, where the image has the package.
    const bin = pkg.bin['warmroute'] ?? '';
    const workdir = stageWorkdir(stagesOf(dockerfile).at(-1) as Stage);
    const cli = posix.join(workdir, bin);

    // Act
    const { cmd, check } = finalCommands();

    // Assess: absolute, so a working directory set at run time does not break either.
    expect(bin).not.toBe('');
    expect(posix.isAbsolute(cli)).toBe(true);
    expect(cmd).toEqual(['node', cli, 'start']);
    expect(check).toEqual(['node', cli, 'healthcheck']);
  });

  it("stops with a signal the gateway drains on, and gives the health check more time than the CLI's own limit", () => {
    // Prepare
    // src/main.ts registers its handlers inline (`process.once('SIGTERM', …)`) and exports no
    // list of the signals it drains on, so its text is read; main.ts is not this test's to change.
    const main = readFileSync(join(packageRoot, 'src/main.ts'), 'utf8');
    const last = stagesOf(dockerfile).at(-1);
    const stopSignal = last?.instructions.find((i) => i.getKeyword() === 'STOPSIGNAL');
    const healthcheck = last?.instructions.find((i) => i instanceof Healthcheck);

    // Act
    const signal = stopSignal?.getArgumentsContent()?.trim() ?? '';
    const timeout = /^(\d+)s$/.exec(
      healthcheck
        ?.getFlags()
        .find((f) => f.getName() === 'timeout')
        ?.getValue() ?? '',
    )?.[1];

    // Assess
    expect(signal).toBe('SIGTERM');
    expect(main).toContain(`process.once('${signal}'`);
    expect(Number(timeout) * 1000).toBeGreaterThan(HEALTHCHECK_TIMEOUT_MS);
  });

  it('.dockerignore keeps out dependencies, builds, git, tests, bench output, cdk.out and env files', () => {
    // Prepare
    const mustStayOut = [
      'node_modules/fastify/package.json',
      'lambda/node_modules/x/index.js',
      'dist/src/cli.js',
      'src/dist/x.js',
      '.git/HEAD',
      'test/deploy/dockerfile.test.ts',
      'coverage/index.html',
      'bench/results/run.json',
      'deploy/cdk/cdk.out/manifest.json',
      '.env',
      '.env.production',
      'deploy/compose/.env',
      'src/.env.local',
      'lambda/examples/.env',
      'deploy/compose/secrets/admin-token',
    ];

    // Act
    const leaked = mustStayOut.filter((path) => !isExcluded(ignore, path));

    // Assess
    expect(leaked).toEqual([]);
  });

  it('the stages copy outputs the build makes: their paths exist in this checkout after npm run build', () => {
    // Act
    const missing = finalStageCopies(dockerfile, isDirectory)
      .filter((c): c is typeof c & { stage: Stage } => c.stage !== undefined)
      .map((c) => stagePathInCheckout(c.stage, c.source))
      .filter((path) => !existsSync(path));

    // Assess
    expect(missing).toEqual([]);
  });
});

describe('the image build compiles from what the build stage is given', () => {
  /** The stage that runs `npm run build`, and the context paths it COPYs in. */
  const buildStage = stagesOf(dockerfile).find((stage) =>
    stage.instructions.some(
      (i) => i instanceof Run && /\bnpm run build\b/.test(i.getArgumentsContent() ?? ''),
    ),
  );
  const copiedFromContext = (buildStage?.instructions ?? [])
    .filter((i): i is Copy => i instanceof Copy && i.getFromFlag() === null)
    .flatMap((i) =>
      i
        .getArguments()
        .slice(0, -1)
        .map((a) => posix.normalize(a.getValue())),
    );
  /** Whether a repository file is in the build stage: in the context and under one of its COPYs. */
  const inBuildStage = (file: string): boolean =>
    !isExcluded(ignore, file) &&
    copiedFromContext.some((source) => file === source || file.startsWith(`${source}/`));

  const buildConfig = join(packageRoot, 'tsconfig.build.json');
  /** tsconfig.build.json as the TypeScript API reads it, with the configs it extends. */
  function parseBuildConfig(): { parsed: ts.ParsedCommandLine; configFiles: string[] } {
    const extended = new Map<string, ts.ExtendedConfigCacheEntry>();
    const parsed = ts.getParsedCommandLineOfConfigFile(
      buildConfig,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
      extended,
    );
    if (parsed === undefined) throw new Error('cannot read tsconfig.build.json');
    const configFiles = [buildConfig, ...extended.keys()].map((f) => relative(packageRoot, f));
    return { parsed, configFiles };
  }

  /**
   * The program `tsc` builds in the image: the config's root files that the build stage has
   * (bench/ is in the config but not in the context), then everything they import. Returns the
   * program's own source files (not node_modules, not TypeScript's lib files) that the stage
   * does not have: what `docker build` would fail on while `npm run build` here passes.
   */
  function missingFromBuildStage(extraRoots: readonly string[] = []): string[] {
    const { parsed } = parseBuildConfig();
    const roots = parsed.fileNames.filter((f) => inBuildStage(relative(packageRoot, f)));
    const program = ts.createProgram({
      rootNames: [...roots, ...extraRoots.map((f) => join(packageRoot, f))],
      options: parsed.options,
    });
    return program
      .getSourceFiles()
      .map((sf) => relative(packageRoot, sf.fileName))
      .filter((f) => !f.split('/').includes('node_modules'))
      .filter((f) => !inBuildStage(f));
  }

  it('every file of the tsconfig.build.json program, imports followed, is in the build stage', () => {
    // Prepare
    const { parsed } = parseBuildConfig();

    // Act
    const missing = missingFromBuildStage();

    // Assess
    expect(buildStage, 'a stage runs npm run build').toBeDefined();
    expect(parsed.fileNames.some((f) => inBuildStage(relative(packageRoot, f)))).toBe(true);
    expect(missing).toEqual([]);
    // Type-checking the whole program takes seconds on shared cores.
  }, 60_000);

  it('the check reports a source the build stage does not have (a bench/ file in the program)', () => {
    // Prepare: as if src/ imported from bench/, which the context leaves out.
    const benchFile = trackedFiles.find((f) => f.startsWith('bench/') && f.endsWith('.ts')) ?? '';

    // Act
    const missing = missingFromBuildStage([benchFile]);

    // Assess
    expect(benchFile).not.toBe('');
    expect(missing).toContain(benchFile);
  }, 60_000);

  it('what `npm run build` reads is in the build stage: its script and every tsconfig it extends', () => {
    // Prepare: `node <script>` of package.json's build script; the script reads
    // tsconfig.build.json (its default) and, through TypeScript, the configs it extends.
    const script = /^node (\S+)/.exec(pkg.scripts['build'] ?? '')?.[1] ?? '';
    const { configFiles } = parseBuildConfig();

    // Act
    const missing = [script, ...configFiles].filter((f) => !inBuildStage(f));

    // Assess
    expect(script).not.toBe('');
    expect(configFiles).toEqual(['tsconfig.build.json', 'tsconfig.json']);
    expect(missing).toEqual([]);
  });
});

describe('the final stage, laid out and run', () => {
  /**
   * The image's /app in a temporary directory: each COPY of the final stage, from the
   * context (this checkout) or from a build stage (this checkout's build, source maps deleted
   * as the Dockerfile does). node_modules is a link to this checkout's (an `npm ci --omit=dev`
   * here would take minutes), so a runtime import of a dev dependency is not caught here;
   * test/integration/package-pack.test.ts catches that.
   */
  function layOutImage(): string {
    const root = mkdtempSync(join(tmpdir(), 'wr-image-'));
    onTestFinished(() => {
      rmSync(root, { recursive: true, force: true });
    });
    const final = stagesOf(dockerfile).at(-1);
    if (final === undefined) throw new Error('no stage');
    for (const copy of finalStageCopies(dockerfile, isDirectory)) {
      const target = join(root, posix.relative(stageWorkdir(final), copy.destination));
      const from =
        copy.stage === undefined
          ? join(packageRoot, copy.source)
          : stagePathInCheckout(copy.stage, copy.source);
      if (posix.basename(copy.source) === 'node_modules') {
        symlinkSync(from, target, 'dir');
        continue;
      }
      cpSync(from, target, { recursive: true, filter: (src) => !src.endsWith('.map') });
    }
    return root;
  }

  function run(
    command: readonly string[],
    cwd: string,
    env: Readonly<Record<string, string>>,
  ): Promise<{ code: number | null; out: string }> {
    const [file, ...args] = command;
    const child = spawn(file === 'node' ? process.execPath : (file ?? ''), args, {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    let out = '';
    const collect = (chunk: Buffer): void => {
      out += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    return new Promise((resolve) => {
      child.once('close', (code) => {
        resolve({ code, out });
      });
    });
  }

  it('starts from the image files alone: HEALTHCHECK passes, an example function answers through the gateway', async () => {
    // Prepare: the image's ENV and command (its absolute paths moved into the layout); ports
    // moved to free ones (others' tests run here); the local backend, as compose runs it.
    const root = layOutImage();
    const workdir = stageWorkdir(stagesOf(dockerfile).at(-1) as Stage);
    const inLayout = (args: readonly string[] | undefined): string[] | undefined =>
      args?.map((a) => (a.startsWith(`${workdir}/`) ? join(root, posix.relative(workdir, a)) : a));
    const cmd = inLayout(finalCommands().cmd);
    const check = inLayout(finalCommands().check);
    const namespace = `dockerfile-test-${String(process.pid)}`;
    // Its records and bucket epochs (src/redis/keys.ts): `?` is a glob character, braces are not.
    onTestFinished(() =>
      deleteByPrefix(SHARED_REDIS_URL, `${DIRECTORY_KEY_PREFIX}{b???}:n:${namespace}:`),
    );
    const port = await freePort();
    const adminPort = await freePort();
    const env = {
      ...Object.fromEntries(finalStageEnv(dockerfile)),
      PORT: String(port),
      WARMROUTE_ADMIN_PORT: String(adminPort),
      WARMROUTE_BACKEND: 'local',
      WARMROUTE_LOCAL_PORT: String(await freePort()),
      // Redis, so the directory's Lua scripts are loaded from the image's src/redis/lua.
      REDIS_URL: SHARED_REDIS_URL,
      WARMROUTE_NAMESPACE: namespace,
      WARMROUTE_SECRET: 'dockerfile-test-secret-0123456789',
      WARMROUTE_LOG_LEVEL: 'silent',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    expect(cmd).toBeDefined();
    expect(check).toBeDefined();
    const [file, ...args] = cmd ?? [];
    const gateway = spawn(file === 'node' ? process.execPath : (file ?? ''), args, {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => gateway.once('exit', resolve));
    onTestFinished(async () => {
      gateway.kill('SIGTERM');
      await exited;
    });
    let gatewayOutput = '';
    gateway.stderr.on('data', (chunk: Buffer) => {
      gatewayOutput += chunk.toString();
    });
    const started = new Promise<void>((resolve, reject) => {
      gateway.stdout.on('data', () => {
        resolve();
      });
      void exited.then(() => {
        reject(new Error(`the gateway exited: ${gatewayOutput}`));
      });
    });
    await started;

    // Act
    const health = await run(check ?? [], root, env);
    const invoke = await fetch(
      `http://127.0.0.1:${String(port)}/v1/functions/warm-counter/invoke`,
      {
        method: 'POST',
        headers: { [defaults.keyHeader]: 'blue', 'content-type': 'application/json' },
        body: '{}',
      },
    );

    // Assess
    expect(health.out).toContain(`:${String(adminPort)}/readyz: 200`);
    expect(health.code).toBe(0);
    expect(invoke.status).toBe(200);
    expect(invoke.headers.get('x-affinity-state')).toBe('fresh');
    // Two Node processes start (gateway, then the function's environment) on shared cores.
  }, 60_000);
});
