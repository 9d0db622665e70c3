import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import { loadConfig } from '../../src/config/load-config.js';
import { settings } from '../../src/config/schema.js';
import { createGateway, type Gateway } from '../../src/create-gateway.js';
import { packageRoot } from '../../src/paths.js';
import { SDK_ENVIRONMENT } from '../../src/sdk/env-options.js';
import { ok, startInvokeServer } from '../helpers/backend-invoke-server.js';
import {
  contextProblem,
  contextReferences,
  envReferences,
  referenceProblem,
  type KnownByReader,
} from './helpers/env-references.js';
import {
  firstSegment,
  isGatewayPath,
  pathReferences,
  probeReferences,
  type Listener,
} from './helpers/gateway-paths.js';
import {
  sourceLines,
  templateFiles,
  templateLines,
  type SourceLine,
} from './helpers/template-sources.js';

/**
 * Issue 14: "Every template refers to environment variables and routes that
 * exist in the config schema (a test reads the schema), so a renamed setting
 * breaks the build, not a deploy."
 *
 * What it proves, for every file under deploy/ that git would track
 * (comments left out; in Markdown only fenced code blocks):
 * - every variable a template sets or reads that is warmroute's is a gateway
 *   setting (`settings` in src/config/schema.ts), a function library
 *   variable (`FUNCTION_ENVIRONMENT` in lambda/environment.ts) or an SDK
 *   client variable (`SDK_ENVIRONMENT` in src/sdk/env-options.ts). A name is
 *   warmroute's when it starts with `WARMROUTE_`, when it is one edit (two
 *   for names over 5 characters) from a known name (`REDIS_URI`,
 *   `AWS_ENDPOINT_URL_LAMDA`: a misspelt `REDIS_URL`, a misspelt Lambda
 *   endpoint), or a known name without its underscores (`REDISURL`, 8+
 *   characters). Other software's names (`NODE_ENV`, `GF_…`, `REDISCLI_AUTH`)
 *   are not checked. deploy/'s own example code (the tenant authorizers)
 *   names its variables without the `WARMROUTE_` prefix (`TOKEN_SECRET_ARN`):
 *   there is no list of deploy-only WARMROUTE_ names;
 * - a variable is set for the reader that reads it, where the scanner can
 *   tell (contextReferences: SAM/CloudFormation Lambda functions' variables,
 *   the gateway's Kubernetes container env and kustomize generators, its
 *   compose service and its Dockerfile ENV): no gateway setting on a
 *   function, no function library or SDK variable on the gateway (function
 *   variables are allowed with WARMROUTE_BACKEND=local, whose functions
 *   inherit the gateway's environment);
 * - every path a template names whose first segment is, or is one edit from,
 *   one the gateway serves is served by the gateway built the way every
 *   artifact runs it (admin port set): `/v1/…` paths do not answer 404
 *   (function calls on the public listener), and the others (probes, health
 *   checks, scrapes) answer GET 200 on the admin listener; where the port
 *   is visible (a URL's `:3000`/`:9090`; a Kubernetes probe's port, resolved
 *   through the container's ports and its PORT/WARMROUTE_ADMIN_PORT env), on
 *   that listener, so a probe of the public port fails;
 * - every function an RPC path calls (`/v1/functions/<name>/invoke`) is one
 *   that artifact's allow-list (a WARMROUTE_FUNCTIONS file in its folder) or
 *   lambda/examples/functions.json declares;
 * - each of the five artifact folders contributed variables to the scan.
 *
 * - a JSON setting whose value a template takes from a file
 *   (`WARMROUTE_FUNCTIONS=functions.json` in a kustomize generator) names a
 *   file that exists and that the config loader accepts as that setting.
 *
 * What it cannot prove: that a variable is set where it is needed (the
 * per-artifact tests check that), a value (ports, grace periods), a path
 * assembled at run time from pieces, or a variable name built by string
 * concatenation. Not read: the reader of a variable in CDK code (its
 * `environment:` objects are TypeScript; the CDK template tests check each
 * construct's environment), the port of a CDK/ALB health check or of a
 * Prometheus scrape annotation (no URL), misspellings without underscore
 * of short names (`PROT`, `HOTS`: `POST` and `HOSTS` are as close), and
 * lower-case names (`warmroute_…` is also the metrics' prefix). The root .dockerignore is not scanned: it lists files, not
 * variables or routes.
 */

