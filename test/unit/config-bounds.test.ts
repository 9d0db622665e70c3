import { describe, expect, it } from 'vitest';
import { loadConfig, type Env } from '../../src/config/load-config.js';
import { ConfigSchema, settings } from '../../src/config/schema.js';
import { configError } from '../helpers/config-error.js';

interface NumericBounds {
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
}

/** Every integer setting read from the environment, with the schema's own bounds. */
const integerSettings = settings
  .filter((s) => s.kind === 'integer' && s.field !== null)
  .map((s) => {
    const field = s.field as keyof typeof ConfigSchema.properties;
    const schema = ConfigSchema.properties[field] as unknown as NumericBounds;
    return { env: s.env, field, minimum: schema.minimum, maximum: schema.maximum };
  });

/** Settings other settings depend on; the rest of the env is what loadConfig needs to pass. */
function envFor(name: string, value: string): Env {
  // The whole-request timeout must be at least the headers timeout: hold the
  // other one at its own extreme so only the bound under test can fail.
  if (name === 'WARMROUTE_HEADERS_TIMEOUT_MS') {
    return { [name]: value, WARMROUTE_BODY_TIMEOUT_MS: '3600000' };
  }
  if (name === 'WARMROUTE_BODY_TIMEOUT_MS') {
    return { [name]: value, WARMROUTE_HEADERS_TIMEOUT_MS: '10' };
  }
  if (name === 'WARMROUTE_ADMIN_PORT') return { [name]: value, PORT: '0' };
  return { [name]: value };
}

// Issue 11, defect 11: values the schema accepted but a component refused
// (WARMROUTE_MAX_QUEUE_WAIT_MS=0 threw inside the scheduler).
describe('config bounds: every integer setting has both bounds, checked at load', () => {
  it('declares a minimum and a maximum for every integer setting', () => {
    for (const s of integerSettings) {
      expect(s.minimum, s.env).toBeTypeOf('number');
      expect(s.maximum, s.env).toBeTypeOf('number');
    }
  });

  for (const s of integerSettings) {
    it(`${s.env}: accepts ${String(s.minimum)} and ${String(s.maximum)}, refuses one beyond each`, () => {
      const min = s.minimum ?? 0;
      const max = s.maximum ?? 0;
      expect(loadConfig(envFor(s.env, String(min)))[s.field]).toBe(min);
      expect(loadConfig(envFor(s.env, String(max)))[s.field]).toBe(max);
      for (const outside of [min - 1, max + 1]) {
        const err = configError(() => loadConfig(envFor(s.env, String(outside))));
        expect(err.code).toBe('WR_ERR_CONFIG');
        expect(err.message).toContain(s.env);
      }
    });
  }
});

