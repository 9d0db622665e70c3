import { Client } from 'undici';
import { STATUS_JSON_PATH, STATUS_POLL_MS } from '../../src/status/status-document.js';

/**
 * What an open status page costs the gateway, reproduced from the benchmark
 * process: `GET /v1/status.json` once when the page opens and then every
 * STATUS_POLL_MS, over one kept-alive connection as a browser tab holds it,
 * with the body read and parsed as the page parses it. The benchmark wraps a
 * measured run in `startStatusPoller` … `stop()`, so the polls land inside the
 * run and their CPU is in the gateway's per-request figure.
 *
 * Any poll that does not answer 200 with a status document fails the run:
 * a page that only ever saw errors would measure a cheaper gateway than the
 * one a user looks at.
 */

/** One GET's outcome, as the poller needs it. */
export interface StatusAnswer {
  readonly status: number;
  readonly body: string;
}

/** How the poller GETs a URL; the default is an undici Client on one connection. */
export type StatusGet = (path: string) => Promise<StatusAnswer>;

export interface StatusPollerOptions {
  /** The gateway's origin, e.g. `http://127.0.0.1:4000`. */
  readonly origin: string;
  /** Default STATUS_POLL_MS, the page's own interval. */
  readonly intervalMs?: number;
  /** Tests pass a fake; the default opens its own connection to `origin`. */
  readonly get?: StatusGet;
}

export interface StatusPollReport {
  /** Polls answered (the opening one included). */
  readonly polls: number;
  /** Size of the last document, bytes of UTF-8. */
  readonly bytes: number;
  /** Slowest poll from request to parsed body, milliseconds. */
  readonly maxMs: number;
}

export interface StatusPoller {
  /** Stops polling, waits for a poll in flight, and throws if any poll failed. */
  stop(): Promise<StatusPollReport>;
}

/** Thrown by `stop()`: names the URL and the first failure, so the section's error says what broke. */
export class StatusPollError extends Error {
  override readonly name = 'StatusPollError';
}

function undiciGet(origin: string): { get: StatusGet; close: () => Promise<void> } {
  const client = new Client(origin);
  return {
    get: async (path) => {
      const res = await client.request({ method: 'GET', path });
      return { status: res.statusCode, body: await res.body.text() };
    },
    close: () => client.close(),
  };
}

/** Why `body` is not a status document, or undefined when it is one (the page reads `v` first). */
function notADocument(body: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return `not JSON: ${body.slice(0, 80)}`;
  }
  if (typeof doc !== 'object' || doc === null || (doc as { v?: unknown }).v !== 1) {
    return `not a status document (v !== 1): ${body.slice(0, 80)}`;
  }
  return undefined;
}

export function startStatusPoller(options: StatusPollerOptions): StatusPoller {
  const { get, close } =
    options.get === undefined
      ? undiciGet(options.origin)
      : { get: options.get, close: () => Promise.resolve() };
  const url = `${options.origin}${STATUS_JSON_PATH}`;
  let polls = 0;
  let bytes = 0;
  let maxMs = 0;
  let failure: string | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const poll = async (): Promise<void> => {
    const started = performance.now();
    try {
      const answer = await get(STATUS_JSON_PATH);
      if (answer.status !== 200) {
        failure ??= `GET ${url} answered ${answer.status}: ${answer.body.slice(0, 200)}`;
        return;
      }
      const why = notADocument(answer.body);
      if (why !== undefined) {
        failure ??= `GET ${url}: ${why}`;
        return;
      }
      polls++;
      bytes = Buffer.byteLength(answer.body);
      maxMs = Math.max(maxMs, performance.now() - started);
    } catch (err) {
      failure ??= `GET ${url} failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  // Like the page's timer: a poll is due every interval whether or not the last one has answered.
  const fire = (): void => {
    const previous = inFlight;
    const next = poll();
    inFlight = Promise.all([previous, next]).then(() => undefined);
  };

  fire();
  const timer = setInterval(fire, options.intervalMs ?? STATUS_POLL_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
      await close();
      if (failure !== undefined) throw new StatusPollError(failure);
      return { polls, bytes, maxMs };
    },
  };
}

/**
 * `count` polls back to back on one connection, each waiting for the last: the
 * cost of one document on an otherwise idle gateway, read around this call.
 */
export async function pollStatusRepeatedly(
  origin: string,
  count: number,
  get?: StatusGet,
): Promise<StatusPollReport> {
  const transport = get === undefined ? undiciGet(origin) : { get, close: () => Promise.resolve() };
  let polls = 0;
  let bytes = 0;
  let maxMs = 0;
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const answer = await transport.get(STATUS_JSON_PATH);
      const why =
        answer.status === 200
          ? notADocument(answer.body)
          : `answered ${answer.status}: ${answer.body.slice(0, 200)}`;
      if (why !== undefined) throw new StatusPollError(`GET ${origin}${STATUS_JSON_PATH}: ${why}`);
      polls++;
      bytes = Buffer.byteLength(answer.body);
      maxMs = Math.max(maxMs, performance.now() - started);
    }
  } finally {
    await transport.close();
  }
  return { polls, bytes, maxMs };
}

/** One poll, outside a measured run (warms the gateway's document code before the rounds). */
export async function pollStatusOnce(origin: string): Promise<StatusPollReport> {
  // stop() clears the timer before it first fires, and waits for the opening poll.
  return startStatusPoller({ origin }).stop();
}
