import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { noDeadline, scheduleRetry, type RetrySchedule } from '../retry/schedule-retry.js';
import { sleep } from '../retry/sleep.js';
import type { Environment, InvokeInput, InvokeOutcome } from './environment.js';
import { FUNCTION_VERSION } from './environment.js';
import type { FunctionDefinition } from './function-registry.js';
import { LambdaApiError } from './lambda-api-error.js';
import {
  acceptTraceId,
  checkPayload,
  checkTenantId,
  decodeClientContext,
  decodeFunctionSegment,
  INVOKE_PATH_PREFIX,
  INVOKE_PATH_SUFFIX,
  LATEST,
  MAX_ASYNC_PAYLOAD_BYTES,
  MAX_SYNC_PAYLOAD_BYTES,
  parseFunctionRef,
  parseInvocationType,
  parseLogType,
} from './invoke-request.js';
import type { EnvironmentPool } from './pool.js';
import type { HostStats } from './stats.js';
import { BodyTimeoutError, readBody } from './read-body.js';

export interface InvokeApiOptions {
  readonly functions: ReadonlyMap<string, FunctionDefinition>;
  readonly pool: EnvironmentPool<Environment>;
  readonly stats: HostStats;
  readonly region: string;
  readonly accountId: string;
  readonly logger: Logger;
  /** A request body must arrive within this long (408 otherwise). */
  readonly bodyTimeoutMs: number;
}

/**
 * Async invocations retry throttles like Lambda's event queue, bounded here:
 * 21 attempts, waiting 50 ms doubling to 2 s (no deadline: the caller had its
 * 202 long ago).
 */
