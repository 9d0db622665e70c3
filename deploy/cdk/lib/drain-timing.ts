import { ConfigSchema, defaults } from '../../../src/config/schema.js';
import { SHUTDOWN_BACKSTOP_MS } from '../../../src/shutdown-backstop.js';

export { SHUTDOWN_BACKSTOP_MS };

/** Fargate's ceiling for a container's `stopTimeout` (seconds). */
export const FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120;

/** The load balancer's own bounds and default for `idle_timeout.timeout_seconds`. */
export const ALB_MAX_IDLE_TIMEOUT_SECONDS = 4000;
export const ALB_DEFAULT_IDLE_TIMEOUT_SECONDS = 60;

/** The gateway's bound on `WARMROUTE_KEEP_ALIVE_TIMEOUT_MS`, read from its schema. */
const MAX_KEEP_ALIVE_MS: number = (() => {
  const max: unknown = (ConfigSchema.properties.keepAliveTimeoutMs as { maximum?: unknown })
    .maximum;
  if (typeof max !== 'number')
    throw new Error('keepAliveTimeoutMs has no maximum in the config schema');
  return max;
})();

/** How much longer the gateway keeps an idle connection than the load balancer. */
const KEEP_ALIVE_OVER_IDLE_SECONDS = 5;

/**
 * A margin for what happens around the app's own timers: the event loop
 * noticing the timer, pino flushing, the socket closes reaching the load
 * balancer.
 */
const MARGIN_SECONDS = 2;

export interface DrainTimingInput {
  /** `WARMROUTE_SHUTDOWN_GRACE_MS` the container runs with. */
  readonly shutdownGraceMs?: number;
  /** `WARMROUTE_REQUEST_TIMEOUT_MS` the container runs with: the longest any request lives. */
  readonly requestTimeoutMs?: number;
}

export interface DrainTiming {
  readonly shutdownGraceMs: number;
  readonly requestTimeoutMs: number;
  /** Target group `deregistration_delay.timeout_seconds`. */
  readonly deregistrationDelaySeconds: number;
  /** Container `stopTimeout`: SIGTERM to SIGKILL. */
  readonly stopTimeoutSeconds: number;
  /** Load balancer `idle_timeout.timeout_seconds`: outlasts the longest silent request. */
  readonly albIdleTimeoutSeconds: number;
  /** `WARMROUTE_KEEP_ALIVE_TIMEOUT_MS` the container runs with: above the idle timeout. */
  readonly keepAliveTimeoutMs: number;
}

/**
 * The load balancer's and ECS's waits, derived from the gateway's own
 * timers (defaults from src/config/schema.ts unless the stack overrides
 * them, in which case the stack also passes them to the container).
 *
 * How ECS stops a task behind a load balancer (ECS developer guide, "task
 * lifecycle" and "load balancer connection draining"): the task first goes
 * DEACTIVATING, ECS deregisters it from the target group and waits until
 * the target is unused — no request in flight, or the deregistration delay
 * is over — and only then goes STOPPING and sends SIGTERM; SIGKILL follows
 * `stopTimeout` later.
 *
 * - Deregistration delay: the load balancer stops sending new requests at
 *   once, and requests already on the task may take up to the request
 *   deadline (`requestTimeoutMs`, after which the gateway itself answers);
 *   when the delay runs out the load balancer cuts the connection and the
 *   client sees a 502 instead of the gateway's answer. So the delay covers
 *   the longest request, and at least the shutdown grace (the drain the
 *   gateway promises its clients), plus a margin. Deregistration ends early
 *   when nothing is in flight, so a long delay costs nothing on an idle task.
 * - stopTimeout: after SIGTERM the gateway drains for `shutdownGraceMs`,
 *   answers 503 to what is left and exits; its backstop exits 1 at grace +
 *   5 s. SIGKILL must not come before the backstop, so stopTimeout covers
 *   grace + 5 s + a margin, within Fargate's 120 s.
 * - Idle timeout: the load balancer closes a connection on which nothing
 *   moved for this long, and a call whose function answers after it gets a
 *   504 even though the gateway would still have answered. A request may be
 *   silent for up to `requestTimeoutMs`, so the idle timeout covers it plus a
 *   margin (at least the load balancer's default 60 s; at most its 4000 s).
 * - Keep-alive: the gateway must keep an idle connection open longer than
 *   the load balancer does, or the load balancer may send a request down a
 *   connection the gateway is closing and answer 502. The gateway's default
 *   (`defaults.keepAliveTimeoutMs`) is kept when it is long enough, raised
 *   otherwise, within the gateway's own maximum.
 */
