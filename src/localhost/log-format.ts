/**
 * Lambda's platform log lines, byte for byte where it matters to readers of
 * the log tail (the gateway detects cold starts from `Init Duration`).
 */

export function startLine(requestId: string, version: string): string {
  return `START RequestId: ${requestId} Version: ${version}\n`;
}

export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}\n`;
}

export interface ReportFields {
  readonly requestId: string;
  readonly durationMs: number;
  readonly memorySizeMb: number;
  readonly maxMemoryUsedMb: number;
  /** Only on the first invocation an environment serves. */
  readonly initDurationMs?: number | undefined;
  /** `timeout` or `error` when the environment failed (Lambda adds `Status:`). */
  readonly status?: 'timeout' | 'error' | undefined;
  /** With `status: 'error'`: what failed (`Runtime.OutOfMemory`, `Runtime.ExitError`…). */
  readonly errorType?: string | undefined;
}

export function reportLine(f: ReportFields): string {
  // Since August 2025 Lambda bills the init phase of on-demand functions too.
  const billed = Math.max(1, Math.ceil(f.durationMs + (f.initDurationMs ?? 0)));
  let line =
    `REPORT RequestId: ${f.requestId}\tDuration: ${f.durationMs.toFixed(2)} ms\tBilled Duration: ${billed} ms\t` +
    `Memory Size: ${f.memorySizeMb} MB\tMax Memory Used: ${f.maxMemoryUsedMb} MB\t`;
  if (f.initDurationMs !== undefined) line += `Init Duration: ${f.initDurationMs.toFixed(2)} ms\t`;
  if (f.status !== undefined) line += `Status: ${f.status}\t`;
  if (f.status === 'error' && f.errorType !== undefined) line += `Error Type: ${f.errorType}\t`;
  return `${line}\n`;
}

export function timedOutMessage(timeoutSeconds: number): string {
  return `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
}

/** The line Lambda writes to the log when it stops a timed-out invocation. */
export function timeoutLine(requestId: string, timeoutSeconds: number, now: Date): string {
  return `${now.toISOString()} ${requestId} ${timedOutMessage(timeoutSeconds)}\n`;
}

/** Lambda's log stream name: `YYYY/MM/DD/[$LATEST]<32 hex>`. */
export function logStreamName(now: Date, version: string, hex32: string): string {
  const d = now.toISOString().slice(0, 10).replace(/-/g, '/');
  return `${d}/[${version}]${hex32}`;
}
