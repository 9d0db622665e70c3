// Holds its environment for `sleepMs` (from the RPC payload), then answers.
export const handler = async (event) => {
  const sleepMs = typeof event?.sleepMs === 'number' ? event.sleepMs : 0;
  await new Promise((resolve) => setTimeout(resolve, sleepMs));
  return { slept: sleepMs };
};
