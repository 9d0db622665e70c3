import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';

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

/**
 * `readProcessMemory` and `resetPeakMemory` for one process, on procfs files
 * opened once: every invocation resets the peak and reads it back, and an
 * open, a read or write and a close per call were a measurable part of the
 * host's work per invoke. A procfs file re-reads from offset 0 with fresh
 * values; a descriptor of a process that has ended fails (ESRCH) instead of
 * reading another process that reused the pid.
 */
export class ProcessMemoryFiles {
  private statusFd: number | undefined;
  private clearRefsFd: number | undefined;
  private readonly buffer = Buffer.allocUnsafe(4096);
  private closed = false;

  constructor(private readonly pid: number) {}

  read(): ProcessMemory | undefined {
    if (this.closed) return undefined;
    try {
      this.statusFd ??= openSync(`/proc/${this.pid}/status`, 'r');
      let text = '';
      for (let offset = 0; ;) {
        const n = readSync(this.statusFd, this.buffer, 0, this.buffer.length, offset);
        if (n === 0) break;
        text += this.buffer.toString('latin1', 0, n);
        offset += n;
      }
      return parseProcStatus(text);
    } catch {
      return undefined;
    }
  }

  resetPeak(): boolean {
    if (this.closed) return false;
    try {
      this.clearRefsFd ??= openSync(`/proc/${this.pid}/clear_refs`, 'w');
      writeSync(this.clearRefsFd, '5');
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.closed = true;
    for (const fd of [this.statusFd, this.clearRefsFd]) {
      if (fd === undefined) continue;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.statusFd = undefined;
    this.clearRefsFd = undefined;
  }
}
