import { Invoke$, LambdaClient, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import type { ChecksumConstructor, HttpRequest } from '@smithy/types';

/**
 * The unmodified SDK's own Invoke serialization and SHA-256, for tests that
 * check the fast path's SigV4 signer against @smithy/signature-v4 on the
 * request the SDK itself would build.
 */

// `Invoke$` is the SDK's static schema: [kind, namespace, name, traits, input, output].
const [, namespace, name, traits, input, output] = Invoke$ as unknown as [
  number,
  string,
  string,
  unknown,
  unknown,
  unknown,
];
export const invokeOperation = { name, namespace, traits, input, output };

interface ProtocolView {
  serializeRequest(
    operation: typeof invokeOperation,
    input: InvokeCommandInput,
    context: {
      endpoint: () => Promise<{ protocol: string; hostname: string; path: string; port?: number }>;
    },
  ): Promise<HttpRequest>;
}

const client = new LambdaClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
});
export const protocol = client.config.protocol as unknown as ProtocolView;
export const sha256 = client.config.sha256 as ChecksumConstructor;
