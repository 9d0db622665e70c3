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
import { ok, startInvokeServer } from '../helpers/backend-invoke-server.js';
import { envReferences, referenceProblem } from './helpers/env-references.js';
import { firstSegment, isGatewayPath, pathReferences } from './helpers/gateway-paths.js';
import { sourceLines, templateLines, type SourceLine } from './helpers/template-sources.js';

/**
 * Issue 14: "Every template refers to environment variables and routes that
 * exist in the config schema (a test reads the schema), so a renamed setting
 * breaks the build, not a deploy."
 *
 * What it proves, for every file under deploy/ that git would track
 * (comments left out; in Markdown only fenced code blocks):
 * - every variable a template sets or reads that is warmroute's is a gateway
 *   setting (`settings` in src/config/schema.ts) or a function library
 *   variable (`FUNCTION_ENVIRONMENT` in lambda/environment.ts). A name is
 *   warmroute's when it starts with `WARMROUTE_`, or when it is one edit (two
 *   for names over 5 characters) from a known name (`REDIS_URI`,
 *   `AWS_ENDPOINT_URL_LAMDA`: a misspelt `REDIS_URL`, a misspelt Lambda
 *   endpoint). Other software's names (`NODE_ENV`, `GF_…`, `REDISCLI_AUTH`)
 *   are not checked;
 * - every path a template names whose first segment is, or is one edit from,
 *   one the gateway serves is served by the gateway built the way every
 *   artifact runs it (admin port set): `/v1/…` paths do not answer 404
 *   (function calls on the public listener), and the others (probes, health
 *   checks, scrapes) answer GET 200 on the admin listener.
 *
 * - a JSON setting whose value a template takes from a file
 *   (`WARMROUTE_FUNCTIONS=functions.json` in a kustomize generator) names a
 *   file that exists and that the config loader accepts as that setting.
 *
 * What it cannot prove: that a variable is set where it is needed (the
 * per-artifact tests check that), a value (ports, grace periods), a path
 * assembled at run time from pieces, or a variable name built by string
 * concatenation. The root .dockerignore is not scanned: it lists files, not
 * variables or routes.
 */

const DEPLOY = 'deploy';
/** The artifacts issue 14 asks for; each must exist and hold files. */
const ARTIFACT_FOLDERS = ['cdk', 'sam', 'docker', 'compose', 'k8s'] as const;

const known = new Set([
  ...settings.map((s) => s.env),
  ...Object.values(FUNCTION_ENVIRONMENT).map((v) => v.env),
]);
// Known names without an underscore (HOST, PORT): counted even in forms where any
// upper-case word could appear.
const bareKnown = new Set([...known].filter((name) => !name.includes('_')));

/** `file:line: problem` for every warmroute variable of `lines` that does not exist. */
function envProblems(lines: readonly SourceLine[]): string[] {
  return envReferences(lines, bareKnown).flatMap((ref) => {
    const problem = referenceProblem(ref.name, known);
    return problem === undefined ? [] : [`${ref.file}:${String(ref.line)}: ${problem}`];
  });
}

/** JSON settings (`kind: 'json'`), e.g. WARMROUTE_FUNCTIONS and WARMROUTE_ROUTES. */
const jsonSettings = settings.filter((s) => s.kind === 'json').map((s) => s.env);

/**
 * `NAME=file.json` for a JSON setting (kustomize `files:`/`envs:` style), with
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
        PORT: '3000',
        WARMROUTE_ADMIN_HOST: '0.0.0.0',
        WARMROUTE_ADMIN_PORT: '9090',
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

/** What is wrong with the gateway's answer to `path`, or undefined when it serves it. */
async function servingProblem(gateway: Gateway, path: string): Promise<string | undefined> {
  const admin = gateway.admin;
  if (admin === undefined) throw new Error('expected an admin listener (WARMROUTE_ADMIN_PORT)');
  if (path.startsWith('/v1/')) {
    const calls = await Promise.all(
      [gateway.app, admin].flatMap((app) =>
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
    return calls.every((res) => res.statusCode === 404)
      ? `${path} is not a gateway route (404 on both listeners)`
      : undefined;
  }
  const res = await admin.inject({ method: 'GET', url: path });
  return res.statusCode === 200
    ? undefined
    : `GET ${path} on the admin listener answers ${String(res.statusCode)}, not 200`;
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
      'deploy/k8s/base/deployment.yaml:2: WARMROUTE_SHUTDOWN_GRACE is neither a gateway setting (src/config/schema.ts settings) nor a function library variable (lambda/environment.ts) (did you mean WARMROUTE_SHUTDOWN_GRACE_MS?)',
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
      { path: '/v1/functions/counter/invoke', file: 'mixed.yaml', line: 6 },
    ]);
    expect(paths.map((p) => p.path)).toContain('/-/ready');
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

  it('every warmroute variable a template sets or reads is a gateway setting or a function variable', () => {
    // Prepare
    const lines = templateLines(packageRoot, DEPLOY);

    // Act
    const references = envReferences(lines, bareKnown);
    const problems = envProblems(lines);

    // Assess: the scan found the settings every artifact sets (so it read the files at all).
    const names = new Set(references.map((r) => r.name));
    expect([...names]).toEqual(
      expect.arrayContaining(['WARMROUTE_ADMIN_PORT', 'WARMROUTE_SECRET']),
    );
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

  it('every gateway path a template uses is served: probes and scrapes with 200 on the admin listener', async () => {
    // Prepare
    const { gateway, segments } = await deployedGateway();
    const references = pathReferences(templateLines(packageRoot, DEPLOY)).filter((ref) =>
      isGatewayPath(ref.path, segments),
    );

    // Act: each distinct path once; every place that uses it is reported.
    const problems: string[] = [];
    for (const path of new Set(references.map((r) => r.path))) {
      const problem = await servingProblem(gateway, path);
      if (problem === undefined) continue;
      for (const ref of references.filter((r) => r.path === path)) {
        problems.push(`${ref.file}:${String(ref.line)}: ${problem}`);
      }
    }

    // Assess: the artifacts probe the gateway's health (so the scan found the probes at all).
    expect(references.map((r) => r.path)).toEqual(expect.arrayContaining(['/readyz']));
    expect(problems).toEqual([]);
  });
});
