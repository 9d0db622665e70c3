import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago on 127.0.0.1, for a process that
 * needs its port before it starts (redis-server). Tests use it too, through
 * test/helpers/ports.ts (bench code cannot import from test/: the build
 * leaves test/ out).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}
