import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { GatewayDependencies } from '../create-dependencies.js';
import { AffinityError, catalogueMessage } from './errors.js';
import { errorFromThrown, functionErrorFromInvocation } from './error-mapping.js';
import { createRetryLoop, type AttemptOutcome, type RetryOptions } from './retry-loop.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';
import { toInvocationState } from './transport.js';

/**
 * The embedded transport: the gateway's own request path (directory →
 * scheduler → Lambda backend, built by `createDependencies`) run in the caller's
 * process, for services that call Lambda directly without a gateway hop.
 * Same directory (Redis when `REDIS_URL` is set, so tenant IDs match the
 * gateway's for the same secret and namespace), same per-key serialization
 * (within this process), same AWS SDK backend.
 *
 * The gateway modules are loaded on first use, so an application that only
 * uses the HTTP transport never loads the AWS SDK or ioredis.
 */

export interface EmbeddedTransportOptions {
  /**
   * The gateway configuration: an environment-like record (read by the
   * gateway's config loader, e.g. `{ REDIS_URL, WARMROUTE_SECRET,
   * AWS_ENDPOINT_URL_LAMBDA }`) or an already loaded `Config`. Default:
   * `process.env`.
   */
  readonly config?: Readonly<Record<string, string | undefined>> | Config | undefined;
  /** Lambda endpoint (e.g. a local host's URL); default: the config's `AWS_ENDPOINT_URL_LAMBDA`, else AWS. */
  readonly endpoint?: string | undefined;
  /** Logger for the directory and backend; default: pino at `warn`. */
  readonly logger?: Logger | undefined;
  /**
   * The same retry policy as the HTTP transport: a refusal before the
   * function ran (per-key queue full → `WR_ERR_KEY_BUSY`, concurrency cap,
   * throttling) is retried after its `Retry-After` within the deadline.
   */
  readonly retry?: RetryOptions | undefined;
}

interface Embedded {
  readonly config: Config;
  readonly deps: GatewayDependencies;
}

async function start(options: EmbeddedTransportOptions): Promise<Embedded> {
  const { isConfig, loadConfig } = await import('../config/load-config.js');
  const config = isConfig(options.config)
    ? options.config
    : loadConfig(options.config ?? process.env);
  const endpoint = options.endpoint ?? config.lambdaEndpoint;
  if (endpoint === undefined && config.backend !== 'aws') {
    throw new AffinityError(
      'WR_ERR_CONFIG',
      catalogueMessage('WR_ERR_CONFIG', [
        '  - the embedded transport needs a Lambda endpoint: pass `endpoint`, set AWS_ENDPOINT_URL_LAMBDA (e.g. a local host from `warmroute local`), or set WARMROUTE_BACKEND=aws for real Lambda',
      ]),
    );
  }
  const [{ createDependencies }, { pino }] = await Promise.all([
    import('../create-dependencies.js'),
    import('pino'),
  ]);
  const logger = options.logger ?? pino({ level: 'warn' });
  // Default process metrics belong to the host application, not to a library inside it.
  const deps = await createDependencies(config, { logger, endpoint, defaultMetrics: false });
  return { config, deps };
}

export function createEmbeddedTransport(options: EmbeddedTransportOptions = {}): Transport {
  let starting: Promise<Embedded> | undefined;
  const withRetries = createRetryLoop(options.retry);

  function ready(): Promise<Embedded> {
    starting ??= start(options).catch((err: unknown) => {
      // A failed start (Redis down at boot, bad config) is retried by the next call.
      starting = undefined;
      throw err;
    });
    return starting;
  }

  async function attempt(
    request: TransportRequest,
    attempts: number,
  ): Promise<AttemptOutcome<TransportResponse>> {
    try {
      const { config, deps } = await ready();
      if (request.payload.byteLength > config.maxPayloadBytes) {
        throw new AffinityError(
          'WR_ERR_PAYLOAD_TOO_LARGE',
          catalogueMessage('WR_ERR_PAYLOAD_TOO_LARGE', [
            request.payload.byteLength,
            config.maxPayloadBytes,
          ]),
        );
      }
      const outcome = await deps.invoker.invoke({
        functionName: request.functionName,
        key: request.key,
        mode: request.mode,
        route: 'sdk',
        payload: request.payload,
        deadline: request.deadline,
        signal: request.signal,
      });
      if (outcome.functionError !== undefined) {
        throw functionErrorFromInvocation(request.functionName, {
          ...outcome,
          functionError: outcome.functionError,
        });
      }
      return {
        ok: {
          body: outcome.payload,
          state: toInvocationState(outcome.state),
          tenantId: outcome.tenantId,
          envId: outcome.envId,
          attempts,
        },
      };
    } catch (err) {
      if (request.signal.aborted) throw err;
      const error = errorFromThrown(err);
      if (error.status === undefined) throw error;
      // The status the gateway would have answered drives the same retry policy.
      return {
        failure: {
          kind: 'status',
          status: error.status,
          code: error.code,
          retryAfterSeconds: error.retryAfterSeconds,
        },
        error,
      };
    }
  }

  async function invoke(request: TransportRequest): Promise<TransportResponse> {
    return withRetries(request, (attempts) => attempt(request, attempts));
  }

  return {
    kind: 'embedded',
    invoke,
    async close() {
      const current = starting;
      starting = undefined;
      if (current === undefined) return;
      const embedded = await current.catch(() => undefined);
      await embedded?.deps.close();
    },
  };
}
