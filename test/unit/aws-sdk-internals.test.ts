import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LambdaClient,
  LambdaServiceException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { HttpResponse } from '@smithy/protocol-http';
import {
  fastPathInternals,
  INVOKE_HTTP_TRAIT,
  lambdaSdkVersion,
  sdkInternals,
  type SdkInternal,
} from '../../src/backend/fast-path/sdk-internals.js';
import { invokePath } from '../../src/backend/fast-path/sigv4-signer.js';
import { packageRoot } from '../../src/paths.js';

/**
 * The fast Lambda path (src/backend/fast-path/) reads parts of
 * `@aws-sdk/client-lambda` that are not its documented API. This test fails,
 * naming the part, when an SDK upgrade changes one of them: first their
 * presence and shape (the list in sdk-internals.ts, which FastInvoker also
 * checks at start), then what the fast path needs each one to do. The same
 * Invoke through both paths on the wire: test/integration/backend-sdk-equivalence.test.ts.
 */

const version = lambdaSdkVersion();
const FIX =
  'run the SDK path (WARMROUTE_LAMBDA_PIPELINE=sdk) or update src/backend/fast-path/ (see its README.md)';

function broke(name: string, usedFor: string): string {
  return `@aws-sdk/client-lambda ${version}: ${name} changed; src/backend/fast-path/ relies on it (${usedFor}); ${FIX}`;
}

function internal(name: string): SdkInternal {
  const found = sdkInternals.find((i) => i.name === name);
  if (found === undefined) throw new Error(`${name} is not in sdkInternals`);
  return found;
}

const identity = { accessKeyId: 'AK', secretAccessKey: 'SK' };
const plain = new LambdaClient({ region: 'eu-west-3', credentials: identity });
const custom = new LambdaClient({
  region: 'eu-west-3',
  credentials: identity,
  endpoint: 'http://127.0.0.1:9001',
  customUserAgent: 'app/1.2',
});
const configOf = (client: LambdaClient) => client.config as unknown as Record<string, unknown>;

describe(`@aws-sdk/client-lambda ${version}: the internals the fast path reads`, () => {
  it('is pinned exactly, and the installed version is the pinned one (an upgrade is deliberate)', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const pinned = pkg.dependencies['@aws-sdk/client-lambda'];
    expect(
      pinned,
      'package.json must pin @aws-sdk/client-lambda to one version: src/backend/fast-path/ relies on its internals',
    ).toMatch(/^\d+\.\d+\.\d+$/);
    expect(version, 'installed @aws-sdk/client-lambda differs from package.json: npm ci').toBe(
      pinned,
    );
  });

  for (const item of sdkInternals) {
    it(`${item.name} is there with the expected shape`, () => {
      for (const client of [plain, custom]) {
        const problem = item.problem(configOf(client));
        expect(problem, broke(item.name, item.usedFor) + ` — it ${String(problem)}`).toBe(
          undefined,
        );
      }
    });
  }

  it('are each named in src/backend/fast-path/README.md', () => {
    const readme = readFileSync(join(packageRoot, 'src/backend/fast-path/README.md'), 'utf8');
    for (const item of sdkInternals) expect(readme, item.name).toContain(`\`${item.name}`);
  });

  it('FastInvoker refuses, at start and naming the part, an SDK without one of them', () => {
    // Prepare: this SDK's client config with one internal gone.
    const changed = {
      config: { ...plain.config, endpointProvider: undefined },
    } as unknown as LambdaClient;
    // Act / Assess
    expect(() => fastPathInternals(plain)).not.toThrow();
    expect(() => fastPathInternals(changed)).toThrow(
      /client\.config\.endpointProvider is undefined, not a function[\s\S]*WARMROUTE_LAMBDA_PIPELINE=sdk/,
    );
  });
});

