import type { Transport, TransportRequest, TransportResponse } from '../../src/sdk/transport.js';

/** A transport double for client unit tests: records requests and answers with `respond`. */
export function fakeTransport(
  respond: (request: TransportRequest) => Promise<TransportResponse> = () =>
    Promise.resolve({
      body: Buffer.from('{"ok":true}'),
      state: 'hit',
      tenantId: 'wr-t',
      envId: 'env-1',
      attempts: 1,
    }),
): Transport & { readonly requests: TransportRequest[]; closed: number } {
  const requests: TransportRequest[] = [];
  const transport = {
    kind: 'http' as const,
    requests,
    closed: 0,
    invoke(request: TransportRequest): Promise<TransportResponse> {
      requests.push(request);
      return respond(request);
    },
    close(): Promise<void> {
      transport.closed++;
      return Promise.resolve();
    },
  };
  return transport;
}
