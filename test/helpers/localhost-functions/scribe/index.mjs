// Writes what the event lists, in order, through every way a function can
// reach its output (process.stdout/stderr, raw writes to fds 1 and 2, a child
// process inheriting them), right before returning; optionally more output
// after returning (background work), which belongs before the next START.
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';

export const handler = async (event) => {
  for (const w of event.writes ?? []) {
    const text = w.text.repeat(w.repeat ?? 1);
    switch (w.to) {
      case 'out':
        process.stdout.write(text);
        break;
      case 'err':
        process.stderr.write(text);
        break;
      case 'fd1':
        writeSync(1, text);
        break;
      case 'fd2':
        writeSync(2, text);
        break;
      case 'child':
        spawnSync(
          process.execPath,
          ['-e', `process.stdout.write(${JSON.stringify(text)}); process.stderr.write('')`],
          { stdio: 'inherit' },
        );
        break;
    }
  }
  // Runs after the runtime has sent the result: background output.
  if (event.background !== undefined) setImmediate(() => process.stderr.write(event.background));
  return { ok: true };
};
