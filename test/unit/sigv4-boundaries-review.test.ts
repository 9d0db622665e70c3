import { describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { invokeOperation, protocol, sha256 } from '../helpers/sdk-reference.js';
import {
  canonicalInvokePath,
  InvokeSigner,
  invokePath,
  sha256Hex,
  type SigningIdentity,
} from '../../src/backend/fast-path/sigv4-signer.js';

/**
 * Review of the signer's caches (bb20eb4) at their edges, one signer for a
 * whole sequence: the millisecond before and after midnight UTC and a second
 * boundary, credentials rotated within one millisecond (new key id, same key
 * id with a new secret, session token replaced, added, removed), and a return
 * to an earlier identity. Each signature must equal @smithy/signature-v4's.
 */

const HOST = 'lambda.eu-west-1.amazonaws.com';
const REGION = 'eu-west-1';

async function expected(identity: SigningIdentity, date: number, fn: string): Promise<string> {
  const request = await protocol.serializeRequest(
    invokeOperation,
    {
      FunctionName: fn,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from('{}'),
      TenantId: 't-1',
    },
    { endpoint: () => Promise.resolve({ protocol: 'https:', hostname: 'example', path: '/' }) },
  );
  request.headers.host = HOST;
  const signer = new SignatureV4({
    service: 'lambda',
    region: REGION,
    credentials: identity,
    sha256,
  });
  const signed = await signer.sign(request, { signingDate: new Date(date) });
  return signed.headers.authorization as string;
}

function actual(signer: InvokeSigner, identity: SigningIdentity, date: number, fn: string): string {
  return signer.sign(identity, date, {
    canonicalPath: canonicalInvokePath(invokePath(fn)),
    host: HOST,
    contentType: 'application/octet-stream',
    payloadHash: sha256Hex(Buffer.from('{}')),
    invocationType: 'RequestResponse',
    tenantId: 't-1',
  }).authorization;
}

describe('InvokeSigner cache edges (review)', () => {
  it('signs like SignatureV4 across midnight and second boundaries and credential rotations', async () => {
    const a: SigningIdentity = { accessKeyId: 'AKIDA', secretAccessKey: 'secret-a' };
    const aRotated: SigningIdentity = { accessKeyId: 'AKIDA', secretAccessKey: 'secret-a2' };
    const b: SigningIdentity = {
      accessKeyId: 'ASIAB',
      secretAccessKey: 'secret-b',
      sessionToken: 'token-1',
    };
    const bToken2: SigningIdentity = { ...b, sessionToken: 'token-2' };
    const bNoToken: SigningIdentity = { ...b, sessionToken: undefined };
    const midnight = Date.UTC(2026, 11, 31, 0, 0, 0, 0) + 86_400_000; // 2027-01-01T00:00:00Z
    const steps: [SigningIdentity, number, string][] = [
      [a, midnight - 1, 'f'],
      [a, midnight, 'f'],
      [a, midnight - 1, 'f'], // the clock stepped back across midnight
      [aRotated, midnight - 1, 'f'],
      [a, midnight - 1, 'g'],
      [b, midnight + 999, 'g'],
      [b, midnight + 1000, 'g'],
      [bToken2, midnight + 1000, 'g'],
      [bNoToken, midnight + 1000, 'g'],
      [b, midnight + 1000, 'f'],
      [a, midnight + 1000, 'f'],
    ];
    const signer = new InvokeSigner(REGION, 'lambda');
    for (const [identity, date, fn] of steps) {
      expect(
        actual(signer, identity, date, fn),
        `${identity.accessKeyId} ${new Date(date).toISOString()}`,
      ).toBe(await expected(identity, date, fn));
    }
  });
});