const DEPLOY = 'deploy';
/** The artifacts issue 14 asks for; each must exist and hold files. */
const ARTIFACT_FOLDERS = ['cdk', 'sam', 'docker', 'compose', 'k8s'] as const;

const byReader: KnownByReader = {
  gateway: new Set(settings.map((s) => s.env)),
  function: new Set(Object.values(FUNCTION_ENVIRONMENT).map((v) => v.env)),
  sdk: new Set(SDK_ENVIRONMENT),
};
const known = new Set([...byReader.gateway, ...byReader.function, ...byReader.sdk]);
// Known names without an underscore (HOST, PORT): counted even in forms where any
// upper-case word could appear.
const bareKnown = new Set([...known].filter((name) => !name.includes('_')));

/** `file:line: problem` for every warmroute variable of `lines` that does not exist. */
function envProblems(lines: readonly SourceLine[]): string[] {
  return envReferences(lines, bareKnown, known).flatMap((ref) => {
    const problem = referenceProblem(ref.name, known);
    return problem === undefined ? [] : [`${ref.file}:${String(ref.line)}: ${problem}`];
  });
}

/** `file:line: problem` for every variable set for a reader that does not read it. */
function contextProblems(file: string, text: string): string[] {
  return contextReferences(file, text).flatMap((ref) => {
    const problem = contextProblem(ref, byReader);
    return problem === undefined ? [] : [`${ref.file}:${String(ref.line)}: ${problem}`];
  });
}

/** The listener a port reaches on the gateway as every artifact runs it (see deployedGateway). */
const DEPLOYED_PORTS = { public: 3000, admin: 9090 } as const;

function listenerOfPort(port: number | undefined): Listener | undefined {
  if (port === DEPLOYED_PORTS.public) return 'public';
  if (port === DEPLOYED_PORTS.admin) return 'admin';
  return undefined;
}

/** The function an RPC path calls, if it is one. */
function rpcFunction(path: string): string | undefined {
  return /^\/v1\/functions\/([^/]+)\/invoke\/?$/.exec(path)?.[1];
}

/** The example functions every artifact may call (lambda/examples/functions.json). */
function exampleFunctionNames(): Set<string> {
  const file = JSON.parse(
    readFileSync(join(packageRoot, 'lambda/examples/functions.json'), 'utf8'),
  ) as { functions: { name: string }[] };
  return new Set(file.functions.map((f) => f.name));
}

/** JSON settings (`kind: 'json'`), e.g. WARMROUTE_FUNCTIONS and WARMROUTE_ROUTES. */
const jsonSettings = settings.filter((s) => s.kind === 'json').map((s) => s.env);

/**
 * `NAME=<file>.json` for a JSON setting (kustomize `files:`/`envs:` style), with
 * the file's path relative to the repository root.
 */
function jsonSettingFiles(
  lines: readonly SourceLine[],
): { env: string; path: string; at: string }[] {
  const pattern = new RegExp(`\\b(${jsonSettings.join('|')})=([\\w./-]+\\.json)\\b`, 'g');
  return lines.flatMap((l) =>
    [...l.text.matchAll(pattern)].map((m) => ({
      env: m[1] ?? '',
      path: join(dirname(l.file), m[2] ?? ''),
      at: `${l.file}:${String(l.line)}`,
    })),
  );
}

/**
 * `file:line: problem` for every RPC path of `lines` whose function neither
 * its artifact's allow-list (a WARMROUTE_FUNCTIONS file under the same
 * deploy/<artifact>/ folder, as `lines` name it) nor the example functions
 * declare.
 */
function rpcProblems(lines: readonly SourceLine[]): string[] {
  const examples = exampleFunctionNames();
  const declared = (file: string): Set<string> => {
    const folder = file.split('/').slice(0, 2).join('/');
    const names = new Set(examples);
    for (const use of jsonSettingFiles(lines)) {
      if (use.env !== 'WARMROUTE_FUNCTIONS' || !use.path.startsWith(`${folder}/`)) continue;
      const full = join(packageRoot, use.path);
      if (!existsSync(full)) continue;
      for (const name of Object.keys(JSON.parse(readFileSync(full, 'utf8')) as object)) {
        names.add(name);
      }
    }
    return names;
  };
  return pathReferences(lines).flatMap((ref) => {
    const name = rpcFunction(ref.path);
    if (name === undefined || declared(ref.file).has(name)) return [];
    return [
      `${ref.file}:${String(ref.line)}: ${ref.path} calls ${name}, which neither this artifact's WARMROUTE_FUNCTIONS nor lambda/examples/functions.json declares`,
    ];
  });
}

