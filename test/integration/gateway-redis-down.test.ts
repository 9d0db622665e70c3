import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startOwnRedis, type OwnRedis } from '../helpers/redis.js';

interface CounterBody {
  counter: number;
  tenantId: string;
}

describe('gateway: Redis killed under load', () => {
  let redis: OwnRedis;
  let gw: TestGateway;
  beforeAll(async () => {
    redis = await startOwnRedis();
    gw = await startTestGateway({ REDIS_URL: redis.url, WARMROUTE_L1_TTL_MS: '50' });
  });
  afterAll(async () => {
    await gw.close();
    await redis.stop();
  });

  it('keeps answering on the same tenant IDs; no request fails because Redis is down', async () => {
    // Prepare: 8 keys, each warmed once so its tenant is known.
    const keys = Array.from({ length: 8 }, (_, i) => `redis-down-${i}`);
    const tenants = new Map<string, string>();
    const failures: string[] = [];
    const send = async (key: string): Promise<CounterBody | undefined> => {
      const res = await request(`${gw.url}/`, { headers: { 'x-affinity-key': key } });
      const text = await res.body.text();
      if (res.statusCode !== 200) {
        failures.push(`${res.statusCode} ${text}`);
        return undefined;
      }
      return JSON.parse(text) as CounterBody;
    };
    for (const key of keys) {
      const body = await send(key);
      if (body !== undefined) tenants.set(key, body.tenantId);
    }

    // Act: a steady load from 8 workers; Redis is killed half-way (the L1 TTL
    // is 50 ms, so most requests after the kill must go past L1 to the store).
    let sent = 0;
    const seen = new Map<string, number[]>();
    const worker = async (key: string): Promise<void> => {
      for (let i = 0; i < 40; i++) {
        const body = await send(key);
        sent++;
        if (body === undefined) continue;
        expect(body.tenantId).toBe(tenants.get(key));
        seen.set(key, [...(seen.get(key) ?? []), body.counter]);
        if (sent === 120) await redis.kill();
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await Promise.all(keys.map((k) => worker(k)));

    // Assess: nothing failed, readiness says degraded, counters kept counting in one environment per key.
    expect(failures).toEqual([]);
    expect(sent).toBe(320);
    const ready = await request(`${gw.url}/readyz`);
    const readyBody = (await ready.body.json()) as { status: string };
    expect(ready.statusCode).toBe(200);
    expect(readyBody.status).toBe('degraded');
    for (const key of keys) {
      const counters = seen.get(key) ?? [];
      expect(counters).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }

    // Redis back: mutations work again without restarting the gateway.
    await redis.restart();
    await expect
      .poll(
        async () => {
          const res = await request(`${gw.url}/readyz`);
          return ((await res.body.json()) as { status: string }).status;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe('ok');
  });
});
