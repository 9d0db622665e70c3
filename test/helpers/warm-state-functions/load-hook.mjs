// Module resolution hook for the cold-start probe: reports every heavy
// package whose entry gets resolved, so a test can tell what a function
// actually loaded (CommonJS packages resolve their entry here too).
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  const m = /\/node_modules\/(ioredis|tar)\//.exec(result.url);
  if (m !== null) process.stderr.write(`WARMROUTE_PROBE_LOADED ${m[1]}\n`);
  return result;
}
