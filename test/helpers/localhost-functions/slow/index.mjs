// Sleeps event.sleepMs (default 10 s): for timeouts and concurrency limits.
let counter = 0;
export const handler = async (event, context) => {
  const n = counter++;
  console.log('slow start', n);
  await new Promise((resolve) => setTimeout(resolve, event.sleepMs ?? 10_000));
  return { counter: n, tenantId: context.tenantId };
};