export function drainTiming(input: DrainTimingInput = {}): DrainTiming {
  const shutdownGraceMs = input.shutdownGraceMs ?? defaults.shutdownGraceMs;
  const requestTimeoutMs = input.requestTimeoutMs ?? defaults.requestTimeoutMs;
  const deregistrationDelaySeconds =
    Math.ceil(Math.max(requestTimeoutMs, shutdownGraceMs) / 1000) + MARGIN_SECONDS;
  const stopTimeoutSeconds =
    Math.ceil((shutdownGraceMs + SHUTDOWN_BACKSTOP_MS) / 1000) + MARGIN_SECONDS;
  if (stopTimeoutSeconds > FARGATE_MAX_STOP_TIMEOUT_SECONDS) {
    throw new Error(
      `shutdownGraceMs ${shutdownGraceMs} needs a stopTimeout of ${stopTimeoutSeconds} s ` +
        `(grace + ${SHUTDOWN_BACKSTOP_MS / 1000} s backstop + ${MARGIN_SECONDS} s), over Fargate's ` +
        `${FARGATE_MAX_STOP_TIMEOUT_SECONDS} s: lower WARMROUTE_SHUTDOWN_GRACE_MS`,
    );
  }
  // The target group's own limit (ELB: 0–3600 s).
  if (deregistrationDelaySeconds > 3600) {
    throw new Error(
      `requestTimeoutMs ${requestTimeoutMs} needs a deregistration delay of ${deregistrationDelaySeconds} s, over the load balancer's 3600 s`,
    );
  }
  const albIdleTimeoutSeconds = Math.max(
    ALB_DEFAULT_IDLE_TIMEOUT_SECONDS,
    Math.ceil(requestTimeoutMs / 1000) + MARGIN_SECONDS,
  );
  if (albIdleTimeoutSeconds > ALB_MAX_IDLE_TIMEOUT_SECONDS) {
    throw new Error(
      `requestTimeoutMs ${requestTimeoutMs} needs a load balancer idle timeout of ${albIdleTimeoutSeconds} s, over its ${ALB_MAX_IDLE_TIMEOUT_SECONDS} s`,
    );
  }
  const keepAliveTimeoutMs = Math.max(
    defaults.keepAliveTimeoutMs,
    (albIdleTimeoutSeconds + KEEP_ALIVE_OVER_IDLE_SECONDS) * 1000,
  );
  if (keepAliveTimeoutMs > MAX_KEEP_ALIVE_MS) {
    throw new Error(
      `requestTimeoutMs ${requestTimeoutMs} needs a load balancer idle timeout of ${albIdleTimeoutSeconds} s ` +
        `and a gateway keep-alive above it (${keepAliveTimeoutMs} ms), over WARMROUTE_KEEP_ALIVE_TIMEOUT_MS's ` +
        `maximum ${MAX_KEEP_ALIVE_MS} ms: lower WARMROUTE_REQUEST_TIMEOUT_MS`,
    );
  }
  return {
    shutdownGraceMs,
    requestTimeoutMs,
    deregistrationDelaySeconds,
    stopTimeoutSeconds,
    albIdleTimeoutSeconds,
    keepAliveTimeoutMs,
  };
}
