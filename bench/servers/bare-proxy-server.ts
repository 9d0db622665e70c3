import Fastify from 'fastify';
import { Pool } from 'undici';

/**
 * The baseline: the least a gateway can do — a Fastify route that forwards
 * the body to the Lambda Invoke API with undici, using the key as the tenant
 * ID, and returns the payload. No directory, no queue, no SDK, no metrics.
 */
const target = process.env['BENCH_LAMBDA_URL'] ?? 'http://127.0.0.1:9001';
const pool = new Pool(target, { connections: 128, pipelining: 1 });
const app = Fastify({ logger: false, bodyLimit: 6 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
  done(null, body);
});
app.post<{ Params: { name: string } }>('/v1/functions/:name/invoke', async (request, reply) => {
  const key = request.headers['x-affinity-key'];
  const res = await pool.request({
    method: 'POST',
    path: `/2015-03-31/functions/${encodeURIComponent(request.params.name)}/invocations`,
    headers: {
      'x-amz-tenant-id': typeof key === 'string' ? key : 'none',
      'content-type': 'application/octet-stream',
    },
    body: Buffer.isBuffer(request.body) ? request.body : '{}',
  });
  const payload = Buffer.from(await res.body.arrayBuffer());
  return reply
    .code(res.statusCode === 200 ? 200 : 502)
    .type('application/json')
    .send(payload);
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ url }));
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.close())
    .then(() => process.exit(0));
});