describe('config bounds: values a component would refuse are refused by the loader', () => {
  const refused: { name: string; env: Env; mentions: string }[] = [
    {
      name: 'queue wait 0 (the scheduler needs ≥ 1)',
      env: { WARMROUTE_MAX_QUEUE_WAIT_MS: '0' },
      mentions: 'WARMROUTE_MAX_QUEUE_WAIT_MS',
    },
    {
      // Review finding 4: HTTP clients got Retry-After 1 and the embedded SDK transport 0.
      name: 'queue Retry-After 0 (HTTP sends at least 1 second)',
      env: { WARMROUTE_QUEUE_RETRY_AFTER_SECONDS: '0' },
      mentions: 'WARMROUTE_QUEUE_RETRY_AFTER_SECONDS (queueRetryAfterSeconds): must be >= 1',
    },
    {
      name: 'L1 TTL 0 (lru-cache: never expires)',
      env: { WARMROUTE_L1_TTL_MS: '0' },
      mentions: 'WARMROUTE_L1_TTL_MS',
    },
    {
      name: 'body timeout shorter than the headers timeout',
      env: { WARMROUTE_HEADERS_TIMEOUT_MS: '5000', WARMROUTE_BODY_TIMEOUT_MS: '4000' },
      mentions: 'WARMROUTE_BODY_TIMEOUT_MS',
    },
    {
      name: 'admin host without admin port',
      env: { WARMROUTE_ADMIN_HOST: '127.0.0.1' },
      mentions: 'WARMROUTE_ADMIN_HOST',
    },
    {
      name: 'admin port equal to the public port',
      env: { PORT: '4000', WARMROUTE_ADMIN_PORT: '4000' },
      mentions: 'WARMROUTE_ADMIN_PORT',
    },
    {
      name: 'Lambda endpoint with a path (the backend throws at the first call)',
      env: { AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001/base' },
      mentions: 'AWS_ENDPOINT_URL_LAMBDA',
    },
    {
      name: 'Lambda endpoint that is no URL',
      env: { AWS_ENDPOINT_URL_LAMBDA: 'http://a b' },
      mentions: 'AWS_ENDPOINT_URL_LAMBDA',
    },
    { name: 'Redis URL that is no URL', env: { REDIS_URL: 'redis://a b' }, mentions: 'REDIS_URL' },
    {
      name: 'region that is no host label',
      env: { AWS_REGION: 'us east 1' },
      mentions: 'AWS_REGION',
    },
    { name: 'listen address with a space', env: { HOST: '127.0.0.1 ' }, mentions: 'HOST' },
    {
      name: 'admin token with a non-ASCII character',
      env: { WARMROUTE_ADMIN_TOKEN: 'tokén-0123456789abc' },
      mentions: 'WARMROUTE_ADMIN_TOKEN',
    },
    {
      name: 'local host on a public address without a control token (the local host refuses it)',
      env: { WARMROUTE_LOCAL_HOST: '0.0.0.0' },
      mentions: 'WARMROUTE_LOCAL_CONTROL_TOKEN',
    },
    {
      name: 'a local control token shorter than 16 characters',
      env: { WARMROUTE_LOCAL_CONTROL_TOKEN: 'short' },
      mentions: 'WARMROUTE_LOCAL_CONTROL_TOKEN',
    },
    {
      name: 'a route prefix inside the gateway space',
      env: {
        WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/v1/apps', function: 'f', mode: 'affinity' }]),
      },
      mentions: '/v1',
    },
    {
      name: 'a route prefix on /metrics',
      env: {
        WARMROUTE_ROUTES: JSON.stringify([
          { prefix: '/metrics/', function: 'f', mode: 'affinity' },
        ]),
      },
      mentions: '/metrics',
    },
    {
      name: 'a route prefix with router syntax',
      env: {
        WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/:id', function: 'f', mode: 'affinity' }]),
      },
      mentions: 'prefix',
    },
    {
      name: 'the same prefix twice, one with a trailing slash',
      env: {
        WARMROUTE_ROUTES: JSON.stringify([
          { prefix: '/a', function: 'f', mode: 'affinity' },
          { prefix: '/a/', function: 'f', mode: 'fresh' },
        ]),
      },
      mentions: 'appears twice',
    },
    {
      name: 'a route function that is no Lambda name (the invoker refuses it)',
      env: {
        WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/n', function: ':-', mode: 'affinity' }]),
      },
      mentions: 'not a Lambda function name',
    },
    {
      name: 'a path template that does not compile',
      env: {
        WARMROUTE_ROUTES: JSON.stringify([
          { prefix: '/n', function: 'f', mode: 'affinity', pathTemplate: '/{a' },
        ]),
      },
      mentions: 'Invalid path template',
    },
    {
      name: 'a path key the template does not have',
      env: {
        WARMROUTE_ROUTES: JSON.stringify([
          {
            prefix: '/n',
            function: 'f',
            mode: 'affinity',
            pathTemplate: '/{nb}',
            key: { from: 'path', name: 'other' },
          },
        ]),
      },
      mentions: '{other}',
    },
    {
      name: 'a route function outside the declared functions (endpoint backend)',
      env: {
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9001',
        WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/n', function: 'missing', mode: 'affinity' }]),
      },
      mentions: 'missing',
    },
  ];

  it.each(refused)('$name', ({ env, mentions }) => {
    const overrides =
      env['AWS_ENDPOINT_URL_LAMBDA'] === 'http://127.0.0.1:9001'
        ? { functions: { known: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'PER_TENANT' } } }
        : {};
    const err = configError(() => loadConfig(env, { overrides }));
    expect(err.code).toBe('WR_ERR_CONFIG');
    expect(err.message).toContain(mentions);
  });

  it('reports bad routes and bad scalars together, in one message', () => {
    const err = configError(() =>
      loadConfig({
        WARMROUTE_MAX_QUEUE_WAIT_MS: '0',
        WARMROUTE_ROUTES: JSON.stringify([
          { prefix: '/healthz', function: 'f', mode: 'affinity' },
          { prefix: 'nope', function: 'f', mode: 'affinity' },
        ]),
      }),
    );
    expect(err.message).toContain('WARMROUTE_MAX_QUEUE_WAIT_MS');
    expect(err.message).toContain('/healthz');
    expect(err.message).toContain('routes.1.prefix');
  });

  it('a routes value that is not an array is reported, not thrown as a TypeError', () => {
    const err = configError(() => loadConfig({ WARMROUTE_ROUTES: '{"prefix":"/a"}' }));
    expect(err.message).toContain('WARMROUTE_ROUTES');
  });
});