const EVENT_THROTTLE_RETRY: RetrySchedule = Object.freeze({
  maxAttempts: 21,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  jitter: 'none',
  honourRetryAfter: false,
});
const RETRY_AFTER_SECONDS = 1;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function traceId(requestId: string): string {
  const hex = requestId.replace(/-/g, '');
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${hex.slice(0, 24)};Parent=${hex.slice(16, 32)};Sampled=0`;
}

/**
 * The Invoke API (`POST /2015-03-31/functions/{name}/invocations`) as Lambda
 * answers it, including every error the unmodified SDK turns into its named
 * exceptions. The warm path is one idle-stack pop and one Runtime API
 * round trip: no process spawn, no file system, no framework.
 */
export class InvokeApi {
  private readonly background = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly options: InvokeApiOptions) {}

  /**
   * Handles one request on the Invoke API port. Whatever goes wrong inside
   * (a bug, a value Node refuses) ends as a 500 ServiceException for this
   * request alone, never as an exception that reaches the process.
   */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const requestId = randomUUID();
    const fail = (err: unknown): void => {
      this.options.logger.error({ err, requestId }, 'invoke failed inside the local host');
      try {
        if (!res.headersSent) {
          // The request may be half read: do not keep the connection.
          res.setHeader('connection', 'close');
          new LambdaApiError('ServiceException', 'Internal error in the local Lambda host').send(
            res,
            requestId,
          );
        } else {
          res.destroy();
        }
      } catch (sendErr) {
        this.options.logger.error({ err: sendErr, requestId }, 'cannot answer; socket dropped');
        res.destroy();
      }
    };
    try {
      this.serve(req, res, requestId).catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /** Stops retrying queued Event invocations and waits for the running ones. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.background]);
  }

  private async serve(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const { functions, stats } = this.options;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let invocationType: ReturnType<typeof parseInvocationType>;
    let fn: FunctionDefinition | undefined;
    try {
      if (
        req.method !== 'POST' ||
        !path.startsWith(INVOKE_PATH_PREFIX) ||
        !path.endsWith(INVOKE_PATH_SUFFIX)
      ) {
        req.resume();
        throw new LambdaApiError(
          'ResourceNotFoundException',
          `The local Lambda host serves Invoke only, not ${req.method ?? ''} ${path}`,
        );
      }
      invocationType = parseInvocationType(header(req, 'x-amz-invocation-type'));
      const limit = invocationType === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
      const body = await readBody(req, limit, this.options.bodyTimeoutMs).catch((err: unknown) => {
        if (err instanceof BodyTimeoutError)
          throw new LambdaApiError('RequestTimeoutException', err.message);
        // The client went away mid-body: nobody reads the answer, but it is a 4xx, not our fault.
        throw new LambdaApiError('InvalidRequestContentException', 'The request body was cut off');
      });
      const query = q < 0 ? undefined : new URLSearchParams(url.slice(q + 1));
      const ref = parseFunctionRef(
        decodeFunctionSegment(
          path.slice(INVOKE_PATH_PREFIX.length, path.length - INVOKE_PATH_SUFFIX.length),
        ),
        query?.get('Qualifier') ?? undefined,
      );
      fn = functions.get(ref.name);
      const arn = `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${ref.name}`;
      if (fn === undefined || (ref.qualifier !== undefined && ref.qualifier !== LATEST)) {
        throw new LambdaApiError(
          'ResourceNotFoundException',
          `Function not found: ${arn}${ref.qualifier === undefined ? '' : `:${ref.qualifier}`}`,
        );
      }
      const tail = parseLogType(header(req, 'x-amz-log-type'));
      const tenantId = checkTenantId(header(req, 'x-amz-tenant-id'), fn.tenancy === 'PER_TENANT');
      if (body === undefined) {
        throw new LambdaApiError(
          'RequestTooLargeException',
          `Request must be smaller than ${limit} bytes for the ${invocationType === 'Event' ? 'InvokeAsync' : 'InvokeFunction'} operation`,
        );
      }
      const payload = checkPayload(body);
      const clientContext = decodeClientContext(header(req, 'x-amz-client-context'));
      const input: InvokeInput = {
        requestId,
        payload,
        clientContext,
        traceId: acceptTraceId(header(req, 'x-amzn-trace-id')) ?? traceId(requestId),
        invokedFunctionArn: ref.qualifier === undefined ? arn : `${arn}:${ref.qualifier}`,
        tail: tail && invocationType === 'RequestResponse',
      };

      if (invocationType === 'DryRun') {
        stats.of(fn.name).dryRun++;
        res.writeHead(204, {
          'x-amzn-requestid': requestId,
          'x-amz-executed-version': FUNCTION_VERSION,
        });
        res.end();
        return;
      }
      if (invocationType === 'Event') {
        const s = stats.of(fn.name);
        s.invocations++;
        s.event++;
        res.writeHead(202, { 'x-amzn-requestid': requestId, 'content-length': 0 });
        res.end();
        this.runInBackground(fn, tenantId, input);
        return;
      }
      await this.invokeSync(res, fn, tenantId, input);
    } catch (err) {
      if (!(err instanceof LambdaApiError)) throw err;
      if (err.type === 'RequestTimeoutException') {
        // The body never ended: this connection cannot carry another request.
        res.setHeader('connection', 'close');
      } else if (!req.complete) {
        req.resume();
      }
      if (fn !== undefined) {
        if (err.type === 'TooManyRequestsException') stats.of(fn.name).throttles++;
        else stats.of(fn.name).rejected++;
      }
      err.send(res, requestId);
    }
  }

  private async invokeSync(
    res: ServerResponse,
    fn: FunctionDefinition,
    tenantId: string | undefined,
    input: InvokeInput,
  ): Promise<void> {
    const acquired = this.options.pool.acquire(fn, tenantId);
    if ('throttled' in acquired) {
      throw new LambdaApiError('TooManyRequestsException', acquired.message, {
        ...(acquired.throttled === null ? {} : { reason: acquired.throttled }),
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
    const s = this.options.stats.of(fn.name);
    s.invocations++;
    s.requestResponse++;
    const outcome = await this.run(acquired.env, input);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': outcome.payload.length,
      'x-amzn-requestid': input.requestId,
      'x-amz-executed-version': FUNCTION_VERSION,
    };
    if (outcome.kind !== 'success') headers['x-amz-function-error'] = 'Unhandled';
    if (outcome.logResult !== undefined) headers['x-amz-log-result'] = outcome.logResult;
    res.writeHead(200, headers);
    res.end(outcome.payload);
  }

  /** Runs an invocation on an acquired environment and hands the environment back. */
  private async run(env: Environment, input: InvokeInput): Promise<InvokeOutcome> {
    const { pool, stats } = this.options;
    const outcome = await env.invoke(input);
    const s = stats.of(env.fn.name);
    s.completed++;
    if (outcome.cold) s.coldStarts++;
    if (outcome.kind === 'timeout') s.timeouts++;
    else if (outcome.kind === 'crash') s.crashes++;
    if (outcome.kind !== 'success') s.functionErrors++;
    if (outcome.discard) void pool.discard(env);
    else pool.release(env);
    return outcome;
  }

  private runInBackground(
    fn: FunctionDefinition,
    tenantId: string | undefined,
    input: InvokeInput,
  ): void {
    const task = this.runEvent(fn, tenantId, input).catch((err: unknown) => {
      this.options.logger.error(
        { err, requestId: input.requestId, function: fn.name },
        'event invocation failed',
      );
    });
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  private async runEvent(
    fn: FunctionDefinition,
    tenantId: string | undefined,
    input: InvokeInput,
  ): Promise<void> {
    const signal = this.stopping.signal;
    for (let attempt = 1; !signal.aborted; attempt++) {
      const acquired = this.options.pool.acquire(fn, tenantId);
      if ('throttled' in acquired) {
        this.options.stats.of(fn.name).throttles++;
        const decision = scheduleRetry(EVENT_THROTTLE_RETRY, {
          attempt,
          random: Math.random,
          ...noDeadline,
        });
        if (!decision.retry) break;
        // close() ends the wait; the loop then stops on the aborted signal.
        await sleep(decision.delayMs, signal).catch(() => undefined);
        continue;
      }
      const outcome = await this.run(acquired.env, input);
      if (outcome.kind !== 'success') {
        this.options.logger.warn(
          {
            requestId: input.requestId,
            function: fn.name,
            tenantId,
            error: outcome.payload.toString('utf8'),
          },
          'event invocation failed (no retry)',
        );
      }
      return;
    }
    this.options.logger.warn(
      { requestId: input.requestId, function: fn.name },
      'event invocation dropped: throttled',
    );
  }
}
