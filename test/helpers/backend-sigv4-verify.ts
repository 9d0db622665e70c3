import type { IncomingHttpHeaders } from 'node:http';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, ChecksumConstructor } from '@smithy/types';

/**
 * Server-side SigV4 check, as Lambda does it: rebuild the request from what
 * arrived on the wire (path, the headers listed in SignedHeaders, body, the
 * X-Amz-Date), sign it with `@smithy/signature-v4` and the caller's secret,
 * and return the Authorization the server expects. Equal to the received one
 * means the request would be accepted.
 */

const probe = new LambdaClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
const sha256 = probe.config.sha256 as ChecksumConstructor;

export interface WireRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

function amzDateToDate(amzDate: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (m === null) throw new Error(`bad x-amz-date ${amzDate}`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

export async function expectedAuthorization(
  wire: WireRequest,
  identity: AwsCredentialIdentity,
  region: string,
): Promise<string> {
  const received = String(wire.headers.authorization);
  const signedNames = /SignedHeaders=([^,]+),/.exec(received)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = wire.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const [path = '', query] = wire.url.split('?');
  if (query !== undefined) throw new Error('Invoke requests carry no query string');
  const request = new HttpRequest({
    method: wire.method,
    protocol: 'http:',
    hostname: 'unused',
    path,
    headers,
    body: wire.body,
  });
  const signer = new SignatureV4({ service: 'lambda', region, credentials: identity, sha256 });
  const signed = await signer.sign(request, {
    signingDate: amzDateToDate(String(wire.headers['x-amz-date'])),
  });
  return String(signed.headers.authorization);
}
