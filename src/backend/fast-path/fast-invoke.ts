import type { LambdaClient } from '@aws-sdk/client-lambda';
import { HttpResponse } from '@smithy/protocol-http';
import type { AwsCredentialIdentity } from '@smithy/types';
import { Pool, type Dispatcher } from 'undici';
import { packageVersion } from '../../status/package-version.js';
import { fastPathInternals, type OperationView, type ResolvedConfigView } from './sdk-internals.js';
import { allHeaders, invokeHeaders } from './response-headers.js';
import { canonicalInvokePath, InvokeSigner, invokePath, sha256Hex } from './sigv4-signer.js';

/**
 * The per-invoke fast path: what the SDK gives users (credential provider
 * chain and refresh, endpoint resolution, SigV4, its exception classes)
 * without its per-call machinery. Profiling showed that even with the SDK's
 * middleware stack bypassed, its generic request serializer, generic
 * `SignatureV4` (request clone, header sort, five async hash objects) and
 * undici's stream-based `request()` cost 3–4× a raw undici request. So:
 *   once per client: the endpoint (the SDK's rules and endpoint config), the
 *     signing region/service, the user agent, one undici `Pool` for the origin;
 *   once per function: the request path and its SigV4 canonical form;
 *   once per identity and day: the SigV4 signing key (sigv4-signer.ts);
 *   per call: the identity from the SDK's provider (cached until 5 minutes
 *     before its `expiration`, the SDK's own refresh margin), one payload
 *     hash, one canonical-request hash, one HMAC, one `dispatch` with a flat
 *     header array, and a handler that collects status, three headers and
 *     the body bytes (no Readable stream, no AbortController).
 * A non-2xx answer goes through the SDK's own error deserializer, so callers
 * get the SDK's exception classes (`err.name`, `$metadata`,
 * `retryAfterSeconds`) exactly as from `client.send`. What this reads of the
 * SDK beyond its documented API is listed, and checked, in sdk-internals.ts.
 */

export interface FastInvokeInput {
  readonly functionName: string;
  readonly tenantId?: string | undefined;
  readonly payload: Uint8Array;
  /** Already base64 (the `X-Amz-Client-Context` value). */
  readonly clientContext?: string | undefined;
  readonly logTail: boolean;
  /** Response timeout (headers, and between body chunks), ms. */
  readonly timeoutMs: number;
}

export interface FastInvokeOutput {
  readonly StatusCode: number;
  readonly Payload: Uint8Array;
  readonly FunctionError?: string | undefined;
  /** Base64, as the SDK returns it. */
  readonly LogResult?: string | undefined;
  readonly ExecutedVersion?: string | undefined;
}

export interface FastInvokerOptions {
  readonly connections: number;
  readonly keepAliveTimeout: number;
  readonly connectTimeout: number;
  /**
   * `none`: send Invokes without a signature, user agent or content type
   * (only for a receiver that reads none of them: the gateway's own embedded
   * local host; the backend refuses it for any other endpoint). Unset: SigV4.
   */
  readonly signing?: 'sigv4' | 'none' | undefined;
}

interface Prepared {
  readonly pool: Pool;
  readonly host: string;
  readonly signer: InvokeSigner;
  readonly userAgent: string;
  /** Turns a non-2xx answer into the SDK's modelled exception (rejects with it). */
  readonly errorAnswer: ErrorAnswer;
}

interface FunctionPaths {
  readonly path: string;
  readonly canonicalPath: string;
}

/** The SDK's refresh margin for expiring credentials (its memoized provider uses the same). */
const IDENTITY_REFRESH_MARGIN_MS = 300_000;
/** Function names come from configuration; the bound only guards against a caller that invents them. */
const MAX_CACHED_PATHS = 1024;
const CONTENT_TYPE = 'application/octet-stream';

