import { URL } from 'node:url';
// One simulated execution environment as its own process: imports an example
// function (compiled library via the package self-reference) and invokes it
// `count` times for `key` with the gateway's client context, optionally
// several at once, printing every envelope as JSON lines.
const { example, key, count, stateVersion = 0 } = JSON.parse(process.argv[2] ?? '{}');
const { handler } = await import(
  new URL(`../../lambda/examples/${example}/index.mjs`, import.meta.url).href
);

const context = () => ({
  tenantId: `t-${key}`,
  clientContext: {
    custom: { warmroute: { v: 1, key, mode: 'affinity', stateVersion, wrap: true } },
  },
});
const out = [];
for (let i = 0; i < count; i++) out.push(await handler({}, context()));
// The default Redis store keeps its connection open (as it should inside Lambda): exit explicitly.
process.stdout.write(JSON.stringify(out), () => process.exit(0));
