// Holds event.mb megabytes in Buffers (outside V8's heap, so only a limit on
// the whole process catches it), touching every page so it is resident.
const held = [];
export const handler = async (event) => {
  const chunkMb = 8;
  for (let i = 0; i < (event.mb ?? 0) / chunkMb; i++) {
    held.push(Buffer.alloc(chunkMb * 1024 * 1024, 1));
    // Yield now and then, as real work does (and so the host's sampler runs).
    if (i % 4 === 3) await new Promise((r) => setTimeout(r, 5));
  }
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { heldMb: held.length * chunkMb };
};
