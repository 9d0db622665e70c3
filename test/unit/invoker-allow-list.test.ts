import { describe, expect, it } from 'vitest';
import type { Backend, InvokeRequest } from '../../src/backend/backend.js';
import { invokerFixture } from '../helpers/invoker-fixture.js';

/**
 * The functions allow-list (`functions` / `WARMROUTE_FUNCTIONS`) is a plain
 * object keyed by function name, and the name comes from the request path.
 * README: "any other function name is a 404 that invokes nothing" — that
 * includes the names every object inherits (`constructor`, `toString`, …),
 * which a `record[name]` lookup would find.
 */
const INHERITED_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'];

describe('allow-list: names inherited from Object.prototype are not functions', () => {
  it.each(INHERITED_NAMES)(
    '%s is WR_ERR_FUNCTION_NOT_FOUND and reaches no backend',
    async (name) => {
      // Prepare: an allow-list of one function, a backend that records every call.
      const calls: InvokeRequest[] = [];
      const backend: Backend = {
        invoke: (request) => {
          calls.push(request);
          return Promise.resolve({ payload: new Uint8Array(0), attempts: 1, durationMs: 0 });
        },
        close: () => Promise.resolve(),
      };
      const fx = invokerFixture({
        backend,
        functions: { counter: { timeoutSeconds: 10, memoryMb: 128, tenancy: 'PER_TENANT' } },
      });

      // Act
      const failure = await fx.invoke(name).then(
        () => undefined,
        (err: unknown) => err,
      );

      // Assess
      expect(failure).toMatchObject({ code: 'WR_ERR_FUNCTION_NOT_FOUND' });
      expect(() => fx.invoker.functionInfo(name)).toThrow(`Unknown function: ${name}`);
      expect(calls).toEqual([]);
      expect(fx.resolves).toEqual([]);
    },
  );

  it('a declared function is still invoked', async () => {
    // Prepare
    const calls: string[] = [];
    const backend: Backend = {
      invoke: (request) => {
        calls.push(request.functionName);
        return Promise.resolve({ payload: new Uint8Array(0), attempts: 1, durationMs: 0 });
      },
      close: () => Promise.resolve(),
    };
    const fx = invokerFixture({
      backend,
      functions: { counter: { timeoutSeconds: 10, memoryMb: 128, tenancy: 'PER_TENANT' } },
    });

    // Act
    await fx.invoke('counter');

    // Assess
    expect(calls).toEqual(['counter']);
  });
});