/** Escape like the SDK's user-agent middleware (keeps the UA a valid header value). */
function escapeUserAgent(s: string): string {
  return s.replace(/[^!$%&'*+\-.^_`|~\w/#]/g, '-');
}

/**
 * The `User-Agent` of a signed Invoke: `warmroute#<version>`, the SDK's own
 * `aws-sdk-js#<version>` pair, then any `customUserAgent` pairs the client
 * was given, in the SDK's `name#version` form. The SDK's default pairs also
 * name the OS, Node, the UA format and the API (`ua#2.1 os/linux#… lang/js
 * md/nodejs#… api/Lambda#…`): ~80 bytes on every request that no AWS
 * document asks for (Lambda's common parameters and SigV4 name no user
 * agent; it is not signed), so they are left out.
 */
export function shortUserAgent(
  defaults: readonly (readonly [string, string | undefined])[],
  custom: readonly (readonly [string, string | undefined])[],
): string {
  const pairs: (readonly [string, string | undefined])[] = [['warmroute', packageVersion()]];
  for (const pair of defaults) if (pair[0] === 'aws-sdk-js') pairs.push(pair);
  pairs.push(...custom);
  return pairs
    .map(([name, version]) =>
      version === undefined
        ? escapeUserAgent(name)
        : `${escapeUserAgent(name)}#${escapeUserAgent(version)}`,
    )
    .join(' ');
}

/** How a non-2xx answer becomes the SDK's exception (a rejected promise). */
type ErrorAnswer = (
  statusCode: number,
  headers: Record<string, string>,
  body: Uint8Array,
) => Promise<never>;

/**
 * Collects one response: status, raw headers, body chunks; one object per
 * call, no stream. It implements undici's dispatch-handler interface in its
 * original form (`onConnect`/`onHeaders`/`onData`/`onComplete`/`onError`),
 * the one undici's clients call internally: a handler in the newer form
 * (`onRequestStart`, `onResponseStart`, …) is wrapped in an adapter that
 * parses every response header into an object first (`parseHeaders`,
 * measured ~3 µs per request in the gateway), and the fast path reads three.
 * It settles the caller's promise with the final output (or the SDK's
 * exception), so `invoke` needs no `await` of its own.
 */
class InvokeResponseHandler implements Dispatcher.DispatchHandler {
  private statusCode = 0;
  private rawHeaders: readonly Buffer[] = [];
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly resolve: (r: FastInvokeOutput | Promise<FastInvokeOutput>) => void,
    private readonly reject: (err: Error) => void,
    private readonly errorAnswer: ErrorAnswer,
  ) {}

  onConnect(): void {
    // No abort handle kept: the fast path does not cancel an attempt in flight.
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // Called again after a 1xx answer: the last call is the final answer's.
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const c = this.chunks;
    const body = c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c);
    const status = this.statusCode;
    if (status >= 300) {
      this.resolve(this.errorAnswer(status, allHeaders(this.rawHeaders), body));
      return;
    }
    const h = invokeHeaders(this.rawHeaders);
    this.resolve({
      StatusCode: status,
      Payload: body,
      FunctionError: h.functionError,
      LogResult: h.logResult,
      ExecutedVersion: h.executedVersion,
    });
  }

  onError(err: Error): void {
    this.reject(err);
  }
}

export class FastInvoker {
  private prepared: Promise<Prepared> | undefined;
  private ready: Prepared | undefined;
  private readonly config: ResolvedConfigView;
  private readonly invokeOperation: OperationView;
  private identity: AwsCredentialIdentity | undefined;
  private identityValidUntil = 0;
  private readonly paths = new Map<string, FunctionPaths>();
  private closed = false;
  private readonly unsigned: boolean;

  constructor(
    client: LambdaClient,
    private readonly options: FastInvokerOptions,
  ) {
    this.unsigned = options.signing === 'none';
    // Checks the SDK internals this path reads: a changed SDK fails here, at start, with the list.
    const internals = fastPathInternals(client);
    this.config = internals.config;
    this.invokeOperation = internals.invokeOperation;
  }

