import { createRequire } from 'node:module';
import * as lambdaSdk from '@aws-sdk/client-lambda';
import type { HttpResponse } from '@smithy/protocol-http';
import type { AwsCredentialIdentity } from '@smithy/types';

/**
 * Every part of `@aws-sdk/client-lambda` that the fast path reads beyond its
 * documented API, with the shape it expects. `@aws-sdk/client-lambda` is
 * pinned exactly in package.json because of these; `FastInvoker` checks them
 * when it is built (so a changed SDK fails at start, with this list, rather
 * than at the first invoke), and test/unit/aws-sdk-internals.test.ts checks
 * their behaviour. README.md in this folder says why they are used.
 */

/** The parts of the resolved Lambda client config the fast path uses (all set by the SDK's resolvers). */
export interface ResolvedConfigView {
  region: () => Promise<string>;
  credentials: () => Promise<AwsCredentialIdentity>;
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
  isCustomEndpoint: boolean;
  ignoreConfiguredEndpointUrls?: boolean;
  serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  useFipsEndpoint: () => Promise<boolean>;
  useDualstackEndpoint: () => Promise<boolean>;
  endpointProvider: (
    params: Record<string, unknown>,
    context?: { logger?: unknown },
  ) => { url: URL; properties?: { authSchemes?: AuthSchemeView[] } };
  systemClockOffset: number;
  defaultUserAgentProvider: () => Promise<[string, string | undefined][]>;
  customUserAgent?: [string, string | undefined][];
  signingEscapePath: boolean;
  protocol: ProtocolView;
}

export interface AuthSchemeView {
  name: string;
  signingName?: string;
  signingRegion?: string;
}

export interface OperationView {
  name: string;
  namespace: string;
  traits: unknown;
  input: unknown;
  output: unknown;
}

export interface ProtocolView {
  deserializeResponse(
    operation: OperationView,
    context: unknown,
    response: HttpResponse,
  ): Promise<unknown>;
}

/** The Invoke HTTP binding the fast path's `invokePath` builds (sigv4-signer.ts). */
export const INVOKE_HTTP_TRAIT = ['POST', '/2015-03-31/functions/{FunctionName}/invocations', 200];

export interface SdkInternal {
  /** How the fast path reaches it. */
  readonly name: string;
  /** What the fast path uses it for, and where. */
  readonly usedFor: string;
  /** Undefined when present with the expected shape; otherwise what changed. */
  problem(config: Readonly<Record<string, unknown>>): string | undefined;
}

function fn(key: string): (config: Readonly<Record<string, unknown>>) => string | undefined {
  return (config) =>
    typeof config[key] === 'function' ? undefined : `is ${typeof config[key]}, not a function`;
}

function optionalFn(
  key: string,
): (config: Readonly<Record<string, unknown>>) => string | undefined {
  return (config) =>
    config[key] === undefined || typeof config[key] === 'function'
      ? undefined
      : `is ${typeof config[key]}, not a function or undefined`;
}

/**
 * Read through the namespace so that an SDK without it fails this check
 * (with the message below) instead of failing the import of every backend.
 */
function invokeSchema(): unknown {
  return lambdaSdk.Invoke$;
}

function invokeSchemaProblem(): string | undefined {
  const schema = invokeSchema();
  if (!Array.isArray(schema)) return `is ${typeof schema}, not the schema tuple`;
  const [, namespace, name, traits] = schema as unknown[];
  if (namespace !== 'com.amazonaws.lambda' || name !== 'Invoke') {
    return `names ${String(namespace)}#${String(name)}, not com.amazonaws.lambda#Invoke at [1], [2]`;
  }
  const http = (traits as { http?: unknown } | undefined)?.http;
  if (JSON.stringify(http) !== JSON.stringify(INVOKE_HTTP_TRAIT)) {
    return `has the HTTP trait ${JSON.stringify(http)}, not ${JSON.stringify(INVOKE_HTTP_TRAIT)}`;
  }
  return undefined;
}

