import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseLocalArgs } from '../../src/localhost/command.js';
import { startLocalHost } from '../../src/localhost/index.js';
import { distDir } from '../../src/paths.js';
import {
  counterOf,
  eventually,
  invoke,
  isRunning,
  json,
  lambdaClient,
  logTail,
  sdkError,
  startTestHost,
  testFunctionsFile,
} from '../helpers/localhost-host.js';
import { LambdaClient } from '@aws-sdk/client-lambda';

/**
 * `reclaim: 'idle'`, the local host's Lambda-like mode, through the
 * unmodified AWS SDK: idle reclaim and maximum lifetime give cold starts as
 * on Lambda, nothing is evicted to make room, and the tenant-environment cap
 * answers 429 TooManyRequestsException "Rate exceeded".
 */

interface Echoed {
  calls: number;
  pid: number;
}

async function echo(
  client: LambdaClient,
  tenant: string,
): Promise<Echoed & { initDuration: boolean }> {
  const out = await invoke(client, {
    FunctionName: 'echo',
    TenantId: tenant,
    Payload: '{}',
    LogType: 'Tail',
  });
  return { ...(json(out) as Echoed), initDuration: logTail(out).includes('Init Duration') };
}

describe("local host, reclaim 'idle'", () => {
  it('keeps an environment warm within the idle reclaim time, then reclaims it: the next call is a cold start', async () => {
    // Prepare: long enough that two calls in a row stay within it on a busy machine.
    const host = await startTestHost({ reclaim: 'idle', idleReclaimMs: 1_500 });
    const client = lambdaClient(host);

    // Act
    const first = await echo(client, 'BlueTenant');
    const warm = await echo(client, 'BlueTenant');
    // The host stops the process on its own, with no request to notice the deadline.
    const reclaimed = await eventually(() => host.environments().length === 0, 200);
    const cold = await echo(client, 'BlueTenant');

    // Assess
    expect(first).toMatchObject({ calls: 1, initDuration: true });
    expect(warm).toMatchObject({ calls: 2, pid: first.pid, initDuration: false });
    expect(reclaimed).toBe(true);
    expect(await eventually(() => !isRunning(first.pid))).toBe(true);
    expect(cold).toMatchObject({ calls: 1, initDuration: true });
    expect(cold.pid).not.toBe(first.pid);
    expect(host.stats().functions['echo']?.evictions).toBe(1);
  });

  it('recycles a busy environment at its maximum lifetime only after its invocation', async () => {
    const host = await startTestHost({
      reclaim: 'idle',
      idleReclaimMs: 600_000,
      maxLifetimeMs: 300,
    });
    const client = lambdaClient(host);
    const sleepy = (sleepMs: number) =>
      invoke(client, {
        FunctionName: 'sleepy',
        TenantId: 'BlueTenant',
        Payload: JSON.stringify({ sleepMs }),
      });

    // Act: the invocation outlives the environment's lifetime.
    const running = sleepy(2_000);
    const markedWhileBusy = await eventually(() =>
      host.environments().some((e) => e.state === 'busy' && e.retiring),
    );
    const finished = json(await running) as { counter: number };
    const gone = await eventually(() => host.environments().length === 0);
    const evictions = host.stats().functions['sleepy']?.evictions;
    const next = json(await sleepy(0)) as { counter: number };

    // Assess: it finished its invocation, then a new environment started from fresh state.
    expect(markedWhileBusy).toBe(true);
    expect(finished.counter).toBe(0);
    expect(gone).toBe(true);
    expect(next.counter).toBe(0);
    expect(evictions).toBe(1);
  });

  it('answers a new tenant past the tenant-environment cap with 429 TooManyRequestsException "Rate exceeded", per function', async () => {
    const host = await startTestHost({ reclaim: 'idle', tenantEnvironmentCap: 2 });
    const client = lambdaClient(host);
    const counter = async (tenant: string) =>
      counterOf(await invoke(client, { FunctionName: 'counter', TenantId: tenant, Payload: '{}' }))
        .counter;

    await counter('A');
    await counter('B');
    const err = (await sdkError(
      invoke(client, { FunctionName: 'counter', TenantId: 'C', Payload: '{}' }),
    )) as Error & { $metadata?: { httpStatusCode?: number }; Reason?: string };

    expect(err.name).toBe('TooManyRequestsException');
    expect(err.$metadata?.httpStatusCode).toBe(429);
    expect(err.message).toBe('Rate exceeded');
    // Lambda documents no Reason for this throttle.
    expect(err.Reason).toBeUndefined();
    // The tenants within the cap stay warm; the cap is per function.
    expect(await counter('A')).toBe(1);
    expect((await echo(client, 'C')).calls).toBe(1);
    expect(host.stats().functions['counter']).toMatchObject({ throttles: 1, evictions: 0 });
  });

  it('never stops an idle environment to make room: past --max-environments a new one gets 429', async () => {
    const host = await startTestHost({ reclaim: 'idle', maxEnvironments: 2 });
    const client = lambdaClient(host);

    const a = await echo(client, 'A');
    const b = await echo(client, 'B');
    const err = (await sdkError(echo(client, 'C'))) as Error & { Reason?: string };
    const aAgain = await echo(client, 'A');

    expect(err.name).toBe('TooManyRequestsException');
    expect(err.Reason).toBe('ConcurrentInvocationLimitExceeded');
    expect(aAgain).toMatchObject({ calls: 2, pid: a.pid, initDuration: false });
    expect(isRunning(b.pid)).toBe(true);
    expect(host.stats().functions['echo']?.evictions).toBe(0);
  });

  it('refuses options of the other mode, or bad values, in one message before starting', async () => {
    await expect(
      startLocalHost({
        port: 0,
        functionsFile: testFunctionsFile,
        reclaim: 'idle',
        idleReclaimMs: 0,
        tenantEnvironmentCap: 0,
      }),
    ).rejects.toThrow(
      /idleReclaimMs must be an integer ≥ 1, got 0\n.*tenantEnvironmentCap must be an integer ≥ 1, got 0/,
    );
    await expect(
      // A JavaScript caller is not held to the option types.
      startLocalHost({
        port: 0,
        functionsFile: testFunctionsFile,
        maxLifetimeMs: 1_000,
      } as unknown as Parameters<typeof startLocalHost>[0]),
    ).rejects.toThrow(/maxLifetimeMs applies only with reclaim 'idle'/);
  });
});

