import { describe, expect, it } from 'vitest';
import {
  counterOf,
  eventually,
  invoke,
  isRunning,
  json,
  lambdaClient,
  logTail,
  startTestHost,
} from '../helpers/localhost-host.js';

describe('local host: tenant isolation with the unmodified AWS SDK', () => {
  it('reproduces the classic experiment: one warm environment per tenant', async () => {
    // Prepare
    const host = await startTestHost();
    const client = lambdaClient(host);
    const call = async (tenant: string) =>
      counterOf(await invoke(client, { FunctionName: 'counter', TenantId: tenant, Payload: '{}' }));

    // Act
    const blue = [await call('BlueTenant'), await call('BlueTenant'), await call('BlueTenant')];
    const green = [await call('GreenTenant'), await call('GreenTenant')];
    const blueAgain = await call('BlueTenant');

    // Assess
    expect(blue.map((r) => r.counter)).toEqual([0, 1, 2]);
    expect(blue.every((r) => r.tenantId === 'BlueTenant')).toBe(true);
    expect(green.map((r) => r.counter)).toEqual([0, 1]);
    expect(green.every((r) => r.tenantId === 'GreenTenant')).toBe(true);
    expect(blueAgain).toEqual({ counter: 3, tenantId: 'BlueTenant' });
    const envs = host.environments();
    expect(envs.map((e) => [e.tenant, e.invocations]).sort()).toEqual([
      ['BlueTenant', 4],
      ['GreenTenant', 2],
    ]);
    expect(host.stats().invocations.counter).toBe(6);
  });

  it('starts a second environment for a second concurrent call of the same tenant', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    // Each call holds its environment for a second: the two surely overlap.
    const call = () =>
      invoke(client, {
        FunctionName: 'sleepy',
        TenantId: 'BlueTenant',
        Payload: '{"sleepMs":1000}',
      });

    const results = await Promise.all([call(), call()]);
    const third = await call();

    // Two environments, both BlueTenant's, each starting from its own fresh module state.
    expect(results.map((r) => (json(r) as { counter: number }).counter)).toEqual([0, 0]);
    const envs = host.environments();
    expect(envs).toHaveLength(2);
    expect(envs.every((e) => e.function === 'sleepy' && e.tenant === 'BlueTenant')).toBe(true);
    // Afterwards one of them is reused (warm): no third environment.
    expect((json(third) as { counter: number }).counter).toBe(1);
    expect(host.environments()).toHaveLength(2);
  });

  it('evicting an environment makes the next call cold: Init Duration, counter 0', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    const call = (tenant: string) =>
      invoke(client, { FunctionName: 'counter', TenantId: tenant, Payload: '{}', LogType: 'Tail' });

    const first = await call('BlueTenant');
    const warm = await call('BlueTenant');
    const green = await call('GreenTenant');
    const evicted = await fetch(`${host.url}/_local/evict`, {
      method: 'POST',
      body: JSON.stringify({ function: 'counter', tenant: 'BlueTenant' }),
    }).then((r) => r.json() as Promise<{ evicted: number }>);
    const cold = await call('BlueTenant');
    const greenWarm = await call('GreenTenant');

    expect(logTail(first)).toMatch(/\tInit Duration: \d+\.\d\d ms\t/);
    expect(counterOf(warm).counter).toBe(1);
    expect(logTail(warm)).not.toContain('Init Duration');
    expect(counterOf(green).counter).toBe(0);
    expect(evicted).toEqual({ evicted: 1 });
    expect(counterOf(cold).counter).toBe(0);
    expect(logTail(cold)).toMatch(/\tInit Duration: \d+\.\d\d ms\t/);
    // Only the blue environment was recycled.
    expect(counterOf(greenWarm).counter).toBe(1);
    expect(logTail(greenWarm)).not.toContain('Init Duration');
  });

  it('shares environments across callers of a function without tenancy', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const counters: number[] = [];
    for (let i = 0; i < 3; i++) {
      counters.push(
        counterOf(await invoke(client, { FunctionName: 'counter-shared', Payload: '{}' })).counter,
      );
    }

    expect(counters).toEqual([0, 1, 2]);
    const envs = host.environments().filter((e) => e.function === 'counter-shared');
    expect(envs).toHaveLength(1);
    expect(envs[0]?.tenant).toBeNull();
  });

  it('evicts idle environments after the idle timeout', async () => {
    const host = await startTestHost({ idleTimeoutMs: 100 });
    const client = lambdaClient(host);

    const first = json(
      await invoke(client, { FunctionName: 'echo', TenantId: 'BlueTenant', Payload: '{}' }),
    ) as {
      pid: number;
    };
    const gone = await eventually(() => host.environments().length === 0);
    const next = json(
      await invoke(client, { FunctionName: 'echo', TenantId: 'BlueTenant', Payload: '{}' }),
    ) as {
      calls: number;
      pid: number;
    };

    expect(gone).toBe(true);
    expect(await eventually(() => !isRunning(first.pid))).toBe(true);
    // A new environment: fresh module state, another process.
    expect(next.calls).toBe(1);
    expect(next.pid).not.toBe(first.pid);
  });

  it('makes room under the environment cap by stopping the least recently used idle environment', async () => {
    const host = await startTestHost({ maxEnvironments: 2 });
    const client = lambdaClient(host);
    const call = async (tenant: string) =>
      counterOf(await invoke(client, { FunctionName: 'counter', TenantId: tenant, Payload: '{}' }))
        .counter;

    await call('A');
    await call('B');
    await call('A'); // B is now the least recently used
    await call('C');

    expect(
      host
        .environments()
        .map((e) => e.tenant)
        .sort(),
    ).toEqual(['A', 'C']);
    expect(await call('A')).toBe(2);
    expect(await call('B')).toBe(0);
  });

  it('runs Event invocations in the background (202) and DryRun checks without running (204)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);

    const event = await invoke(client, {
      FunctionName: 'counter',
      TenantId: 'BlueTenant',
      InvocationType: 'Event',
      Payload: '{}',
    });
    const dry = await invoke(client, {
      FunctionName: 'counter',
      TenantId: 'BlueTenant',
      InvocationType: 'DryRun',
    });
    const done = await eventually(() => host.stats().functions.counter?.completed === 1);
    const after = counterOf(
      await invoke(client, { FunctionName: 'counter', TenantId: 'BlueTenant', Payload: '{}' }),
    );

    expect(event.StatusCode).toBe(202);
    expect(dry.StatusCode).toBe(204);
    expect(done).toBe(true);
    // The Event invocation ran in BlueTenant's environment: the next call sees its increment.
    expect(after.counter).toBe(1);
    expect(host.stats().functions.counter).toMatchObject({
      invocations: 2,
      event: 1,
      dryRun: 1,
      requestResponse: 1,
    });
  });

  it('serves the control endpoints over HTTP', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    await invoke(client, { FunctionName: 'counter', TenantId: 'BlueTenant', Payload: '{}' });

    const envs = (await fetch(`${host.url}/_local/environments`).then((r) => r.json())) as {
      environments: {
        function: string;
        tenant: string;
        state: string;
        invocations: number;
        idleMs: number;
        pid: number;
      }[];
    };
    const stats = (await fetch(`${host.url}/_local/stats`).then((r) => r.json())) as {
      invocations: Record<string, number>;
    };
    const health = await fetch(`${host.url}/_local/healthz`);
    const badEvict = await fetch(`${host.url}/_local/evict`, {
      method: 'POST',
      body: '{"tenant": 5}',
    });

    expect(envs.environments).toHaveLength(1);
    expect(envs.environments[0]).toMatchObject({
      function: 'counter',
      tenant: 'BlueTenant',
      state: 'idle',
      invocations: 1,
    });
    expect(envs.environments[0]?.idleMs).toBeGreaterThanOrEqual(0);
    expect(stats.invocations).toEqual({ counter: 1 });
    expect(health.status).toBe(200);
    expect(badEvict.status).toBe(400);
  });

  it('leaves no environment process behind when the host closes (grandchildren included)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    const spawned = await Promise.all(
      ['A', 'B', 'C'].map(
        async (tenant) =>
          json(
            await invoke(client, { FunctionName: 'spawner', TenantId: tenant, Payload: '{}' }),
          ) as { pid: number; grandchild: number },
      ),
    );
    await invoke(client, { FunctionName: 'counter', TenantId: 'A', Payload: '{}' });
    const pids = [...host.environments().map((e) => e.pid!), ...spawned.map((s) => s.grandchild)];
    expect(pids).toHaveLength(7);
    expect(pids.every(isRunning)).toBe(true);

    await host.close();

    expect(host.environments()).toHaveLength(0);
    expect(await eventually(() => pids.every((pid) => !isRunning(pid)))).toBe(true);
  });
});