export const sdkInternals: readonly SdkInternal[] = [
  {
    name: 'Invoke$',
    usedFor:
      "the Invoke operation schema [kind, namespace, name, traits, input, output], handed to the protocol's error deserializer (fast-invoke.ts); its HTTP trait is the path invokePath builds (sigv4-signer.ts)",
    problem: invokeSchemaProblem,
  },
  {
    name: 'client.config.protocol.deserializeResponse',
    usedFor:
      "turns a non-2xx answer into the SDK's modelled exception (TooManyRequestsException, …, with $metadata), with a copy of client.config as its context (fast-invoke.ts)",
    problem: (config) => {
      const protocol = config.protocol as { deserializeResponse?: unknown } | undefined;
      return typeof protocol?.deserializeResponse === 'function'
        ? undefined
        : `is ${typeof protocol?.deserializeResponse}, not a function`;
    },
  },
  {
    name: 'client.config.region',
    usedFor: 'the signing region and the endpoint rules input (fast-invoke.ts prepare)',
    problem: fn('region'),
  },
  {
    name: 'client.config.credentials',
    usedFor:
      "the SDK's credential provider chain, asked again 5 minutes before expiry (fast-invoke.ts)",
    problem: fn('credentials'),
  },
  {
    name: 'client.config.isCustomEndpoint',
    usedFor:
      'whether client.config.endpoint (the `endpoint` option) overrides the endpoint rules (fast-invoke.ts prepare)',
    problem: (config) => {
      if (typeof config.isCustomEndpoint !== 'boolean') {
        return `is ${typeof config.isCustomEndpoint}, not a boolean`;
      }
      return config.isCustomEndpoint && typeof config.endpoint !== 'function'
        ? `is true but client.config.endpoint is ${typeof config.endpoint}, not a function`
        : undefined;
    },
  },
  {
    name: 'client.config.serviceConfiguredEndpoint',
    usedFor:
      'AWS_ENDPOINT_URL_LAMBDA / the config file endpoint, unless client.config.ignoreConfiguredEndpointUrls (fast-invoke.ts prepare)',
    problem: optionalFn('serviceConfiguredEndpoint'),
  },
  {
    name: 'client.config.useFipsEndpoint',
    usedFor: 'endpoint rules input UseFIPS (fast-invoke.ts prepare)',
    problem: fn('useFipsEndpoint'),
  },
  {
    name: 'client.config.useDualstackEndpoint',
    usedFor: 'endpoint rules input UseDualStack (fast-invoke.ts prepare)',
    problem: fn('useDualstackEndpoint'),
  },
  {
    name: 'client.config.endpointProvider',
    usedFor:
      'the endpoint rules: URL and auth scheme (signing region and name), evaluated once (fast-invoke.ts prepare)',
    problem: fn('endpointProvider'),
  },
  {
    name: 'client.config.systemClockOffset',
    usedFor: 'added to the signing time, as the SDK signer does (fast-invoke.ts)',
    problem: (config) =>
      typeof config.systemClockOffset === 'number'
        ? undefined
        : `is ${typeof config.systemClockOffset}, not a number`,
  },
  {
    name: 'client.config.defaultUserAgentProvider',
    usedFor:
      'the user-agent pairs, with client.config.customUserAgent, joined once (fast-invoke.ts prepare)',
    problem: fn('defaultUserAgentProvider'),
  },
  {
    name: 'client.config.signingEscapePath',
    usedFor:
      "must be true (the SDK's setting for Lambda): canonicalInvokePath encodes the path a second time as the SDK signer then does (sigv4-signer.ts)",
    problem: (config) =>
      config.signingEscapePath === true ? undefined : `is ${String(config.signingEscapePath)}`,
  },
];

/** The installed SDK version, for messages (read only when one is needed). */
export function lambdaSdkVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('@aws-sdk/client-lambda/package.json') as {
      version?: unknown;
    };
    return String(pkg.version);
  } catch {
    return '(version unknown)';
  }
}

export interface FastPathInternals {
  readonly config: ResolvedConfigView;
  /** The Invoke operation as the protocol's deserializer takes it. */
  readonly invokeOperation: OperationView;
}

/**
 * The client's resolved config and the Invoke operation, as the fast path
 * reads them; throws, listing what changed, when the SDK no longer has them.
 */
export function fastPathInternals(client: lambdaSdk.LambdaClient): FastPathInternals {
  const config = client.config as unknown as Record<string, unknown>;
  const problems: string[] = [];
  for (const internal of sdkInternals) {
    const problem = internal.problem(config);
    if (problem !== undefined) problems.push(`  ${internal.name} ${problem} (${internal.usedFor})`);
  }
  if (problems.length > 0) {
    throw new Error(
      `@aws-sdk/client-lambda ${lambdaSdkVersion()} changed internals the fast Lambda path relies on:\n${problems.join('\n')}\n` +
        'Set WARMROUTE_LAMBDA_PIPELINE=sdk (the SDK path) or update src/backend/fast-path/ (see its README.md).',
    );
  }
  // [kind, namespace, name, traits, input, output], checked above.
  const [, namespace, name, traits, input, output] = invokeSchema() as [
    number,
    string,
    string,
    unknown,
    unknown,
    unknown,
  ];
  return {
    config: config as unknown as ResolvedConfigView,
    invokeOperation: { name, namespace, traits, input, output },
  };
}
