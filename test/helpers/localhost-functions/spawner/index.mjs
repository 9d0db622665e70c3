// Starts a grandchild process that would run for a long time, and reports its pid.
import { spawn } from 'node:child_process';
export const handler = async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], {
    stdio: 'ignore',
  });
  child.unref();
  return { pid: process.pid, grandchild: child.pid };
};