/** The gateway as the deploy artifacts run it: admin listener set, in-memory directory. */
async function deployedGateway(): Promise<{ gateway: Gateway; segments: Set<string> }> {
  const lambda = await startInvokeServer(() => ok({ ok: true }));
  onTestFinished(() => lambda.close());
  // The first path segments of every route the gateway registers (public and admin).
  const segments = new Set<string>();
  const onInit = (message: unknown): void => {
    const app = (message as { fastify: FastifyInstance }).fastify;
    app.addHook('onRoute', (route) => {
      const segment = firstSegment(route.url);
      if (segment !== '' && !segment.startsWith(':') && segment !== '*') segments.add(segment);
    });
  };
  subscribe('fastify.initialization', onInit);
  let gateway: Gateway;
  try {
    gateway = await createGateway(
      {
        HOST: '0.0.0.0',
        PORT: String(DEPLOYED_PORTS.public),
        WARMROUTE_ADMIN_HOST: '0.0.0.0',
        WARMROUTE_ADMIN_PORT: String(DEPLOYED_PORTS.admin),
        AWS_ENDPOINT_URL_LAMBDA: lambda.url,
        WARMROUTE_LOG_LEVEL: 'silent',
      },
      { defaultMetrics: false },
    );
    await gateway.app.ready();
    await gateway.admin?.ready();
  } finally {
    unsubscribe('fastify.initialization', onInit);
  }
  onTestFinished(() => gateway.close());
  return { gateway, segments };
}

/**
 * What is wrong with the gateway's answer to `path`, or undefined when it
 * serves it. `listener`: the one the template sends to, when it says.
 */
async function servingProblem(
  gateway: Gateway,
  path: string,
  listener?: Listener,
): Promise<string | undefined> {
  const admin = gateway.admin;
  if (admin === undefined) throw new Error('expected an admin listener (WARMROUTE_ADMIN_PORT)');
  if (path.startsWith('/v1/')) {
    const apps =
      listener === undefined ? [gateway.app, admin] : [listener === 'admin' ? admin : gateway.app];
    const calls = await Promise.all(
      apps.flatMap((app) =>
        (['GET', 'POST'] as const).map((method) =>
          app.inject({
            method,
            url: path,
            headers: { 'x-affinity-key': 'deploy-check', 'content-type': 'application/json' },
            ...(method === 'POST' ? { payload: '{}' } : {}),
          }),
        ),
      ),
    );
    const where = listener === undefined ? 'both listeners' : `the ${listener} listener`;
    return calls.every((res) => res.statusCode === 404)
      ? `${path} is not a gateway route (404 on ${where})`
      : undefined;
  }
  const target = listener ?? 'admin';
  const res = await (target === 'admin' ? admin : gateway.app).inject({ method: 'GET', url: path });
  return res.statusCode === 200
    ? undefined
    : `GET ${path} on the ${target} listener answers ${String(res.statusCode)}, not 200`;
}

