/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG, period
 * 2^32, passes the usual statistical batteries for this use. Chosen over
 * Math.random because a bench run must be repeatable from its seed, and over
 * xoshiro because one 32-bit word of state is plenty for 10^5 draws.
 * Returns a function giving uniform floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
