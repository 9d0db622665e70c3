import { AffinityError, catalogueMessage } from './errors.js';
import type { HttpClientOptions } from './client.js';
import { keyHeaderProblem, timeoutProblem } from './option-checks.js';

/**
 * The default client's settings, read from the environment. The SDK's only
 * reader of `process.env` (the caller passes it in), with every bad value
 * reported in one message like the gateway's config loader.
 *
 * | variable | meaning |
 * | --- | --- |
 * | `WARMROUTE_URL` | gateway base URL (required for the default client) |
 * | `WARMROUTE_FUNCTION` | function called when a call names none |
 * | `WARMROUTE_TIMEOUT_MS` | default deadline per call, ms |
 * | `WARMROUTE_KEY_HEADER` | key header the gateway reads (default `x-affinity-key`) |
 */

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The variables the default client reads (the table above), as one list:
 * the README and deploy/ checks compare their variable names with it.
 */
export const SDK_ENVIRONMENT = [
  'WARMROUTE_URL',
  'WARMROUTE_FUNCTION',
  'WARMROUTE_TIMEOUT_MS',
  'WARMROUTE_KEY_HEADER',
] as const;

export function clientOptionsFromEnv(env: Env): HttpClientOptions {
  const url = env['WARMROUTE_URL'];
  if (url === undefined || url === '') {
    throw new AffinityError(
      'WR_ERR_NOT_CONFIGURED',
      'affinityInvoke has no gateway: set WARMROUTE_URL (e.g. http://127.0.0.1:3000), or create a client with createAffinityClient({ url }) or createAffinityClient({ transport: "embedded" })',
    );
  }
  const problems: string[] = [];
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      problems.push(`WARMROUTE_URL=${JSON.stringify(url)}: must be an http(s) URL`);
  } catch {
    problems.push(`WARMROUTE_URL=${JSON.stringify(url)}: not a URL`);
  }
  const rawTimeout = env['WARMROUTE_TIMEOUT_MS'];
  let timeoutMs: number | undefined;
  if (rawTimeout !== undefined && rawTimeout !== '') {
    timeoutMs = Number(rawTimeout);
    // The client's own bound (option-checks.ts), so what passes here also starts.
    const problem = Number.isInteger(timeoutMs)
      ? timeoutProblem(timeoutMs)
      : 'must be a positive integer';
    if (problem !== undefined) {
      problems.push(`WARMROUTE_TIMEOUT_MS=${JSON.stringify(rawTimeout)}: ${problem}`);
    }
  }
  const keyHeader = env['WARMROUTE_KEY_HEADER'];
  const keyHeaderIssue =
    keyHeader === undefined || keyHeader === '' ? undefined : keyHeaderProblem(keyHeader);
  if (keyHeaderIssue !== undefined) {
    problems.push(`WARMROUTE_KEY_HEADER=${JSON.stringify(keyHeader)}: ${keyHeaderIssue}`);
  }
  if (problems.length > 0) {
    throw new AffinityError(
      'WR_ERR_CONFIG',
      catalogueMessage('WR_ERR_CONFIG', [problems.map((p) => `  - ${p}`).join('\n')]),
    );
  }
  const functionName = env['WARMROUTE_FUNCTION'];
  return {
    transport: 'http',
    url,
    ...(functionName === undefined || functionName === '' ? {} : { functionName }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(keyHeader === undefined || keyHeader === '' ? {} : { keyHeader }),
  };
}
