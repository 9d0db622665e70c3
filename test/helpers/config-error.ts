import { isWarmrouteError, type WarmrouteError } from '../../src/errors.js';

/**
 * The WarmrouteError `run` throws (a config report, WR_ERR_CONFIG); fails
 * the test when it throws nothing or something else.
 */
export function configError(run: () => unknown): WarmrouteError {
  try {
    run();
  } catch (err) {
    if (isWarmrouteError(err)) return err;
    throw err;
  }
  throw new Error('expected a config error');
}