describe(`@aws-sdk/client-lambda ${version}: what the fast path needs each internal to do`, () => {
  it('Invoke$ is the Invoke operation whose HTTP binding is the path invokePath builds', () => {
    const { invokeOperation } = fastPathInternals(plain);
    const why = broke('Invoke$', internal('Invoke$').usedFor);
    expect(invokeOperation.namespace, why).toBe('com.amazonaws.lambda');
    expect(invokeOperation.name, why).toBe('Invoke');
    expect(invokeOperation.traits, why).toEqual({ http: INVOKE_HTTP_TRAIT });
    expect(invokePath('my-fn'), why).toBe(
      String(INVOKE_HTTP_TRAIT[1]).replace('{FunctionName}', 'my-fn'),
    );
  });

  it("protocol.deserializeResponse turns an error answer into the SDK's exception, as client.send throws it", async () => {
    // Prepare: Lambda error answers, deserialized as fast-invoke.ts does (context: a copy of the config).
    const { config, invokeOperation } = fastPathInternals(plain);
    const why = broke(
      'client.config.protocol.deserializeResponse',
      internal('client.config.protocol.deserializeResponse').usedFor,
    );
    const answer = (status: number, errorType: string, headers: Record<string, string> = {}) =>
      new HttpResponse({
        statusCode: status,
        headers: {
          'content-type': 'application/json',
          'x-amzn-errortype': errorType,
          'x-amzn-requestid': 'req-1',
          ...headers,
        },
        body: Buffer.from(JSON.stringify({ Type: 'User', message: 'Rate exceeded' })),
      });
    const thrown = async (response: HttpResponse): Promise<unknown> => {
      try {
        await config.protocol.deserializeResponse(invokeOperation, { ...config }, response);
      } catch (err) {
        return err;
      }
      throw new Error(`${why}: an HTTP ${String(response.statusCode)} answer did not throw`);
    };
    // Act
    const throttled = await thrown(answer(429, 'TooManyRequestsException', { 'retry-after': '7' }));
    const notFound = await thrown(answer(404, 'ResourceNotFoundException'));
    const unknown = await thrown(answer(502, 'SomethingNewException'));
    // Assess: the class, name, status, request id and Retry-After the backend's retry and error mapping read.
    expect(throttled, why).toBeInstanceOf(TooManyRequestsException);
    expect(throttled, why).toMatchObject({
      name: 'TooManyRequestsException',
      message: 'Rate exceeded',
      retryAfterSeconds: '7',
      $fault: 'client',
      $metadata: { httpStatusCode: 429, requestId: 'req-1' },
    });
    expect(notFound, why).toBeInstanceOf(ResourceNotFoundException);
    expect(notFound, why).toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect(unknown, why).toBeInstanceOf(LambdaServiceException);
    expect(unknown, why).toMatchObject({
      name: 'SomethingNewException',
      $fault: 'server',
      $metadata: { httpStatusCode: 502 },
    });
  });

  it('endpointProvider gives the AWS URL (or the custom endpoint) and no auth scheme but SigV4', async () => {
    const { config } = fastPathInternals(custom);
    const why = broke(
      'client.config.endpointProvider',
      internal('client.config.endpointProvider').usedFor,
    );
    const aws = config.endpointProvider({
      Region: 'eu-west-3',
      UseFIPS: false,
      UseDualStack: false,
    });
    expect(aws.url, why).toBeInstanceOf(URL);
    expect(aws.url.href, why).toBe('https://lambda.eu-west-3.amazonaws.com/');
    for (const scheme of aws.properties?.authSchemes ?? []) expect(scheme.name, why).toBe('sigv4');
    // The fast path sends no headers from the endpoint rules: they must give none.
    expect((aws as { headers?: Record<string, unknown> }).headers ?? {}, why).toEqual({});
    // The `endpoint` option: isCustomEndpoint, endpoint() and the rules' Endpoint input.
    expect(
      config.isCustomEndpoint,
      broke('client.config.isCustomEndpoint', 'custom endpoint'),
    ).toBe(true);
    const e = await config.endpoint?.();
    expect(e, why).toMatchObject({
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9001,
      path: '/',
    });
    const local = config.endpointProvider({
      Region: 'eu-west-3',
      UseFIPS: false,
      UseDualStack: false,
      Endpoint: 'http://127.0.0.1:9001/',
    });
    expect(local.url.href, why).toBe('http://127.0.0.1:9001/');
    expect(fastPathInternals(plain).config.isCustomEndpoint, why).toBe(false);
  });

  it('region, credentials, clock offset, user agent and path escaping resolve as the fast path reads them', async () => {
    const { config } = fastPathInternals(custom);
    expect(await config.region(), broke('client.config.region', 'signing region')).toBe(
      'eu-west-3',
    );
    expect(
      await config.credentials(),
      broke('client.config.credentials', 'identity'),
    ).toMatchObject(identity);
    expect(await config.useFipsEndpoint(), broke('client.config.useFipsEndpoint', 'UseFIPS')).toBe(
      false,
    );
    expect(
      await config.useDualstackEndpoint(),
      broke('client.config.useDualstackEndpoint', 'UseDualStack'),
    ).toBe(false);
    expect(config.systemClockOffset, broke('client.config.systemClockOffset', 'signing time')).toBe(
      0,
    );
    expect(
      config.signingEscapePath,
      broke('client.config.signingEscapePath', 'canonical path'),
    ).toBe(true);
    const ua = broke('client.config.defaultUserAgentProvider', 'user agent');
    const pairs = await config.defaultUserAgentProvider();
    expect(pairs.length, ua).toBeGreaterThan(0);
    for (const pair of pairs) {
      expect(Array.isArray(pair), ua).toBe(true);
      expect(typeof pair[0], ua).toBe('string');
      expect(['string', 'undefined'], ua).toContain(typeof pair[1]);
    }
    expect(config.customUserAgent, broke('client.config.customUserAgent', 'user agent')).toEqual([
      ['app/1.2'],
    ]);
  });
});
