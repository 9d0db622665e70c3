import { HttpResponse, type HttpHandler, type HttpRequest } from '@smithy/protocol-http';
import type { HttpHandlerOptions } from '@smithy/types';
import { Agent } from 'undici';

/**
 * A Smithy `HttpHandler` on undici, for the AWS SDK's `requestHandler`
 * option. Compared with the SDK's default `NodeHttpHandler` (node:http), it
 * costs a fraction of the CPU per request: undici's pooled HTTP/1.1 client,
 * keep-alive, no per-request agent bookkeeping or socket timers, and the
 * response body handed back as bytes (the SDK's deserializer accepts a
 * `Uint8Array` as is, so its stream→bytes collector does nothing).
 *
 * Like `NodeHttpHandler`, `handle()` honours `abortSignal` and
 * `requestTimeout` (here: time until the response headers, and between body
 * chunks); configuration changes through `updateHttpClientConfig` apply to
 * the next request.
 */

export interface UndiciHandlerConfig {
  /** Connections per origin (the pool size). */
  connections: number;
  /** Default time to wait for response headers / between body chunks, ms (0 = none). */
  requestTimeout: number;
  /** Idle keep-alive time of a pooled connection, ms. */
  keepAliveTimeout: number;
  /** Connect timeout, ms. */
  connectTimeout: number;
}

/**
 * Transport constants, not settings. The pool size is not among them: it is
 * the gateway's concurrency, so the caller passes it (`connections`).
 */
export const defaultUndiciHandlerConfig: Readonly<Omit<UndiciHandlerConfig, 'connections'>> =
  Object.freeze({
    requestTimeout: 0,
    keepAliveTimeout: 30_000,
    connectTimeout: 5_000,
  });

export class UndiciRequestHandler implements HttpHandler<UndiciHandlerConfig> {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private config: UndiciHandlerConfig;
  private agent: Agent;
  /** Agents replaced by a config change: closed gracefully with the handler. */
  private readonly retired: Agent[] = [];

  constructor(config: Partial<UndiciHandlerConfig> & Pick<UndiciHandlerConfig, 'connections'>) {
    this.config = { ...defaultUndiciHandlerConfig, ...config };
    this.agent = this.createAgent();
  }

  private createAgent(): Agent {
    return new Agent({
      connections: this.config.connections,
      keepAliveTimeout: this.config.keepAliveTimeout,
      connect: { timeout: this.config.connectTimeout },
      // Timeouts are set per request from `requestTimeout`; 0 disables undici's 300 s defaults.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async handle(
    request: HttpRequest,
    { abortSignal, requestTimeout }: HttpHandlerOptions = {},
  ): Promise<{ response: HttpResponse }> {
    const signal = abortSignal instanceof AbortSignal ? abortSignal : undefined;
    if (signal?.aborted === true) throw abortError(signal);
    const timeout = requestTimeout ?? this.config.requestTimeout;
    const port = request.port === undefined ? '' : `:${String(request.port)}`;
    const res = await this.agent.request({
      origin: `${request.protocol}//${request.hostname}${port}`,
      path: pathWithQuery(request),
      method: request.method,
      headers: request.headers,
      body: request.body as Uint8Array | string | undefined,
      signal,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const body = new Uint8Array(await res.body.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const name in res.headers) {
      const value = res.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { response: new HttpResponse({ statusCode: res.statusCode, headers, body }) };
  }

  updateHttpClientConfig(
    key: keyof UndiciHandlerConfig,
    value: UndiciHandlerConfig[typeof key],
  ): void {
    this.config = { ...this.config, [key]: value };
    if (key !== 'requestTimeout') {
      this.retired.push(this.agent);
      this.agent = this.createAgent();
    }
  }

  httpHandlerConfigs(): UndiciHandlerConfig {
    return { ...this.config };
  }

  /** The SDK calls this synchronously from `client.destroy()`. */
  destroy(): void {
    void this.close();
  }

  /** Close every pooled connection (waits for in-flight requests). */
  async close(): Promise<void> {
    const agents = [this.agent, ...this.retired.splice(0)];
    await Promise.all(agents.map(async (a) => (a.closed ? undefined : a.close())));
  }

  /** Close every pooled connection, aborting requests still in flight. */
  async abort(): Promise<void> {
    const agents = [this.agent, ...this.retired.splice(0)];
    await Promise.all(agents.map(async (a) => (a.destroyed ? undefined : a.destroy())));
  }
}

function pathWithQuery(request: HttpRequest): string {
  const query = request.query;
  let qs = '';
  for (const key in query) {
    const value = query[key];
    const k = encodeURIComponent(key);
    if (value === null || value === undefined) qs += `&${k}`;
    else if (Array.isArray(value)) for (const v of value) qs += `&${k}=${encodeURIComponent(v)}`;
    else qs += `&${k}=${encodeURIComponent(value)}`;
  }
  const fragment = request.fragment === undefined ? '' : `#${request.fragment}`;
  return qs === '' ? `${request.path}${fragment}` : `${request.path}?${qs.slice(1)}${fragment}`;
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('Request aborted', { cause: signal.reason });
  err.name = 'AbortError';
  return err;
}
