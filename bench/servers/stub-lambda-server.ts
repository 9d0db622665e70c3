import { createServer } from 'node:http';

/**
 * A Lambda Invoke endpoint that costs nothing: every POST gets the same
 * 200 answer a warm `counter` gives, at once. Pointing the bare proxy and
 * the gateway at it isolates what the gateway itself costs per request
 * (a real function and host add nearly the same absolute time to both
 * paths; the gateway's signed request is larger to parse).
 * Prints `{ "url" }`.
 */
const payload = Buffer.from(JSON.stringify({ statusCode: 200, body: '{"counter":1}' }));
const server = createServer((req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': payload.length,
      'x-amz-executed-version': '$LATEST',
    });
    res.end(payload);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
