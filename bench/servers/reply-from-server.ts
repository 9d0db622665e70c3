import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

/**
 * A peer of the gateway built from off-the-shelf parts: Fastify with
 * @fastify/reply-from forwarding the request to the Lambda Invoke API with
 * the key as the tenant ID, the same work as bench/servers/bare-proxy-server.ts
 * (no directory, no queue, no signing), the way a team would write the hop
 * with the plugin. The body is passed on as the request stream (reply-from's
 * documented pass-through: a parsed JSON body would be serialized again).
 * Prints `{ "url" }`.
 */
const target = process.env['BENCH_LAMBDA_URL'] ?? 'http://127.0.0.1:9001';
const app = Fastify({ logger: false, bodyLimit: 6 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_req, payload, done) => {
  done(null, payload);
});
await app.register(replyFrom, {
  base: target,
  undici: { connections: 128, pipelining: 1 },
  disableRequestLogging: true,
});
app.post<{ Params: { name: string } }>('/v1/functions/:name/invoke', (request, reply) => {
  const key = request.headers['x-affinity-key'];
  return reply.from(
    `/2015-03-31/functions/${encodeURIComponent(request.params.name)}/invocations`,
    {
      rewriteRequestHeaders: (_req, headers) => ({
        ...headers,
        'x-amz-tenant-id': typeof key === 'string' ? key : 'none',
        'content-type': 'application/octet-stream',
      }),
    },
  );
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ url }));
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
