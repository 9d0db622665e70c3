import {
  createWarmEnvironment,
  type WarmEnvironment,
  type WrappedHandler,
} from './warm-environment.js';
import type { WarmContext, WarmHandler, WarmStateOptions } from './types.js';

/**
 * This process's environment, made at module init: its random id is the
 * `env` every report carries (context.tenantId is not available at init).
 */
export const environment: WarmEnvironment = createWarmEnvironment();

/**
 * Wrap an ordinary Lambda handler so it gets its key's warm state. See
 * docs/protocol.md for what is reported and how versions are checked.
 */
export function withWarmState<TEvent, TResult, TState, TContext extends WarmContext = WarmContext>(
  handler: WarmHandler<TEvent, TResult, TState, TContext>,
  options: WarmStateOptions<TState, TEvent, TContext>,
): WrappedHandler<TEvent, TResult, TContext> {
  return environment.withWarmState(handler, options);
}