describe('extraction (fixtures: one per template syntax)', () => {
  it('finds variables in Kubernetes env, secretKeyRef and configMapKeyRef', () => {
    const lines = sourceLines(
      'k8s.yaml',
      [
        'env:',
        '  - name: WARMROUTE_SHUTDOWN_GRACE',
        '    value: "15000"',
        '  - name: REDIS_URL',
        '    valueFrom:',
        '      configMapKeyRef: { name: cfg, key: AWS_REGION }',
        '  # - name: WARMROUTE_IN_A_COMMENT',
      ].join('\n'),
    );
    expect(envReferences(lines, bareKnown)).toEqual([
      { name: 'WARMROUTE_SHUTDOWN_GRACE', file: 'k8s.yaml', line: 2 },
      { name: 'REDIS_URL', file: 'k8s.yaml', line: 4 },
      { name: 'AWS_REGION', file: 'k8s.yaml', line: 6 },
    ]);
  });

  it('finds variables in compose environment maps and ${…} interpolation', () => {
    const lines = sourceLines(
      'compose.yaml',
      [
        'environment:',
        '  HOST: 0.0.0.0',
        "  PORT: '3000'",
        '  WARMROUTE_SECRET: ${WARMROUTE_SECRET:?not set}',
        '  REDISCLI_AUTH: $${WARMROUTE_REDIS_PASSWORD}',
        'command: [sh, -c, exec redis-server --requirepass "$$REDISCLI_AUTH"]',
      ].join('\n'),
    );
    expect(envReferences(lines, bareKnown).map((r) => `${String(r.line)} ${r.name}`)).toEqual([
      '2 HOST',
      '3 PORT',
      '4 WARMROUTE_SECRET',
      '5 REDISCLI_AUTH',
      '5 WARMROUTE_REDIS_PASSWORD',
      '6 REDISCLI_AUTH',
    ]);
  });

  it('finds variables in Dockerfile ENV (continued lines) and .env files, not in comments', () => {
    const dockerfile = sourceLines(
      'Dockerfile',
      [
        '# ENV WARMROUTE_COMMENTED=1',
        'ENV NODE_ENV=production \\',
        '    WARMROUTE_ADMIN_PORT=9090',
        'CMD ["node", "dist/src/cli.js", "start"]',
      ].join('\n'),
    );
    const dotenv = sourceLines('secrets.example.env', 'WARMROUTE_ADMIN_TOKNE=x # a typo\n');
    expect(envReferences([...dockerfile, ...dotenv], bareKnown).map((r) => r.name)).toEqual([
      'NODE_ENV',
      'WARMROUTE_ADMIN_PORT',
      'WARMROUTE_ADMIN_TOKNE',
    ]);
  });

  it('finds variables in CDK code (environment, secrets maps and lists), not in comments', () => {
    const lines = sourceLines(
      'gateway-service.ts',
      [
        '// WARMROUTE_ONLY_IN_A_COMMENT is not read',
        "environment: { WARMROUTE_ENV: 'production', 'AWS_ENDPOINT_URL_LAMDA': url },",
        'secrets: { WARMROUTE_SECRET: ecs.Secret.fromSecretsManager(secret) },',
        "const list = [{ name: 'WARMROUTE_REDIS_PASSWORD', valueFrom: arn }]; /* WARMROUTE_X */",
        "const dir = process.env.WARMROUTE_SNAPSHOT_DIR ?? env['WARMROUTE_SNAPSHOT_REDIS_URL'];",
      ].join('\n'),
    );
    expect(envReferences(lines, bareKnown).map((r) => r.name)).toEqual([
      'WARMROUTE_ENV',
      'AWS_ENDPOINT_URL_LAMDA',
      'WARMROUTE_SECRET',
      'WARMROUTE_REDIS_PASSWORD',
      'WARMROUTE_SNAPSHOT_DIR',
      'WARMROUTE_SNAPSHOT_REDIS_URL',
    ]);
  });

  it('finds variables in SAM Variables, JSON and Markdown code blocks, not in prose', () => {
    const sam = sourceLines(
      'template.yaml',
      'Environment:\n  Variables:\n    WARMROUTE_SNAPSHOT_REDIS_URL: !Sub "rediss://${Redis}"',
    );
    const json = sourceLines('functions.json', '{ "WARMROUTE_FUNCTIONS": "{}" }');
    const markdown = sourceLines(
      'README.md',
      'Set `WARMROUTE_PROSE_ONLY` first.\n\n```sh\nexport WARMROUTE_SECRET=abc  # comment\n```\n',
    );
    expect(envReferences([...sam, ...json, ...markdown], bareKnown)).toEqual([
      { name: 'WARMROUTE_SNAPSHOT_REDIS_URL', file: 'template.yaml', line: 3 },
      { name: 'WARMROUTE_FUNCTIONS', file: 'functions.json', line: 1 },
      { name: 'WARMROUTE_SECRET', file: 'README.md', line: 4 },
    ]);
  });

  it('reports a renamed or misspelt variable with file:line, and leaves other software alone', () => {
    // Prepare: the shutdown grace without its unit suffix, a misspelt Redis URL, and names of
    // other programs.
    const lines = sourceLines(
      'deploy/k8s/base/deployment.yaml',
      [
        'env:',
        '  - name: WARMROUTE_SHUTDOWN_GRACE',
        '  - name: WARMROUTE_SHUTDOWN_GRACE_MS',
        '  - name: REDIS_URI',
        '  - name: NODE_ENV',
        '  - name: AWS_DEFAULT_REGION',
        '  - name: GF_SECURITY_ADMIN_PASSWORD',
      ].join('\n'),
    );

    // Act
    const problems = envProblems(lines);

    // Assess
    expect(problems).toEqual([
      "deploy/k8s/base/deployment.yaml:2: WARMROUTE_SHUTDOWN_GRACE is not a gateway setting (src/config/schema.ts settings), a function library variable (lambda/environment.ts) or an SDK client variable (src/sdk/env-options.ts) (did you mean WARMROUTE_SHUTDOWN_GRACE_MS?); a variable of deploy/'s own example code takes a name without the WARMROUTE_ prefix",
      'deploy/k8s/base/deployment.yaml:4: REDIS_URI looks like a misspelling of REDIS_URL',
    ]);
  });

  it('finds paths in probes, scrape settings, URLs and strings; keeps only the gateway-like ones', () => {
    const lines = sourceLines(
      'mixed.yaml',
      [
        'readinessProbe: { httpGet: { path: /readz, port: admin } }',
        '    metrics_path: /metrics',
        "    prometheus.io/path: '/metrics'",
        "test: ['CMD', 'wget', '-q', 'http://127.0.0.1:9090/-/ready']",
        "healthCheck: { path: '/healthz' }",
        "url: 'http://gateway:3000/v1/functions/counter/invoke?x=1'",
        'mountPath: /tmp',
        '- ../../dashboards:/var/lib/grafana/dashboards/warmroute:ro',
      ].join('\n'),
    );
    const segments = new Set(['v1', 'healthz', 'readyz', 'metrics']);

    // Act
    const paths = pathReferences(lines);

    // Assess
    expect(paths.filter((p) => isGatewayPath(p.path, segments))).toEqual([
      { path: '/readz', file: 'mixed.yaml', line: 1 },
      { path: '/metrics', file: 'mixed.yaml', line: 2 },
      { path: '/metrics', file: 'mixed.yaml', line: 3 },
      { path: '/healthz', file: 'mixed.yaml', line: 5 },
      { path: '/v1/functions/counter/invoke', file: 'mixed.yaml', line: 6, port: 3000 },
    ]);
    expect(paths.map((p) => p.path)).toContain('/-/ready');
  });
});

