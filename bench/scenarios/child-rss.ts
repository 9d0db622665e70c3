import { readFileSync, readdirSync } from 'node:fs';

/**
 * Resident memory of this process's direct children (the local host's
 * environments: one child process each), read from /proc. Returns
 * undefined where /proc is missing (not Linux): the figure is then left out.
 */
export function childRss(
  parentPid: number = process.pid,
): { processes: number; rssBytes: number } | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let processes = 0;
  let rssBytes = 0;
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command (field 2) may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parentPid) continue;
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
      processes++;
      rssBytes += match === null ? 0 : Number(match[1]) * 1024;
    } catch {
      // The process exited between listing and reading: it no longer uses memory.
    }
  }
  return { processes, rssBytes };
}
