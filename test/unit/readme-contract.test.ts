import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import { SDK_ENVIRONMENT } from '../../src/sdk/env-options.js';
import { loadConfig } from '../../src/config/load-config.js';
import { defaults, settings } from '../../src/config/schema.js';
import { createGateway } from '../../src/create-gateway.js';
import { errorCatalogue } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';

/**
 * The README and the code describe the same interface, in both directions:
 * every error code, environment variable and route the README documents
 * exists, and every one that exists is documented.
 */

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

/** The text under a heading, up to the next heading of any level. */
function section(heading: string): string {
  const start = readme.search(new RegExp(`^#{2,3} ${heading.replace(/[()`]/g, '\\$&')}`, 'm'));
  if (start === -1) throw new Error(`README has no section "${heading}"`);
  const rest = readme.slice(readme.indexOf('\n', start));
  const end = rest.search(/^#{1,3} /m);
  return end === -1 ? rest : rest.slice(0, end);
}

/** First-column values of a Markdown table's rows: `| \`X\` | …`. */
function tableKeys(text: string): string[] {
  return [...text.matchAll(/^\|\s*`([^`]+)`\s*\|/gm)].map((m) => m[1] ?? '');
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** Source files of src/ and lambda/ (the package's code), with their text. */
function sources(): { path: string; text: string }[] {
  return ['src', 'lambda'].flatMap((dir) =>
    readdirSync(join(packageRoot, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /\.(ts|mjs|js|cjs)$/.test(e.name))
      .map((e) => {
        const path = join(e.parentPath, e.name);
        return { path, text: readFileSync(path, 'utf8') };
      }),
  );
}

/**
 * Variables read by something other than the gateway's config loader, with
 * the reader. Each must be read somewhere in src/ or lambda/; the
 * `documented` ones are the package's own interface and must be in README.
 */
const otherVariables: Record<string, { reader: string; documented: boolean }> = {
  // The SDK default client's variables, from its one list (WARMROUTE_KEY_HEADER is a gateway
  // setting too).
  ...Object.fromEntries(
    SDK_ENVIRONMENT.map((env) => [
      env,
      { reader: 'SDK default client (src/sdk/env-options.ts)', documented: true },
    ]),
  ),
  // The function library's variables, from its one list (lambda/environment.ts).
  ...Object.fromEntries(
    Object.values(FUNCTION_ENVIRONMENT).map((v) => [
      v.env,
      { reader: 'function library (lambda/environment.ts)', documented: true },
    ]),
  ),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: {
    reader: 'the AWS SDK; set by src/aws-sdk-node-warning.ts for the CLI and the benchmarks',
    documented: true,
  },
  AWS_ENDPOINT_URL: { reader: 'the AWS SDK (the backend honours it)', documented: false },
  // A one-off tool's input, documented where the tool is (docs/scaling.md, "Migration").
  WARMROUTE_MIGRATE_FROM_PASSWORD: {
    reader: 'warmroute migrate-directory (src/directory/migrate-command.ts)',
    documented: false,
  },
  // The AWS SDK's credential chain and region; the local host passes them to environments.
  AWS_ACCESS_KEY_ID: { reader: 'AWS SDK and CLI credentials', documented: true },
  AWS_SECRET_ACCESS_KEY: { reader: 'AWS SDK and CLI credentials', documented: true },
  AWS_SESSION_TOKEN: { reader: 'AWS SDK and CLI credentials', documented: false },
  AWS_DEFAULT_REGION: { reader: 'AWS CLI; set by the local host for functions', documented: true },
  // Lambda's own runtime variables, which the local host sets for each environment as Lambda does.
  AWS_EXECUTION_ENV: { reader: 'Lambda runtime variable', documented: false },
  AWS_LAMBDA_RUNTIME_API: { reader: 'Lambda runtime variable (bootstrap)', documented: true },
  AWS_LAMBDA_FUNCTION_NAME: { reader: 'Lambda runtime variable', documented: false },
  AWS_LAMBDA_FUNCTION_VERSION: { reader: 'Lambda runtime variable', documented: false },
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: { reader: 'Lambda runtime variable', documented: false },
  AWS_LAMBDA_LOG_GROUP_NAME: { reader: 'Lambda runtime variable', documented: false },
  AWS_LAMBDA_LOG_STREAM_NAME: { reader: 'Lambda runtime variable', documented: false },
  AWS_LAMBDA_INITIALIZATION_TYPE: { reader: 'Lambda runtime variable', documented: false },
};

const VARIABLE = /\b(?:WARMROUTE|AWS)_[A-Z0-9_]*[A-Z0-9]\b/g;
const settingNames = new Set(settings.map((s) => s.env));

describe('README stays in step with the code', () => {
  it('documents every error code with its HTTP status, and no code that does not exist', () => {
    // Prepare
    const rows = section('Errors');
    const documented = tableKeys(rows).filter((k) => k.startsWith('WR_ERR_'));

    // Assess
    expect(sorted(documented)).toEqual(sorted(Object.keys(errorCatalogue)));
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(rows, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${entry.status}\\s*\\|`));
    }
  });

  it('the Configuration table lists exactly the settings the config loader reads', () => {
    // Prepare
    const documented = tableKeys(section('Configuration'));

    // Assess
    expect(sorted(documented)).toEqual(sorted(settingNames));
  });

  it('every variable the README names is a setting or read by something it names', () => {
    // Prepare
    const named = sorted(readme.match(VARIABLE) ?? []);

    // Assess
    const unknown = named.filter((v) => !settingNames.has(v) && !(v in otherVariables));
    expect(unknown).toEqual([]);
  });

  it('every WARMROUTE_ or AWS_ variable in src/ and lambda/ is a setting or listed above; the listed ones exist and the package’s own are documented', () => {
    // Prepare
    const code = sources();
    const inCode = sorted(code.flatMap(({ text }) => text.match(VARIABLE) ?? []));

    // Assess
    const unknown = inCode.filter((v) => !settingNames.has(v) && !(v in otherVariables));
    expect(unknown, 'variables in the code that neither the config nor this list knows').toEqual(
      [],
    );
    const unread = Object.keys(otherVariables).filter((v) => !inCode.includes(v));
    expect(unread, 'listed variables that nothing in src/ or lambda/ mentions').toEqual([]);
    const undocumented = Object.entries(otherVariables)
      .filter(([name, v]) => v.documented && !new RegExp(`\\b${name}\\b`).test(readme))
      .map(([name]) => name);
    expect(undocumented).toEqual([]);
  });

  it('the HTTP interface table lists exactly the routes the gateway registers (public and admin listener)', async () => {
    // Prepare: every Fastify instance createGateway builds gets an onRoute hook before its routes.
    const registered: { method: string; url: string; handler: unknown }[] = [];
    const onInit = (message: unknown): void => {
      const app = (message as { fastify: FastifyInstance }).fastify;
      app.addHook('onRoute', (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        for (const method of methods)
          registered.push({ method, url: route.url, handler: route.handler });
      });
    };
    subscribe('fastify.initialization', onInit);
    try {
      for (const env of [{}, { WARMROUTE_ADMIN_PORT: '0' }]) {
        // An endpoint backend: no local host is started, nothing listens.
        const gateway = await createGateway(
          { AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9', WARMROUTE_LOG_LEVEL: 'silent', ...env },
          { defaultMetrics: false },
        );
        await gateway.app.ready();
        await gateway.admin?.ready();
        await gateway.close();
      }
    } finally {
      unsubscribe('fastify.initialization', onInit);
    }
    // HEAD routes are Fastify's automatic twins of GET. The handler registered on `/v1/*` (and
    // with it on `/v1`, `/healthz`, … for their other methods) is the gateway's own 404/405
    // answer for its paths (src/http/gateway-space.ts; README: "never proxied"), not a route.
    const catchAlls = new Set(registered.filter((r) => r.url.endsWith('/*')).map((r) => r.handler));
    const routes = sorted(
      registered
        .filter((r) => r.method !== 'HEAD' && !catchAlls.has(r.handler))
        .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = sorted(
      [...section('HTTP interface').matchAll(/`((?:GET|POST|PUT|DELETE|PATCH) \/[^`]*)`/g)].map(
        (m) => m[1] ?? '',
      ),
    );

    // Assess
    expect(documented).toEqual(routes);
  });

  it('the local host section lists exactly the control endpoints control-api.ts serves', () => {
    // Prepare: the control API routes on `METHOD name` strings (src/localhost/control-api.ts).
    const source = readFileSync(join(packageRoot, 'src/localhost/control-api.ts'), 'utf8');
    const served = sorted(
      [...source.matchAll(/case '(GET|POST|PUT|DELETE) (\w+)':/g)].map(
        (m) => `${m[1] ?? ''} /_local/${m[2] ?? ''}`,
      ),
    );
    const documented = sorted(
      [
        ...section('The local Lambda host').matchAll(/`((?:GET|POST|PUT|DELETE) \/_local\/\w+)`/g),
      ].map((m) => m[1] ?? ''),
    );

    // Assess
    expect(served.length).toBeGreaterThan(3);
    expect(documented).toEqual(served);
  });

  it('examples use the configured default ports, and say where they come from', () => {
    // Prepare
    const ports = sorted(
      [...readme.matchAll(/(?:127\.0\.0\.1|localhost):(\d+)/g)].map((m) => m[1] ?? ''),
    );

    // Assess: the gateway's PORT, the local host's WARMROUTE_LOCAL_PORT, Redis.
    expect(ports).toEqual(sorted([String(defaults.port), String(defaults.localPort), '6379']));
    expect(readme).not.toMatch(/localhost:\d/);
  });

  it('the functions-file example is part of the shipped file, entry for entry', () => {
    // Prepare
    const shipped = JSON.parse(
      readFileSync(join(packageRoot, 'lambda/examples/functions.json'), 'utf8'),
    ) as { functions: { name: string }[] };
    const block = /The functions file[^\n]*\n\n```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
    const example = JSON.parse(block ?? 'null') as { functions: { name: string }[] };

    // Assess
    expect(Object.keys(example)).toEqual(['functions']);
    expect(example.functions.length).toBeGreaterThan(0);
    for (const entry of example.functions) {
      expect(entry, entry.name).toEqual(shipped.functions.find((f) => f.name === entry.name));
    }
  });

  it('the Routes example loads as the gateway loads it (endpoint backend: routes checked against functions)', () => {
    // Prepare: the example's two settings, as WARMROUTE_ROUTES and WARMROUTE_FUNCTIONS would
    // carry them (the WARMROUTE_FUNCTIONS row points at this example).
    const block = /### Routes\n[\s\S]*?```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
    const example = JSON.parse(block ?? 'null') as { routes: unknown[]; functions: object };

    // Act
    const load = (): unknown =>
      loadConfig({
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
        WARMROUTE_ROUTES: JSON.stringify(example.routes),
        WARMROUTE_FUNCTIONS: JSON.stringify(example.functions),
      });

    // Assess
    expect(Object.keys(example)).toEqual(['routes', 'functions']);
    expect(load).not.toThrow();
  });

  it('gives the two commands a newcomer runs, and the supported Node versions', () => {
    const engines = (
      JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
        engines: { node: string };
      }
    ).engines.node;
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
    expect(engines).toBe('>=20.18');
    expect(section('Node versions')).toContain('Node 20.18 or later');
  });
});