describe('extraction does not lose lines to strings, template literals or regexes (fixtures)', () => {
  it('a multi-line template literal with // keeps its URL; one with /* hides no later line', () => {
    // Prepare: a shell script in CDK code, then a glob in a template literal, then a typo.
    const lines = sourceLines(
      'x.ts',
      [
        'const cmd = `',
        '  curl -f http://localhost:9090/readz',
        '`;',
        'const glob = `',
        '  dist/*',
        '`;',
        "const env = { WARMROUTE_ADMN_PORT: '9090' };",
        "const re = /https?:\\/\\//; const more = { WARMROUTE_SECRT: 'x' }; // WARMROUTE_NOT_READ",
        '/* a real comment: WARMROUTE_COMMENTED */ const after = { REDIS_URL: u };',
      ].join('\n'),
    );

    // Act
    const paths = pathReferences(lines).map((p) => `${String(p.line)} ${p.path} ${String(p.port)}`);
    const names = envReferences(lines, bareKnown, known).map((r) => `${String(r.line)} ${r.name}`);

    // Assess
    expect(paths).toContain('2 /readz 9090');
    expect(names).toEqual(['7 WARMROUTE_ADMN_PORT', '8 WARMROUTE_SECRT', '9 REDIS_URL']);
  });

  it('an apostrophe inside a YAML plain value does not hide the comment after it', () => {
    // Act
    const lines = sourceLines('c.yaml', "description: it's fine  # WARMROUTE_OLD_NAME was renamed");

    // Assess
    expect(envReferences(lines, bareKnown, known)).toEqual([]);
  });

  it('a known name without its underscores is a misspelling; short bare words are left alone', () => {
    // Prepare
    const lines = sourceLines(
      'c.yaml',
      'environment:\n  REDISURL: redis://r\n  WARMROUTEADMINPORT: "9090"\n  POST: x\n  HOSTS: y',
    );

    // Act
    const problems = envProblems(lines);

    // Assess
    expect(problems).toEqual([
      'c.yaml:2: REDISURL looks like a misspelling of REDIS_URL',
      'c.yaml:3: WARMROUTEADMINPORT looks like a misspelling of WARMROUTE_ADMIN_PORT',
    ]);
  });
});

