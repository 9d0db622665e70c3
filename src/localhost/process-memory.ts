import { closeSync, openSync, readSync, writeSync } from 'node:fs';

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

/** KiB → MB as Lambda's REPORT line shows it (rounded up: 1 KiB used is 1 MB used). */
export function kbToMb(kb: number): number {
  return Math.ceil(kb / 1024);
}

/**
 * A process's memory from `/proc/<pid>/status` (Linux), and a reset of its
 * peak: writing "5" to `/proc/<pid>/clear_refs` (Linux 4.0+) sets VmHWM to
 * VmRSS, so the next reading is the peak from then on. On procfs files
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
      // A short read is the end: procfs builds the whole text for each read
      // at an offset, so asking again for the empty rest would build it twice.
      for (let offset = 0; ;) {
        const n = readSync(this.statusFd, this.buffer, 0, this.buffer.length, offset);
        text += this.buffer.toString('latin1', 0, n);
        offset += n;
        if (n < this.buffer.length) break;
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
