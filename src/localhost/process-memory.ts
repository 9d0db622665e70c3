import { readFileSync, writeFileSync } from 'node:fs';

/** Resident memory of one process, in KiB (what Lambda's memory limit counts). */
export interface ProcessMemory {
  /** Resident set size now (VmRSS). */
  readonly rssKb: number;
  /** Highest resident set size since the process started or its peak was last reset (VmHWM). */
  readonly peakKb: number;
}

/** Parses `/proc/<pid>/status` text; undefined if it has no VmRSS line (a zombie, another OS). */
export function parseProcStatus(text: string): ProcessMemory | undefined {
  const rss = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (rss?.[1] === undefined) return undefined;
  const rssKb = Number(rss[1]);
  const hwm = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text);
  const peakKb = hwm?.[1] === undefined ? rssKb : Math.max(rssKb, Number(hwm[1]));
  return { rssKb, peakKb };
}

/**
 * The process's memory from procfs (Linux). Undefined where there is no
 * procfs or the process is gone: callers then fall back to what the
 * runtime reports about itself. A synchronous read of a procfs file costs
 * microseconds and never blocks on a disk.
 */
export function readProcessMemory(pid: number): ProcessMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStatus(text);
}

/**
 * Resets the kernel's high-water mark (VmHWM) to the process's current
 * resident size, so the next reading is the peak from now on: one
 * invocation's peak, not the process's lifetime one. Linux (4.0+) does this
 * for a write of "5" to `/proc/<pid>/clear_refs`. False where that is not
 * possible (another OS, no permission, the process gone): callers must then
 * not trust VmHWM to mean "since now".
 */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** KiB → MB as Lambda's REPORT line shows it (rounded up: 1 KiB used is 1 MB used). */
export function kbToMb(kb: number): number {
  return Math.ceil(kb / 1024);
}