describe('variables set for the wrong reader (fixtures)', () => {
  it('a gateway setting on a SAM function and a function variable on a k8s gateway are refused', () => {
    // Prepare
    const sam = [
      'Resources:',
      '  Counter:',
      '    Type: AWS::Serverless::Function',
      '    Properties:',
      '      Environment:',
      '        Variables:',
      '          WARMROUTE_REDIS_PASSWORD: !Ref Pw',
      '          WARMROUTE_SNAPSHOT_REDIS_PASSWORD: !Ref Pw',
      '          WARMROUTE_URL: http://gateway:3000',
    ].join('\n');
    const k8s = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: gw }',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: gateway',
      '          image: warmroute-gateway',
      '          env:',
      '            - name: WARMROUTE_SNAPSHOT_DIR',
      '              value: /tmp/x',
      '            - name: WARMROUTE_FUNCTION',
      "              value: '{}'",
      '            - name: WARMROUTE_ADMIN_PORT',
      "              value: '9090'",
    ].join('\n');

    // Act
    const problems = [
      ...contextProblems('template.yaml', sam),
      ...contextProblems('deployment.yaml', k8s),
    ];

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(
        /^template\.yaml:7: WARMROUTE_REDIS_PASSWORD is a gateway setting, set on the Lambda function Resources\.Counter/,
      ),
      'deployment.yaml:11: WARMROUTE_SNAPSHOT_DIR is a function library variable (lambda/environment.ts), set on the gateway (Deployment/gw container gateway); set it on the Lambda functions',
      'deployment.yaml:13: WARMROUTE_FUNCTION is an SDK client variable, not a gateway setting, set on the gateway (Deployment/gw container gateway) (did you mean WARMROUTE_FUNCTIONS?)',
    ]);
  });

  it('the compose gateway may pass function variables to the functions it runs itself (local backend)', () => {
    // Prepare
    const compose = (backend: string): string =>
      [
        'services:',
        '  gateway:',
        '    build: { context: ../.., dockerfile: deploy/docker/Dockerfile }',
        '    environment:',
        `      WARMROUTE_BACKEND: ${backend}`,
        '      WARMROUTE_SNAPSHOT_DIR: /tmp/s',
        '  other:',
        '    image: redis:7',
        '    environment: [WARMROUTE_SNAPSHOT_DIR=/x]',
      ].join('\n');

    // Act
    const local = contextProblems('compose.yaml', compose('local'));
    const endpoint = contextProblems('compose.yaml', compose('endpoint'));

    // Assess: only the gateway's service is read; with its own functions the variable is theirs.
    expect(local).toEqual([]);
    expect(endpoint).toEqual([
      'compose.yaml:6: WARMROUTE_SNAPSHOT_DIR is a function library variable (lambda/environment.ts), set on the gateway (services.gateway); set it on the Lambda functions',
    ]);
  });

  it('the gateway Dockerfile ENV is the gateway context', () => {
    // Act
    const problems = contextProblems(
      'deploy/docker/Dockerfile',
      'FROM node:22\n# ENV WARMROUTE_URL=x\nENV PORT=3000 \\\n    WARMROUTE_URL=http://x',
    );

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(
        /^deploy\/docker\/Dockerfile:4: WARMROUTE_URL is an SDK client variable/,
      ),
    ]);
  });
});