describe('warmroute local --reclaim idle', () => {
  it('parses the idle mode flags', () => {
    expect(
      parseLocalArgs(
        [
          '--reclaim',
          'idle',
          '--idle-reclaim',
          '2000',
          '--idle-jitter=500',
          '--max-lifetime',
          '60000',
          '--tenant-environment-cap',
          '8',
          '--max-environments',
          '32',
        ],
        {},
      ),
    ).toMatchObject({
      reclaim: { reclaim: 'idle', idleReclaimMs: 2000, idleJitterMs: 500, maxLifetimeMs: 60_000 },
      tenantEnvironmentCap: 8,
      maxEnvironments: 32,
    });
    expect(parseLocalArgs(['--idle-timeout', '100'], {}).reclaim).toEqual({
      reclaim: 'lru',
      idleTimeoutMs: 100,
    });
    // The cap applies in either mode.
    expect(parseLocalArgs(['--tenant-environment-cap', '3'], {}).tenantEnvironmentCap).toBe(3);
  });

  it('reports every bad or misplaced flag at once', () => {
    const message = (args: string[]): string => {
      try {
        parseLocalArgs(args, {});
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error(`accepted ${args.join(' ')}`);
    };

    const bad = message([
      '--reclaim',
      'sometimes',
      '--idle-reclaim',
      '0',
      '--idle-jitter',
      '-1',
      '--max-lifetime',
      '1.5',
      '--tenant-environment-cap',
      '0',
    ]);
    const misplaced = message(['--idle-reclaim', '100', '--max-lifetime', '100']);
    const lruFlagInIdle = message(['--reclaim', 'idle', '--idle-timeout', '100']);

    expect(bad).toContain('--reclaim: expected lru or idle, got "sometimes"');
    expect(bad).toContain('--idle-reclaim: expected an integer from 1 to 86400000, got "0"');
    expect(bad).toContain('--idle-jitter: expected an integer from 0 to 86400000, got "-1"');
    expect(bad).toContain('--max-lifetime: expected an integer from 1 to 604800000, got "1.5"');
    expect(bad).toContain('--tenant-environment-cap: expected an integer from 1 to 1000000');
    expect(misplaced).toContain('--idle-reclaim: only with --reclaim idle');
    expect(misplaced).toContain('--max-lifetime: only with --reclaim idle');
    expect(lruFlagInIdle).toContain('--idle-timeout: only with --reclaim lru');
  });

  it('runs the host in the idle mode with the cap it was given', async () => {
    // Prepare
    const child = spawn(
      process.execPath,
      [
        join(distDir, 'src', 'cli.js'),
        'local',
        '--port',
        '0',
        '--functions',
        testFunctionsFile,
        '--reclaim',
        'idle',
        '--idle-reclaim',
        '60000',
        '--tenant-environment-cap',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WARMROUTE_LOG_LEVEL: 'silent' } },
    );
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.stderr.resume();
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = /local Lambda host on (http:\/\/\S+)/.exec(line);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.once('exit', (code) => {
        reject(new Error(`warmroute local exited with ${String(code)}`));
      });
    });
    const client = new LambdaClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    onTestFinished(() => {
      client.destroy();
    });

    // Act
    const first = await echo(client, 'A');
    const err = await sdkError(echo(client, 'B'));

    // Assess
    expect(first.calls).toBe(1);
    expect(err.name).toBe('TooManyRequestsException');
    expect(err.message).toBe('Rate exceeded');
  });
});
