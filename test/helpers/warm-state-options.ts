import { onTestFinished, vi } from 'vitest';
import { isWarmStateError } from '../../lambda/errors.js';

/**
 * For tests of the function library's options read when a store is made:
 * the WR_ERR_WARM_STATE_OPTIONS error `make` throws (any other error, or
 * none, fails the test), and environment variables set for one test only.
 */
export function optionsRefusal(make: () => unknown): Error {
  try {
    make();
  } catch (err) {
    if (isWarmStateError(err, 'WR_ERR_WARM_STATE_OPTIONS')) return err;
    throw err;
  }
  throw new Error('expected WR_ERR_WARM_STATE_OPTIONS');
}

/** Sets `values` as environment variables until the current test ends. */
export function stubEnvForTest(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) vi.stubEnv(name, value);
  onTestFinished(() => {
    vi.unstubAllEnvs();
  });
}