describe('probe ports (fixtures)', () => {
  it("a k8s probe's port is resolved through the container's ports and env", () => {
    // Prepare
    const k8s = [
      'kind: Deployment',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: gateway',
      '          image: warmroute-gateway',
      '          ports: [{ name: http, containerPort: 3000 }, { name: admin, containerPort: 9090 }]',
      '          env:',
      "            - { name: PORT, value: '3000' }",
      "            - { name: WARMROUTE_ADMIN_PORT, value: '9090' }",
      '          readinessProbe: { httpGet: { path: /readyz, port: http } }',
      '          livenessProbe: { httpGet: { path: /healthz, port: 9090 } }',
      '          startupProbe: { httpGet: { path: /healthz, port: 8080 } }',
    ].join('\n');

    // Act
    const probes = probeReferences('d.yaml', k8s).map(
      (p) => `${String(p.line)} ${p.path} ${p.port} ${String(p.listener)}`,
    );

    // Assess
    expect(probes).toEqual([
      '14 /healthz 8080 undefined',
      '12 /readyz http public',
      '13 /healthz 9090 admin',
    ]);
  });

  it('a probe of /readyz on the public listener is refused (404 there when the admin port is set)', async () => {
    // Prepare
    const { gateway } = await deployedGateway();

    // Act
    const problems = await Promise.all([
      servingProblem(gateway, '/readyz', 'public'),
      servingProblem(gateway, '/readyz', 'admin'),
      servingProblem(gateway, '/v1/functions/counter/invoke', 'admin'),
    ]);

    // Assess
    expect(problems).toEqual([
      'GET /readyz on the public listener answers 404, not 200',
      undefined,
      '/v1/functions/counter/invoke is not a gateway route (404 on the admin listener)',
    ]);
  });

  it("an RPC path's function must be in the artifact's WARMROUTE_FUNCTIONS or the examples", () => {
    // Prepare: the k8s example overlay's allow-list (warmroute-counter, …) from its real file.
    const kustomization = sourceLines(
      'deploy/k8s/overlays/example/kustomization.yaml',
      'files:\n  - WARMROUTE_FUNCTIONS=functions.json',
    );
    const calls = sourceLines(
      'deploy/k8s/overlays/example/smoke.sh',
      [
        'curl http://gw:3000/v1/functions/warmroute-counter/invoke',
        'curl http://gw:3000/v1/functions/counter/invoke',
        'curl http://gw:3000/v1/functions/countr/invoke',
        'curl http://gw:9090/v1/keys/k',
      ].join('\n'),
    );
    const elsewhere = sourceLines(
      'deploy/compose/smoke.sh',
      'curl http://gw:3000/v1/functions/warmroute-counter/invoke',
    );

    // Act
    const problems = rpcProblems([...kustomization, ...calls, ...elsewhere]);

    // Assess: the overlay's own name passes there only; an example name passes everywhere.
    expect(problems).toEqual([
      "deploy/k8s/overlays/example/smoke.sh:3: /v1/functions/countr/invoke calls countr, which neither this artifact's WARMROUTE_FUNCTIONS nor lambda/examples/functions.json declares",
      "deploy/compose/smoke.sh:1: /v1/functions/warmroute-counter/invoke calls warmroute-counter, which neither this artifact's WARMROUTE_FUNCTIONS nor lambda/examples/functions.json declares",
    ]);
  });
});

describe('JSON settings from files (fixture)', () => {
  it('finds NAME=file.json for JSON settings only, relative to the template', () => {
    const lines = sourceLines(
      'deploy/k8s/overlays/x/kustomization.yaml',
      'files:\n  - WARMROUTE_FUNCTIONS=functions.json\n  - OTHER=other.json\n',
    );
    expect(jsonSettingFiles(lines)).toEqual([
      {
        env: 'WARMROUTE_FUNCTIONS',
        path: 'deploy/k8s/overlays/x/functions.json',
        at: 'deploy/k8s/overlays/x/kustomization.yaml:2',
      },
    ]);
  });
});

describe('the gateway serves what a path check expects (fixtures)', () => {
  it('a misspelt probe path and a misspelt RPC path are refused; the real ones pass', async () => {
    // Prepare
    const { gateway, segments } = await deployedGateway();

    // Act
    const problems = await Promise.all(
      ['/readz', '/v1/functions/counter/invok', '/readyz', '/v1/functions/counter/invoke'].map(
        (path) => servingProblem(gateway, path),
      ),
    );

    // Assess: the segments come from the gateway's routes; the checks answer as the gateway does.
    expect([...segments].sort()).toEqual(
      expect.arrayContaining(['healthz', 'metrics', 'readyz', 'v1']),
    );
    expect(problems).toEqual([
      'GET /readz on the admin listener answers 404, not 200',
      '/v1/functions/counter/invok is not a gateway route (404 on both listeners)',
      undefined,
      undefined,
    ]);
  });
});