  private async prepare(): Promise<Prepared> {
    const cfg = this.config;
    // The SDK's endpoint middleware, evaluated once: an explicit endpoint wins,
    // then the configured one (AWS_ENDPOINT_URL_LAMBDA / config file), then the rules.
    let custom: string | undefined;
    if (cfg.isCustomEndpoint && cfg.endpoint !== undefined) {
      const e = await cfg.endpoint();
      custom = `${e.protocol}//${e.hostname}${e.port === undefined ? '' : `:${String(e.port)}`}${e.path}`;
    } else if (
      cfg.ignoreConfiguredEndpointUrls !== true &&
      cfg.serviceConfiguredEndpoint !== undefined
    ) {
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
    if (url.pathname !== '/' && url.pathname !== '') {
      // The Invoke path is absolute; an endpoint with a base path would need it prefixed and signed.
      throw new Error(`Lambda endpoint with a path is not supported: ${url.href}`);
    }
    const scheme = resolved.properties?.authSchemes?.[0];
    if (scheme !== undefined && scheme.name !== 'sigv4') {
      throw new Error(`Lambda endpoint auth scheme ${scheme.name} is not supported (sigv4 only)`);
    }
    const userAgent = shortUserAgent(
      await cfg.defaultUserAgentProvider(),
      cfg.customUserAgent ?? [],
    );
    const pool = new Pool(url.origin, {
      connections: this.options.connections,
      keepAliveTimeout: this.options.keepAliveTimeout,
      connect: { timeout: this.options.connectTimeout },
      // Set per request from the deadline; 0 disables undici's 300 s defaults.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    return {
      pool,
      host: url.host,
      signer: new InvokeSigner(scheme?.signingRegion ?? region, scheme?.signingName ?? 'lambda'),
      userAgent,
      errorAnswer: this.errorAnswerOf({ ...(cfg as unknown as Record<string, unknown>) }),
    };
  }

  /** `errorContext`: a snapshot of the client config, the context the SDK's error deserializer expects. */
  private errorAnswerOf(errorContext: Record<string, unknown>): ErrorAnswer {
    return async (statusCode, headers, body) => {
      // Throws the modelled exception (TooManyRequestsException, …) with $metadata.
      await this.config.protocol.deserializeResponse(
        this.invokeOperation,
        errorContext,
        new HttpResponse({ statusCode, headers, body }),
      );
      throw new Error(`Lambda answered HTTP ${String(statusCode)} without an error`);
    };
  }

  private async preparedOnce(): Promise<Prepared> {
    this.prepared ??= this.prepare();
    try {
      const p = await this.prepared;
      if (this.closed) {
        await p.pool.close();
        throw new Error('Lambda backend closed');
      }
      this.ready = p;
      return p;
    } catch (err) {
      // A failed preparation (e.g. no region) is retried on the next call, not cached.
      this.prepared = undefined;
      throw err;
    }
  }

  private async refreshIdentity(): Promise<AwsCredentialIdentity> {
    const identity = await this.config.credentials();
    this.identity = identity;
    this.identityValidUntil =
      identity.expiration === undefined
        ? Infinity
        : identity.expiration.getTime() - IDENTITY_REFRESH_MARGIN_MS;
    return identity;
  }

  private pathsOf(functionName: string): FunctionPaths {
    let p = this.paths.get(functionName);
    if (p === undefined) {
      const path = invokePath(functionName);
      p = { path, canonicalPath: canonicalInvokePath(path) };
      if (this.paths.size >= MAX_CACHED_PATHS) this.paths.clear();
      this.paths.set(functionName, p);
    }
    return p;
  }

  /**
   * One Invoke. Not `async`: once prepared and while the identity is fresh
   * (every call but the first few), it returns the dispatch's own promise,
   * which the response handler settles with the final output, so a call costs
   * no extra promise or microtask turn of its own.
   */
  invoke(input: FastInvokeInput): Promise<FastInvokeOutput> {
    const p = this.ready;
    if (p !== undefined) {
      if (this.unsigned) return this.sendUnsigned(p, input);
      const identity = this.identity;
      if (identity !== undefined && Date.now() < this.identityValidUntil)
        return this.send(p, identity, input);
    }
    return this.invokeAfterRefresh(input);
  }

  private async invokeAfterRefresh(input: FastInvokeInput): Promise<FastInvokeOutput> {
    const p = this.ready ?? (await this.preparedOnce());
    if (this.unsigned) return this.sendUnsigned(p, input);
    const identity =
      this.identity !== undefined && Date.now() < this.identityValidUntil
        ? this.identity
        : await this.refreshIdentity();
    return this.send(p, identity, input);
  }

  /**
   * The embedded local host's request: what it reads (src/localhost/invoke-api.ts) and
   * nothing else. Its defaults are the values the signed request states:
   * `RequestResponse` when `X-Amz-Invocation-Type` is absent; the content type is not read.
   */
  private sendUnsigned(p: Prepared, input: FastInvokeInput): Promise<FastInvokeOutput> {
    const headers = ['host', p.host];
    if (input.tenantId !== undefined) headers.push('x-amz-tenant-id', input.tenantId);
    if (input.clientContext !== undefined)
      headers.push('x-amz-client-context', input.clientContext);
    if (input.logTail) headers.push('x-amz-log-type', 'Tail');
    return this.dispatch(p, this.pathsOf(input.functionName).path, headers, input);
  }

  private send(
    p: Prepared,
    identity: AwsCredentialIdentity,
    input: FastInvokeInput,
  ): Promise<FastInvokeOutput> {
    const paths = this.pathsOf(input.functionName);
    const payloadHash = sha256Hex(input.payload);
    const logType = input.logTail ? 'Tail' : undefined;
    const { authorization, amzDate } = p.signer.sign(
      identity,
      Date.now() + this.config.systemClockOffset,
      {
        canonicalPath: paths.canonicalPath,
        host: p.host,
        contentType: CONTENT_TYPE,
        payloadHash,
        invocationType: 'RequestResponse',
        clientContext: input.clientContext,
        logType,
        tenantId: input.tenantId,
      },
    );
    const headers = [
      'host',
      p.host,
      'content-type',
      CONTENT_TYPE,
      'user-agent',
      p.userAgent,
      'x-amz-invocation-type',
      'RequestResponse',
      'x-amz-date',
      amzDate,
      'x-amz-content-sha256',
      payloadHash,
      'authorization',
      authorization,
    ];
    if (input.tenantId !== undefined) headers.push('x-amz-tenant-id', input.tenantId);
    if (input.clientContext !== undefined)
      headers.push('x-amz-client-context', input.clientContext);
    if (logType !== undefined) headers.push('x-amz-log-type', logType);
    const token = identity.sessionToken;
    if (token !== undefined && token !== '') headers.push('x-amz-security-token', token);

    return this.dispatch(p, paths.path, headers, input);
  }

  private dispatch(
    p: Prepared,
    path: string,
    headers: string[],
    input: FastInvokeInput,
  ): Promise<FastInvokeOutput> {
    return new Promise<FastInvokeOutput>((resolve, reject) => {
      p.pool.dispatch(
        {
          path,
          method: 'POST',
          headers,
          body: input.payload,
          headersTimeout: input.timeoutMs,
          bodyTimeout: input.timeoutMs,
        },
        new InvokeResponseHandler(resolve, reject, p.errorAnswer),
      );
    });
  }

  /**
   * Closes the pool and aborts requests still in flight: the backend is
   * closed after the gateway drained, so nobody waits for them, and a
   * graceful close would wait for a hung call up to its function's timeout.
   */
  async close(): Promise<void> {
    this.closed = true;
    const prepared = this.prepared;
    this.ready = undefined;
    if (prepared === undefined) return;
    try {
      const p = await prepared;
      if (!p.pool.destroyed) await p.pool.destroy();
    } catch {
      // Preparation failed: nothing was opened.
    }
  }
}
