import { Invoke$, type InvokeCommandInput, type LambdaClient } from '@aws-sdk/client-lambda';
import type { HttpRequest, HttpResponse } from '@smithy/protocol-http';
import type { HttpHandlerOptions } from '@smithy/types';
import type { UndiciRequestHandler } from './undici-request-handler.js';

/**
 * The per-invoke fast path: the SDK's own pieces, without its generic
 * middleware stack. Profiling `client.send(new InvokeCommand())` (node
 * --cpu-prof, trivial local server) showed the cost is not the wire work but
 * the generic plumbing around it: per call, the endpoint middleware and both
 * schema serde middlewares copy the whole client config with object spread
 * (~30 % of the SDK's CPU), the default `signer` builds a new SignatureV4
 * (another config spread), the user-agent middleware rebuilds and escapes the
 * UA string, the retry middleware makes an invocation id, and node:http
 * costs ~3× undici. Here, per client and once:
 *   - the endpoint: the SDK's endpoint rules (`endpointProvider`) with the
 *     SDK's endpoint config (`endpoint` option or `AWS_ENDPOINT_URL_LAMBDA`);
 *   - the signer: the SDK's SigV4 signer from `config.signer` (credentials
 *     still come from the SDK's provider chain on every request, so refresh
 *     works; the derived signing key is cached by the signer);
 *   - the user agent, from the SDK's `defaultUserAgentProvider`;
 * and per call only: the SDK's schema serializer for `Invoke`, SigV4, one
 * undici request, and for a non-2xx answer the SDK's error deserializer —
 * so callers get the SDK's exception classes (`err.name`, `$metadata`,
 * `retryAfterSeconds`) exactly as from `client.send`.
 * The success output is read directly from the Invoke response binding
 * (status, three headers, raw payload): the SDK's generic deserializer costs
 * more than the whole rest of the request.
 */

export interface FastInvokeOutput {
  readonly StatusCode: number;
  readonly Payload: Uint8Array;
  readonly FunctionError?: string | undefined;
  /** Base64, as the SDK returns it. */
  readonly LogResult?: string | undefined;
  readonly ExecutedVersion?: string | undefined;
}

/** The parts of the resolved Lambda client config this path uses (all set by the SDK's resolvers). */
interface ResolvedConfigView {
  region: () => Promise<string>;
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
  isCustomEndpoint?: boolean;
  ignoreConfiguredEndpointUrls?: boolean;
  serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  useFipsEndpoint: () => Promise<boolean>;
  useDualstackEndpoint: () => Promise<boolean>;
  endpointProvider: (
    params: Record<string, unknown>,
    context?: { logger?: unknown },
  ) => { url: URL; properties?: { authSchemes?: AuthSchemeView[] } };
  signer: (authScheme?: AuthSchemeView) => Promise<SignerView>;
  systemClockOffset: number;
  defaultUserAgentProvider: () => Promise<[string, string | undefined][]>;
  customUserAgent?: [string, string | undefined][];
  protocol: ProtocolView;
}

interface AuthSchemeView {
  name: string;
  signingName?: string;
  signingRegion?: string;
  properties: Record<string, unknown>;
}

interface SignerView {
  sign(
    request: HttpRequest,
    options: { signingDate: Date; signingRegion: string; signingService: string },
  ): Promise<HttpRequest>;
}

interface OperationView {
  name: string;
  namespace: string;
  traits: unknown;
  input: unknown;
  output: unknown;
}

interface ProtocolView {
  serializeRequest(
    operation: OperationView,
    input: unknown,
    context: { endpoint: () => Promise<EndpointV1> },
  ): Promise<HttpRequest>;
  deserializeResponse(operation: OperationView, context: unknown, response: HttpResponse): Promise<unknown>;
}

interface EndpointV1 {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
}

interface Prepared {
  readonly endpoint: EndpointV1;
  readonly host: string;
  readonly signer: SignerView;
  readonly signingRegion: string;
  readonly signingService: string;
  readonly userAgent: string;
  /** A snapshot of the client config, the context the SDK's error deserializer expects. */
  readonly errorContext: Record<string, unknown>;
}

// `Invoke$` is the SDK's static schema: [kind, namespace, name, traits, input, output].
const [, invokeNamespace, invokeName, invokeTraits, invokeInput, invokeOutput] = Invoke$ as unknown as [
  number,
  string,
  string,
  unknown,
  unknown,
  unknown,
];
const invokeOperation: OperationView = {
  name: invokeName,
  namespace: invokeNamespace,
  traits: invokeTraits,
  input: invokeInput,
  output: invokeOutput,
};