describe('deploy/ refers only to settings and routes that exist', () => {
  it(`has the ${ARTIFACT_FOLDERS.join(', ')} folders, none empty`, () => {
    const missing = ARTIFACT_FOLDERS.filter((folder) => {
      const path = join(packageRoot, DEPLOY, folder);
      return !existsSync(path) || !statSync(path).isDirectory() || readdirSync(path).length === 0;
    });
    expect(missing, 'deploy/ folders missing or empty').toEqual([]);
  });

  it('every warmroute variable a template sets or reads is a gateway setting, a function or an SDK variable', () => {
    // Prepare
    const lines = templateLines(packageRoot, DEPLOY);

    // Act
    const references = envReferences(lines, bareKnown, known);
    const problems = envProblems(lines);

    // Assess: the scan found the settings every artifact sets, and variables in each of the
    // five artifact folders (so it read them all).
    const names = new Set(references.map((r) => r.name));
    expect([...names]).toEqual(
      expect.arrayContaining(['WARMROUTE_ADMIN_PORT', 'WARMROUTE_SECRET']),
    );
    const silent = ARTIFACT_FOLDERS.filter(
      (folder) => !references.some((r) => r.file.startsWith(`${DEPLOY}/${folder}/`)),
    );
    expect(silent, 'artifact folders in which the scan found no variable').toEqual([]);
    expect(problems).toEqual([]);
  });

  it('no gateway setting is set on a Lambda function, no function or SDK variable on the gateway', () => {
    // Prepare
    const files = templateFiles(packageRoot, DEPLOY).map((file) => ({
      file,
      text: readFileSync(join(packageRoot, file), 'utf8'),
    }));

    // Act
    const references = files.flatMap(({ file, text }) => contextReferences(file, text));
    const problems = files.flatMap(({ file, text }) => contextProblems(file, text));

    // Assess: both readers' blocks were found (SAM's functions; the gateway's k8s container,
    // kustomize generator, compose service and Dockerfile), then nothing is on the wrong side.
    const seen = (context: string, folder: string): boolean =>
      references.some((r) => r.context === context && r.file.startsWith(`${DEPLOY}/${folder}/`));
    expect({
      samFunctions: seen('function', 'sam'),
      k8sGateway: seen('gateway', 'k8s'),
      composeGateway: seen('gateway', 'compose'),
      dockerGateway: seen('gateway', 'docker'),
    }).toEqual({ samFunctions: true, k8sGateway: true, composeGateway: true, dockerGateway: true });
    expect(problems).toEqual([]);
  });

  it('a JSON setting taken from a file names a file the config loader accepts as that setting', () => {
    // Prepare
    const uses = jsonSettingFiles(templateLines(packageRoot, DEPLOY));

    // Act: the loader as the gateway runs it (endpoint backend: routes are checked against
    // the functions), once per file.
    const problems = uses.flatMap(({ env, path, at }) => {
      const full = join(packageRoot, path);
      if (!existsSync(full)) return [`${at}: ${env} names ${path}, which does not exist`];
      try {
        loadConfig({
          AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
          [env]: readFileSync(full, 'utf8'),
        });
        return [];
      } catch (err) {
        return [`${at}: ${env} from ${path}: ${(err as Error).message}`];
      }
    });

    // Assess
    expect(problems).toEqual([]);
  });

  it('every gateway path a template uses is served: probes and scrapes with 200 on the admin listener, or on the listener their port names', async () => {
    // Prepare
    const { gateway, segments } = await deployedGateway();
    const lines = templateLines(packageRoot, DEPLOY);
    const references = [
      ...pathReferences(lines).map((ref) => ({ ...ref, listener: listenerOfPort(ref.port) })),
      ...templateFiles(packageRoot, DEPLOY).flatMap((file) =>
        probeReferences(file, readFileSync(join(packageRoot, file), 'utf8')),
      ),
    ].filter((ref) => isGatewayPath(ref.path, segments));

    // Act: each distinct path and listener once; every place that uses it is reported.
    const problems: string[] = [];
    const asked = new Map<string, Promise<string | undefined>>();
    for (const ref of references) {
      const probe = 'port' in ref && typeof ref.port === 'string' ? ref.port : undefined;
      if (probe !== undefined && ref.listener === undefined) {
        problems.push(
          `${ref.file}:${String(ref.line)}: probe port ${probe} is neither the container's PORT nor its WARMROUTE_ADMIN_PORT`,
        );
        continue;
      }
      const id = `${ref.listener ?? ''} ${ref.path}`;
      const answer = asked.get(id) ?? servingProblem(gateway, ref.path, ref.listener);
      asked.set(id, answer);
      const problem = await answer;
      if (problem !== undefined) problems.push(`${ref.file}:${String(ref.line)}: ${problem}`);
    }

    // Assess: the artifacts probe the gateway's health (so the scan found the probes at all),
    // and the Kubernetes probes were read with their ports.
    expect(references.map((r) => r.path)).toEqual(expect.arrayContaining(['/readyz']));
    expect(
      references.filter((r) => r.file.startsWith(`${DEPLOY}/k8s/`) && r.listener === 'admin'),
    ).not.toEqual([]);
    expect(problems).toEqual([]);
  });

  it("every function an RPC path calls is in that artifact's allow-list or the example functions", () => {
    // Act
    const problems = rpcProblems(templateLines(packageRoot, DEPLOY));

    // Assess
    expect(problems).toEqual([]);
  });
});
