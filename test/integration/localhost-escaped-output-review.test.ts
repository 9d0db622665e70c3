import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startLocalHost } from '../../src/localhost/index.js';
import { eventually, invoke, json, lambdaClient } from '../helpers/localhost-host.js';

/**
 * A function can start a process that leaves the environment's process group
 * (a detached child: its own session) and inherits the environment's output.
 * Stopping the environment cannot kill it, but the host must still let go of
 * its end of that output: otherwise every such environment keeps a
 * descriptor and a ref'd handle in the host until the stray process exits,
 * even after the host is closed.
 */
const FUNCTION_SOURCE = `
import { spawn } from 'node:child_process';
export const handler = async (event) => {
  if (event.escape !== true) return { pid: undefined };
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.unref();
  return { pid: child.pid };
};
`;

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

describe.runIf(process.platform === 'linux')(
  'local host: output held by an escaped process',
  () => {
    it('releases the output of stopped environments whose stray processes still hold it', async () => {
      // Prepare
      const codeDir = await mkdtemp(join(tmpdir(), 'wr-escape-'));
      onTestFinished(() => rm(codeDir, { recursive: true, force: true }));
      await writeFile(join(codeDir, 'index.mjs'), FUNCTION_SOURCE);
      const host = await startLocalHost({
        port: 0,
        functions: [
          {
            name: 'escaper',
            codeDir,
            handler: 'index.handler',
            tenancy: 'PER_TENANT',
            memoryMb: 128,
            timeoutSeconds: 5,
            reservedConcurrency: undefined,
            environment: {},
          },
        ],
      });
      onTestFinished(() => host.close());
      const client = lambdaClient(host);
      const call = async (tenant: string, escape: boolean) =>
        json(
          await invoke(client, {
            FunctionName: 'escaper',
            TenantId: tenant,
            Payload: JSON.stringify({ escape }),
          }),
        ) as { pid?: number };
      const stopped = () => host.environments().length === 0;
      // The client's connection is open and one environment has come and gone.
      await call('baseline', false);
      host.evict();
      expect(await eventually(stopped)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = openDescriptors();
      // Act
      for (const tenant of ['a', 'b', 'c']) {
        const { pid } = await call(tenant, true);
        expect(pid).toBeTypeOf('number');
        onTestFinished(() => {
          try {
            process.kill(pid as number, 'SIGKILL');
          } catch {
            // already gone
          }
        });
      }
      host.evict();
      // Assess
      expect(await eventually(stopped)).toBe(true);
      expect(await eventually(() => openDescriptors() <= before)).toBe(true);
    });
  },
);