/** Escape like the SDK's user-agent middleware (keeps the UA a valid header value). */
function escapeUserAgent(s: string): string {
  return s.replace(/[^!$%&'*+\-.^_`|~\w/#]/g, '-');
}

export class FastInvoker {
  private prepared: Promise<Prepared> | undefined;
  private readonly config: ResolvedConfigView;

  constructor(
    client: LambdaClient,
    private readonly handler: UndiciRequestHandler,
  ) {
    this.config = client.config as unknown as ResolvedConfigView;
  }

  private async prepare(): Promise<Prepared> {
    const cfg = this.config;
    // The SDK's endpoint middleware, evaluated once: an explicit endpoint wins,
    // then the configured one (AWS_ENDPOINT_URL_LAMBDA / config file), then the rules.
    let custom: string | undefined;
    if (cfg.isCustomEndpoint === true && cfg.endpoint !== undefined) {
      const e = await cfg.endpoint();
      custom = `${e.protocol}//${e.hostname}${e.port === undefined ? '' : `:${String(e.port)}`}${e.path}`;
    } else if (cfg.ignoreConfiguredEndpointUrls !== true && cfg.serviceConfiguredEndpoint !== undefined) {
      custom = await cfg.serviceConfiguredEndpoint();
    }
    const region = await cfg.region();
    const resolved = cfg.endpointProvider({
      Region: region,
      UseFIPS: await cfg.useFipsEndpoint(),
      UseDualStack: await cfg.useDualstackEndpoint(),
      ...(custom === undefined ? {} : { Endpoint: custom }),
    });
    const url = resolved.url;
    const endpoint: EndpointV1 = {
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
    };
    const scheme = resolved.properties?.authSchemes?.[0];
    const signingRegion = scheme?.signingRegion ?? region;
    const signingService = scheme?.signingName ?? 'lambda';
    const signer = await cfg.signer({
      name: scheme?.name ?? 'sigv4',
      signingName: signingService,
      signingRegion,
      properties: scheme?.properties ?? {},
    });
    const pairs = [...(await cfg.defaultUserAgentProvider()), ...(cfg.customUserAgent ?? [])];
    const userAgent = pairs
      .map(([name, version]) =>
        version === undefined ? escapeUserAgent(name) : `${escapeUserAgent(name)}#${escapeUserAgent(version)}`,
      )
      .join(' ');
    return {
      endpoint,
      host: url.host,
      signer,
      signingRegion,
      signingService,
      userAgent,
      errorContext: { ...(cfg as unknown as Record<string, unknown>) },
    };
  }

  async invoke(input: InvokeCommandInput, options: HttpHandlerOptions): Promise<FastInvokeOutput> {
    this.prepared ??= this.prepare();
    let p: Prepared;
    try {
      p = await this.prepared;
    } catch (err) {
      // A failed preparation (e.g. no region) is retried on the next call, not cached.
      this.prepared = undefined;
      throw err;
    }
    const request = await this.config.protocol.serializeRequest(invokeOperation, input, {
      endpoint: () => Promise.resolve(p.endpoint),
    });
    const headers = request.headers;
    headers.host = p.host;
    headers['user-agent'] = p.userAgent;
    const body: unknown = request.body;
    if (body instanceof Uint8Array) headers['content-length'] = String(body.byteLength);
    const signed = await p.signer.sign(request, {
      signingDate: new Date(Date.now() + this.config.systemClockOffset),
      signingRegion: p.signingRegion,
      signingService: p.signingService,
    });
    const { response } = await this.handler.handle(signed, options);
    if (response.statusCode >= 300) {
      // Throws the modelled exception (TooManyRequestsException, …) with $metadata.
      await this.config.protocol.deserializeResponse(invokeOperation, p.errorContext, response);
      throw new Error(`Lambda answered HTTP ${String(response.statusCode)} without an error`);
    }
    const h = response.headers;
    return {
      StatusCode: response.statusCode,
      Payload: response.body as Uint8Array,
      FunctionError: h['x-amz-function-error'],
      LogResult: h['x-amz-log-result'],
      ExecutedVersion: h['x-amz-executed-version'],
    };
  }
}
