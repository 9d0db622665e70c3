import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { DEFAULT_KEY_HEADER } from '../key-header.js';
import { LAMBDA_SYNC_PAYLOAD_BYTES } from '../lambda-limits.js';
import { AffinityError, catalogueMessage, TransportError } from './errors.js';
import { errorFromGatewayResponse, errorFromNetwork, networkErrorCode } from './error-mapping.js';
import { createRetryLoop, type AttemptOutcome, type RetryOptions } from './retry-loop.js';
import { parseRetryAfter } from '../retry/retry-after.js';
import { defaultSdkRetryPolicy, provesNotRun, type RetryFailure } from './retry-policy.js';
import { keyHeaderProblem } from './option-checks.js';
import {
  toInvocationState,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from './transport.js';

/**
 * The HTTP transport: `POST {url}/v1/functions/{name}/invoke` on a gateway,
 * over one keep-alive undici `Pool` per client. Retries follow
 * `retry-policy.ts`: only failures that prove the function did not run,
 * unless the call is idempotent, and never past the deadline.
 */

export interface HttpTransportOptions {
  /** Gateway base URL, e.g. `http://127.0.0.1:3000` (a path prefix is kept). */
  readonly url: string;
  /** Key header the gateway reads (its `WARMROUTE_KEY_HEADER`); default `x-affinity-key`. */
  readonly keyHeader?: string | undefined;
  /** Headers sent on every call (e.g. an authorization header for a proxy in front of the gateway). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Most sockets to the gateway; default unlimited (undici's default). */
  readonly connections?: number | undefined;
  /** Idle keep-alive sockets are closed after this long (undici also honours the server's hint); default 30 s. */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** Retry policy and its clock/randomness/wait (the latter are test seams). */
  readonly retry?: RetryOptions | undefined;
}

/**
 * Largest gateway answer read, bytes: Lambda's 6 MB response limit plus 1 MiB
 * for an error envelope or headroom a proxy adds. A bigger body is not a
 * gateway's answer to this call (a wrong URL, a misbehaving proxy), and
 * reading it would hold all of it in memory.
 */
export const MAX_RESPONSE_BYTES = LAMBDA_SYNC_PAYLOAD_BYTES + 1_048_576;

function badOption(why: string): AffinityError {
  return new AffinityError('WR_ERR_BAD_REQUEST', catalogueMessage('WR_ERR_BAD_REQUEST', [why]));
}

/** The function ran (an answer was on its way), so a retry is never safe to assume. */
function tooLarge(bytes: string): TransportError {
  return new TransportError(
    `The gateway's answer is larger than ${MAX_RESPONSE_BYTES} bytes (${bytes}); a Lambda result is at most 6 MB, so this is not a gateway answer to this call`,
    { mayHaveRun: true, causeCode: 'RESPONSE_TOO_LARGE' },
  );
}

/**
 * The body, refused once it passes MAX_RESPONSE_BYTES: by its declared
 * length before anything is read, else by counting while reading (a chunked
 * answer declares none). Destroying the stream closes the connection, so the
 * rest is never received.
 */
async function readBoundedBody(
  body: Readable,
  contentLength: string | undefined,
): Promise<Uint8Array> {
  if (contentLength !== undefined && Number(contentLength) > MAX_RESPONSE_BYTES) {
    body.destroy();
    throw tooLarge(`content-length ${contentLength}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    total += bytes.byteLength;
    if (total > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw tooLarge(`more than ${total} bytes read`);
    }
    chunks.push(bytes);
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

function header(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The key as header text: its UTF-8 bytes, one Latin-1 character per byte,
 * which is how undici writes a header and how the gateway reads one back
 * (src/http/http-text.ts). ASCII keys are passed as they are.
 */
function keyHeaderValue(key: string): string {
  return /^[\x20-\x7e]*$/.test(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
}

export function createHttpTransport(options: HttpTransportOptions): Transport {
  const base = URL.canParse(options.url) ? new URL(options.url) : undefined;
  if (base === undefined || (base.protocol !== 'http:' && base.protocol !== 'https:')) {
    throw new AffinityError(
      'WR_ERR_BAD_REQUEST',
      catalogueMessage('WR_ERR_BAD_REQUEST', [
        `the gateway URL must be an http(s) URL, got ${JSON.stringify(options.url)}`,
      ]),
    );
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  const keyHeaderOption: unknown = options.keyHeader ?? DEFAULT_KEY_HEADER;
  if (typeof keyHeaderOption !== 'string') throw badOption('keyHeader must be a string');
  // Refused here rather than by every call later (an invalid name fails each
  // request; content-type would silently replace the payload's content type).
  const keyHeaderIssue = keyHeaderProblem(keyHeaderOption);
  if (keyHeaderIssue !== undefined) {
    throw badOption(`keyHeader ${JSON.stringify(keyHeaderOption)} ${keyHeaderIssue}`);
  }
  const keyHeader = keyHeaderOption.toLowerCase();
  const policy = options.retry?.policy ?? defaultSdkRetryPolicy;
  const now = options.retry?.now ?? Date.now;
  const withRetries = createRetryLoop(options.retry);
  const defaultHeaders = lowerCaseKeys(options.headers ?? {});
  const pool = new Pool(base.origin, {
    connections: options.connections ?? null,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    // The call's own deadline (an AbortSignal) bounds every request; undici's
    // 300 s defaults would cut a long call short.
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  async function attempt(
    request: TransportRequest,
    attempts: number,
  ): Promise<AttemptOutcome<TransportResponse>> {
    const path = `${basePath}/v1/functions/${encodeURIComponent(request.functionName)}/invoke`;
    const headers: Record<string, string> = {
      ...defaultHeaders,
      ...lowerCaseKeys(request.headers ?? {}),
      'content-type': 'application/json',
      [keyHeader]: keyHeaderValue(request.key),
      'x-affinity-mode': request.mode,
    };
    let res;
    try {
      res = await pool.request({
        method: 'POST',
        path,
        headers,
        body: request.payload,
        signal: request.signal,
      });
    } catch (err) {
      if (request.signal.aborted) throw err;
      const causeCode = networkErrorCode(err);
      const failure: RetryFailure = { kind: 'network', causeCode };
      return { failure, error: errorFromNetwork(err, provesNotRun(policy, failure)) };
    }
    let body: Uint8Array;
    try {
      body = await readBoundedBody(res.body, header(res.headers, 'content-length'));
    } catch (err) {
      if (request.signal.aborted) throw err;
      // Not retried, even for an idempotent call: the same answer would come back.
      if (err instanceof TransportError) throw err;
      // The answer was on its way: the function ran.
      return {
        failure: { kind: 'network', causeCode: networkErrorCode(err) },
        error: errorFromNetwork(err, false),
      };
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      const tenantId = header(res.headers, 'x-affinity-tenant');
      if (tenantId === undefined) {
        return {
          failure: { kind: 'status', status: res.statusCode },
          error: errorFromGatewayResponse({
            status: res.statusCode,
            body: '',
            headers: res.headers,
            retryAfterSeconds: undefined,
          }),
        };
      }
      return {
        ok: {
          body,
          state: toInvocationState(header(res.headers, 'x-affinity-state')),
          tenantId,
          envId: header(res.headers, 'x-affinity-env'),
          attempts,
        },
      };
    }
    const retryAfterSeconds = parseRetryAfter(res.headers['retry-after'], now());
    const error = errorFromGatewayResponse({
      status: res.statusCode,
      body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
      headers: res.headers,
      retryAfterSeconds,
    });
    return {
      failure: { kind: 'status', status: res.statusCode, code: error.code, retryAfterSeconds },
      error,
    };
  }

  async function invoke(request: TransportRequest): Promise<TransportResponse> {
    return withRetries(request, (attempts) => attempt(request, attempts));
  }

  return {
    kind: 'http',
    invoke,
    async close() {
      await pool.close();
    },
  };
}

function lowerCaseKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}
