import type { FunctionDefinition } from '../localhost/index.js';
import type { FunctionSettings } from './schema.js';

/**
 * What the gateway needs to know of functions the local host runs: timeout
 * (the client's timeout stays longer), memory (cold-start price) and tenancy.
 */
export function functionSettingsOf(
  definitions: readonly FunctionDefinition[],
): Record<string, FunctionSettings> {
  return Object.fromEntries(
    definitions.map((f) => [
      f.name,
      { timeoutSeconds: f.timeoutSeconds, memoryMb: f.memoryMb, tenancy: f.tenancy },
    ]),
  );
}
