// Makes event.mb megabytes resident for a moment, then frees them (a forced
// full GC returns a large Buffer's memory to the OS), so the process's peak
// lies in this invocation while what it holds afterwards is small again.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

// Allocated and touched here, so nothing outlives the call but its size.
const touch = (mb) => Buffer.alloc(mb * 1024 * 1024, 1).length;

export const handler = async (event) => {
  const touched = touch(event.mb ?? 0);
  gc();
  // Large backing stores are released by a background task after the GC.
  await new Promise((r) => setTimeout(r, 50));
  return { touchedMb: touched / 1024 / 1024 };
};
