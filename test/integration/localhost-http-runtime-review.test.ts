import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Environment, type InvokeInput } from '../../src/localhost/environment.js';
import type { FunctionDefinition } from '../../src/localhost/function-registry.js';
import { RUNTIME_FD_ENV } from '../../src/localhost/runtime-frames.js';
import { packageRoot } from '../../src/paths.js';

/**
 * warmroute's bootstrap talks to the host over its private channel (fd 3),
 * but the HTTP Runtime API stays the contract for any runtime: the same
 * bootstrap told of no channel must run invocations over HTTP alone with the
 * same outcomes and log tails as over the channel.
 */
const bootstrap = join(packageRoot, 'dist', 'src', 'localhost', 'bootstrap.js');

const FUNCTION_SOURCE = `
export const handler = async (event) => {
  console.log('log of', event.n);
  process.stderr.write('stderr of ' + event.n + '\\n');
  if (event.fail) throw new TypeError('failed ' + event.n);
  return { n: event.n, httpCalls: globalThis.runtimeHttpCalls };
};
`;

async function environment(httpOnly: boolean): Promise<Environment> {
  const dir = await mkdtemp(join(tmpdir(), 'wr-http-runtime-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.mjs'), FUNCTION_SOURCE);
  // Counts the bootstrap's HTTP requests (its named import of node:http sees
  // the patch once synced) and, for a runtime that knows nothing of the
  // channel, removes the variable naming it.
  const wrapper = join(dir, 'counting-bootstrap.mjs');
  await writeFile(
    wrapper,
    [
      "import http from 'node:http';",
      "import { syncBuiltinESMExports } from 'node:module';",
      'globalThis.runtimeHttpCalls = 0;',
      'const request = http.request;',
      'http.request = (...args) => { globalThis.runtimeHttpCalls++; return request(...args); };',
      'syncBuiltinESMExports();',
      httpOnly ? `delete process.env.${RUNTIME_FD_ENV};` : '',
      `await import(${JSON.stringify(pathToFileURL(bootstrap).href)});`,
    ].join('\n'),
  );
  const fn: FunctionDefinition = {
    name: 'plain',
    codeDir: dir,
    handler: 'index.handler',
    tenancy: 'PER_TENANT',
    memoryMb: 256,
    timeoutSeconds: 5,
    reservedConcurrency: undefined,
    environment: {},
  };
  const env = new Environment({
    fn,
    tenantId: 'tenant-1',
    region: 'us-east-1',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:plain',
    bootstrapPath: wrapper,
    baseEnv: { PATH: process.env.PATH ?? '' },
    onGone: () => undefined,
  });
  onTestFinished(() => env.destroy());
  return env;
}

function input(requestId: string, event: unknown): InvokeInput {
  return {
    requestId,
    payload: Buffer.from(JSON.stringify(event)),
    clientContext: undefined,
    traceId: 'Root=1-00000000-000000000000000000000000',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:plain',
    tail: true,
  };
}

/** The tail between START and END: the invocation's own output. */
function ownOutput(logResult: string | undefined, requestId: string): string {
  const tail = Buffer.from(logResult ?? '', 'base64').toString('utf8');
  const start = tail.indexOf(`START RequestId: ${requestId} `);
  const end = tail.indexOf(`END RequestId: ${requestId}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return tail.slice(tail.indexOf('\n', start) + 1, end);
}

describe('local host: a runtime on the HTTP Runtime API alone', () => {
  it.each([
    ['HTTP Runtime API only', true],
    ['private channel', false],
  ])('%s: results, function errors and each invocation’s own log', async (_name, httpOnly) => {
    // Prepare
    const env = await environment(httpOnly);
    // Act
    const outcomes = [];
    for (const [i, fail] of [false, true, false].entries())
      outcomes.push(await env.invoke(input(`req-${i}`, { n: i, fail })));
    // Assess
    expect(outcomes.map((o) => [o.kind, o.discard])).toEqual([
      ['success', false],
      ['error', false],
      ['success', false],
    ]);
    const first = JSON.parse(outcomes[0]?.payload.toString() ?? '') as { httpCalls: number };
    // Over HTTP the `next` that brought this invocation was a request; over the channel none is.
    if (httpOnly) expect(first.httpCalls).toBeGreaterThan(0);
    else expect(first.httpCalls).toBe(0);
    expect(JSON.parse(outcomes[1]?.payload.toString() ?? '')).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'failed 1',
    });
    expect(JSON.parse(outcomes[2]?.payload.toString() ?? '')).toMatchObject({ n: 2 });
    for (const [i, outcome] of outcomes.entries()) {
      const own = ownOutput(outcome.logResult, `req-${i}`);
      expect(own).toContain(`\tINFO\tlog of ${i}\n`);
      expect(own).toContain(`stderr of ${i}\n`);
      for (const other of [0, 1, 2].filter((j) => j !== i))
        expect(own).not.toContain(`of ${other}\n`);
    }
    expect(ownOutput(outcomes[1]?.logResult, 'req-1')).toContain('Invoke Error');
  });
});
