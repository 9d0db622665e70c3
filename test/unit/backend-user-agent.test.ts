import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { shortUserAgent } from '../../src/backend/fast-path/fast-invoke.js';
import { packageRoot } from '../../src/paths.js';

const ownVersion = (
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;

describe('the user agent of a signed Invoke (issue 16: smaller messages)', () => {
  it('names warmroute and the SDK version, and leaves out the OS, Node and API pairs', async () => {
    // Prepare: the SDK's own default pairs, as the fast path reads them.
    const client = new LambdaClient({ region: 'eu-west-3', customUserAgent: 'app/1.2' });
    const config = client.config as unknown as {
      defaultUserAgentProvider: () => Promise<[string, string | undefined][]>;
      customUserAgent?: [string, string | undefined][];
    };
    const defaults = await config.defaultUserAgentProvider();
    const sdkVersion = defaults.find(([name]) => name === 'aws-sdk-js')?.[1];

    // Act
    const ua = shortUserAgent(defaults, config.customUserAgent ?? []);

    // Assess
    expect(sdkVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ua).toBe(`warmroute#${ownVersion} aws-sdk-js#${String(sdkVersion)} app/1.2`);
    expect(ua).not.toMatch(/os\/|lang\/|md\/|api\/|ua#/);
    client.destroy();
  });

  it('escapes what a header value cannot carry, as the SDK does', () => {
    const ua = shortUserAgent(
      [['aws-sdk-js', '3.0.0']],
      [
        ['my app', 'v 1(x)'],
        ['flag', undefined],
      ],
    );
    expect(ua).toBe(`warmroute#${ownVersion} aws-sdk-js#3.0.0 my-app#v-1-x- flag`);
  });
});
