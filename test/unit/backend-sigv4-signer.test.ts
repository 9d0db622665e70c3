import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { invokeOperation, protocol, sha256 } from '../helpers/sdk-reference.js';
import {
  canonicalInvokePath,
  InvokeSigner,
  invokePath,
  sha256Hex,
  type SigningIdentity,
} from '../../src/backend/fast-path/sigv4-signer.js';

/**
 * The acceptance test of the lean signer: for many random Invoke requests,
 * the request the SDK's own `Invoke` serializer builds, signed by
 * `@smithy/signature-v4`'s `SignatureV4.sign()`, carries exactly the path,
 * `X-Amz-Date`, `X-Amz-Content-Sha256` and `Authorization` that
 * `invokePath` + `InvokeSigner` produce for the same inputs and date.
 */

/** Deterministic PRNG (mulberry32), so a failure is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;
function str(r: Rand, alphabet: readonly string[], min: number, max: number): string {
  let s = '';
  const len = min + int(r, max - min + 1);
  for (let i = 0; i < len; i++) s += pick(r, alphabet);
  return s;
}

const NAME_CHARS = Array.from("abcXYZ019-_:$.~ %!'()*+=@/&?#é日");
const TENANT_CHARS = [...Array.from('abZ9 +=/@:_-.~'), '  ', '\t', 'é'];
const TOKEN_CHARS = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=');
const REGIONS = ['us-east-1', 'eu-west-3', 'ap-southeast-2'];
const HOSTS = ['lambda.us-east-1.amazonaws.com', '127.0.0.1:9001', 'localhost:3001', '[::1]:8080'];

interface Case {
  functionName: string;
  tenantId: string | undefined;
  clientContext: string | undefined;
  logTail: boolean;
  payload: Uint8Array;
  identity: SigningIdentity;
  region: string;
  host: string;
  date: number;
}

function randomCase(r: Rand, previous: Case | undefined): Case {
  // Often reuse the previous identity/date, so the signer's caches are hit and must stay correct.
  const reuse = previous !== undefined && r() < 0.4;
  const functionName =
    r() < 0.1
      ? pick(r, ['.', '..', 'arn:aws:lambda:us-east-1:123456789012:function:f'])
      : str(r, NAME_CHARS, 1, 24);
  const payloadLen = pick(r, [0, 0, 1, 17, 300, 70_000]);
  const payload = new Uint8Array(payloadLen);
  for (let i = 0; i < payloadLen; i++) payload[i] = int(r, 256);
  const identity: SigningIdentity =
    reuse && r() < 0.7
      ? previous.identity
      : {
          accessKeyId: pick(r, ['AKIDEXAMPLE', 'ASIA' + str(r, TOKEN_CHARS.slice(0, 36), 16, 16)]),
          secretAccessKey: str(r, TOKEN_CHARS, 1, 40),
          sessionToken: pick(r, [undefined, '', str(r, TOKEN_CHARS, 20, 400)]),
        };
  const date =
    reuse && r() < 0.7
      ? previous.date + int(r, 3_000)
      : Date.UTC(
          2000 + int(r, 99),
          int(r, 12),
          1 + int(r, 28),
          int(r, 24),
          int(r, 60),
          int(r, 60),
          int(r, 1000),
        );
  return {
    functionName,
    tenantId:
      r() < 0.2
        ? undefined
        : pick(r, [' lead', 'trail ', ' both  inner ']) + str(r, TENANT_CHARS, 1, 30),
    clientContext:
      r() < 0.3
        ? undefined
        : Buffer.from(JSON.stringify({ k: str(r, TENANT_CHARS, 0, 50) })).toString('base64'),
    logTail: r() < 0.5,
    payload,
    identity,
    region: reuse ? previous.region : pick(r, REGIONS),
    host: reuse ? previous.host : pick(r, HOSTS),
    date,
  };
}

async function sdkSigned(c: Case): Promise<HttpRequest> {
  const request = await protocol.serializeRequest(
    invokeOperation,
    {
      FunctionName: c.functionName,
      InvocationType: 'RequestResponse',
      Payload: c.payload,
      ...(c.tenantId === undefined ? {} : { TenantId: c.tenantId }),
      ...(c.logTail ? { LogType: 'Tail' } : {}),
      ...(c.clientContext === undefined ? {} : { ClientContext: c.clientContext }),
    },
    { endpoint: () => Promise.resolve({ protocol: 'https:', hostname: 'example', path: '/' }) },
  );
  request.headers.host = c.host;
  const signer = new SignatureV4({
    service: 'lambda',
    region: c.region,
    credentials: c.identity,
    sha256,
  });
  return signer.sign(request, { signingDate: new Date(c.date) });
}

function leanSigned(signers: Map<string, InvokeSigner>, c: Case) {
  let signer = signers.get(c.region);
  if (signer === undefined) {
    signer = new InvokeSigner(c.region, 'lambda');
    signers.set(c.region, signer);
  }
  const path = invokePath(c.functionName);
  const payloadHash = sha256Hex(c.payload);
  const sig = signer.sign(c.identity, c.date, {
    canonicalPath: canonicalInvokePath(path),
    host: c.host,
    contentType: 'application/octet-stream',
    payloadHash,
    invocationType: 'RequestResponse',
    clientContext: c.clientContext,
    logType: c.logTail ? 'Tail' : undefined,
    tenantId: c.tenantId,
  });
  return { path, payloadHash, ...sig };
}

describe('InvokeSigner', () => {
  it('signs exactly like the SDK serializer + SignatureV4.sign() over 600 random requests', async () => {
    // Prepare
    const r = prng(0x5eed);
    const signers = new Map<string, InvokeSigner>();
    let previous: Case | undefined;
    for (let i = 0; i < 600; i++) {
      const c = randomCase(r, previous);
      previous = c;
      // Act
      const expected = await sdkSigned(c);
      const actual = leanSigned(signers, c);
      // Assess
      const where = `case ${String(i)}: ${JSON.stringify({ ...c, payload: c.payload.byteLength })}`;
      expect(actual.path, where).toBe(expected.path);
      expect(expected.headers['content-type'], where).toBe('application/octet-stream');
      expect(actual.amzDate, where).toBe(expected.headers['x-amz-date']);
      expect(actual.payloadHash, where).toBe(expected.headers['x-amz-content-sha256']);
      expect(actual.authorization, where).toBe(expected.headers.authorization);
    }
  });

  it('covers the optional headers: the SDK signs the same header set', async () => {
    // Prepare: every optional header present, including a session token.
    const c: Case = {
      functionName: 'my func:$LATEST',
      tenantId: 'a b+=/@:',
      clientContext: 'eyJhIjoxfQ==',
      logTail: true,
      payload: new Uint8Array([1, 2]),
      identity: { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'TOKEN' },
      region: 'us-east-1',
      host: '127.0.0.1:9001',
      date: Date.UTC(2026, 10, 24, 20, 7, 7, 500),
    };
    // Act
    const expected = await sdkSigned(c);
    const actual = leanSigned(new Map(), c);
    // Assess
    expect(actual.authorization).toBe(expected.headers.authorization);
    expect(actual.authorization).toContain(
      'Credential=AK/20261124/us-east-1/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-client-context;x-amz-content-sha256;x-amz-date;x-amz-invocation-type;x-amz-log-type;x-amz-security-token;x-amz-tenant-id, Signature=',
    );
    expect(actual.path).toBe('/2015-03-31/functions/my%20func%3A%24LATEST/invocations');
    expect(canonicalInvokePath(actual.path)).toBe(
      '/2015-03-31/functions/my%2520func%253A%2524LATEST/invocations',
    );
  });

  it('re-derives the signing key when the secret, the day or the identity changes', async () => {
    // Prepare: one signer used across changes (its cache must not leak the old key).
    const signers = new Map<string, InvokeSigner>();
    const base: Case = {
      functionName: 'counter',
      tenantId: 't1',
      clientContext: undefined,
      logTail: false,
      payload: new Uint8Array(0),
      identity: { accessKeyId: 'AK', secretAccessKey: 'one' },
      region: 'us-east-1',
      host: 'localhost:1',
      date: Date.UTC(2026, 0, 1, 23, 59, 59, 999),
    };
    const variants: Case[] = [
      base,
      { ...base, identity: { accessKeyId: 'AK', secretAccessKey: 'two' } },
      { ...base, identity: { accessKeyId: 'AK', secretAccessKey: 'two' }, date: base.date + 1 },
      { ...base, identity: { accessKeyId: 'AK2', secretAccessKey: 'two' }, date: base.date + 1 },
      base,
    ];
    const seen = new Set<string>();
    for (const c of variants) {
      // Act
      const actual = leanSigned(signers, c);
      // Assess
      expect(actual.authorization).toBe((await sdkSigned(c)).headers.authorization);
      seen.add(actual.authorization);
    }
    expect(seen.size).toBe(4);
  });

  it('keeps signing like SignatureV4 across sequences that hit and miss its caches (property)', async () => {
    // Prepare: one signer per region for a whole sequence, so its per-function heads, per-second
    // dates, per-token canonical forms and per-identity keys are reused and must stay right when
    // the host, token, secret or day changes under the same function.
    const text = (max: number) =>
      fc.string({
        unit: fc.constantFrom(...Array.from("aZ9-_:$.~ %!'()*+=@/&?#é日\t")),
        maxLength: max,
      });
    const identity = fc.record({
      accessKeyId: fc.constantFrom('AKIDEXAMPLE', 'ASIAEXAMPLE'),
      secretAccessKey: fc.constantFrom('one', 'two/+='),
      sessionToken: fc.option(
        fc.oneof(
          fc.constantFrom('', 'FwoGZXIvYXdzE+/=token', ' spaced  token ', 'tab\ttoken'),
          fc.base64String({ minLength: 4, maxLength: 200 }),
        ),
        { nil: undefined },
      ),
    });
    const step = fc.record({
      functionName: fc.oneof(
        fc.constantFrom(
          'counter',
          'my-fn:prod',
          'arn:aws:lambda:us-east-1:123456789012:function:f',
        ),
        text(24).filter((n) => n.length > 0),
      ),
      tenantId: fc.option(text(30), { nil: undefined }),
      clientContext: fc.option(fc.base64String({ maxLength: 400 }), { nil: undefined }),
      logTail: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 300 }),
      identity,
      region: fc.constantFrom('us-east-1', 'eu-west-3'),
      host: fc.constantFrom('lambda.us-east-1.amazonaws.com', '127.0.0.1:9001', 'localhost:3001'),
      // From the previous step: the same second, the next seconds, or across midnight.
      advanceMs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 3_000 }),
        fc.constant(86_400_000),
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.date({
          min: new Date('2001-01-01T00:00:00Z'),
          max: new Date('2098-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (start, steps) => {
          const signers = new Map<string, InvokeSigner>();
          let date = start.getTime();
          for (const s of steps) {
            date += s.advanceMs;
            const c: Case = { ...s, date };
            // Act
            const expected = await sdkSigned(c);
            const actual = leanSigned(signers, c);
            // Assess
            expect(actual.path).toBe(expected.path);
            expect(actual.amzDate).toBe(expected.headers['x-amz-date']);
            expect(actual.payloadHash).toBe(expected.headers['x-amz-content-sha256']);
            expect(actual.authorization).toBe(expected.headers.authorization);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
