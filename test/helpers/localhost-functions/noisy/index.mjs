// Writes event.mb megabytes of log lines to stdout in one synchronous loop
// (as a chatty function does with console.log), then returns. On Lambda the
// lines stream out of the environment; they are never the function's memory.
export const handler = async (event) => {
  const line = 'x'.repeat(1023) + '\n';
  for (let i = 0; i < (event.mb ?? 0) * 1024; i++) process.stdout.write(line);
  return { ok: true };
};
