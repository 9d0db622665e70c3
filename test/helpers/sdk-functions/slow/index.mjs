// Sleeps `event.ms` milliseconds, then answers: for deadlines and busy keys.
let calls = 0;

export const handler = async (event, context) => {
  const ms = Math.min(Number(event.ms ?? 0), 9_000);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { slept: ms, calls: ++calls, tenantId: context.tenantId };
};
