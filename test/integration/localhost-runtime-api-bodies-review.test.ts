import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startLocalHost, type LocalHost } from '../../src/localhost/index.js';
import { invoke, json, lambdaClient } from '../helpers/localhost-host.js';

/**
 * Every result or init-error body posted to an environment's Runtime API is
 * held in the host until it ends (up to 6 MB each). A function that opens
 * many connections posting bodies it never finishes must not be able to put
 * that memory on the host without bound: past a couple of bodies in flight,
 * further posts are refused at once, and the invocation still completes.
 */
const FUNCTION_SOURCE = `
import { connect } from 'node:net';
const held = [];
/** Posts a body announced twice as long as what is sent: it never ends. */
function post(path, chunk, settle) {
  const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host);
    let answer = '';
    const done = () => resolve(answer.split('\\r\\n')[0] ?? '');
    setTimeout(() => {
      if (settle === 'drop') socket.destroy();
      else held.push(socket);
      // Let the host see the connection go before answering.
      setTimeout(done, 100);
    }, 400);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write('POST /2018-06-01/runtime/' + path + ' HTTP/1.1\\r\\nhost: x\\r\\ncontent-length: ' + 2 * chunk.length + '\\r\\n\\r\\n');
      socket.write(chunk);
    });
  });
}
export const handler = async (event, context) => {
  const chunk = Buffer.alloc(1024 * 1024, 97);
  const own = 'invocation/' + context.awsRequestId + '/response';
  const statuses = await Promise.all(
    Array.from({ length: event.connections }, (_, i) =>
      post(i % 2 === 0 ? own : 'init/error', chunk, event.settle),
    ),
  );
  return { statuses };
};
`;

async function hostWith(): Promise<LocalHost> {
  const codeDir = await mkdtemp(join(tmpdir(), 'wr-bodies-'));
  onTestFinished(() => rm(codeDir, { recursive: true, force: true }));
  await writeFile(join(codeDir, 'index.mjs'), FUNCTION_SOURCE);
  const host = await startLocalHost({
    port: 0,
    functions: [
      {
        name: 'poster',
        codeDir,
        handler: 'index.handler',
        tenancy: 'NONE',
        memoryMb: 128,
        timeoutSeconds: 10,
        reservedConcurrency: undefined,
        environment: {},
      },
    ],
  });
  onTestFinished(() => host.close());
  return host;
}

describe('local host: Runtime API bodies in flight', () => {
  it('refuses posts past a small number of unfinished bodies, and the invocation still answers', async () => {
    // Prepare
    const host = await hostWith();
    const client = lambdaClient(host);
    const connections = 12;
    // Act
    const output = await invoke(client, {
      FunctionName: 'poster',
      Payload: JSON.stringify({ connections, settle: 'hold' }),
    });
    // Assess
    expect(output.FunctionError).toBeUndefined();
    const { statuses } = json(output) as { statuses: string[] };
    expect(statuses).toHaveLength(connections);
    const refused = statuses.filter((s) => s === 'HTTP/1.1 429 Too Many Requests');
    const pending = statuses.filter((s) => s === '');
    expect(pending.length).toBeLessThanOrEqual(2);
    expect(refused.length + pending.length).toBe(connections);
  });

  it('takes a body cut off by its connection for no answer: not a result, not an init error', async () => {
    // Prepare
    const host = await hostWith();
    const client = lambdaClient(host);
    // Act: one cut-off post to the invocation's own response, one to init/error
    const output = await invoke(client, {
      FunctionName: 'poster',
      Payload: JSON.stringify({ connections: 2, settle: 'drop' }),
    });
    const again = await invoke(client, {
      FunctionName: 'poster',
      Payload: JSON.stringify({ connections: 0 }),
    });
    // Assess: the handler's own result answers, and the environment lives on
    expect(output.FunctionError).toBeUndefined();
    expect(json(output)).toEqual({ statuses: ['', ''] });
    expect(again.FunctionError).toBeUndefined();
    expect(host.environments()).toHaveLength(1);
  });
});
