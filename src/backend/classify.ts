/**
 * Cold-start classification for functions that do not report their warm
 * state (the invoker asks for it when the config's `logTail` is on): Lambda
 * writes `Init Duration: … ms` in the REPORT line only for the first request
 * an environment serves. So `Init Duration` present → the environment is new
 * (`fresh`); absent → warm, but what state the function holds is unknown
 * (`unknown`). Only the last REPORT line counts: Lambda writes it after
 * everything the function printed, which may include REPORT-like text.
 */

export type LogTailState = 'fresh' | 'unknown';

export interface ReportLine {
  readonly durationMs?: number;
  readonly billedDurationMs?: number;
  readonly initDurationMs?: number;
  readonly memorySizeMb?: number;
  readonly maxMemoryUsedMb?: number;
}

// The REPORT line is tab-separated `Name: value unit` fields after the request id.
const FIELD =
  /(Init Duration|Billed Duration|Duration|Memory Size|Max Memory Used):\s*([0-9]+(?:\.[0-9]+)?)/g;

/** Parse the last REPORT line of a log tail, if there is one. */
export function parseReportLine(logTail: string | undefined): ReportLine | undefined {
  if (logTail === undefined) return undefined;
  const start = logTail.lastIndexOf('REPORT RequestId:');
  if (start === -1) return undefined;
  const end = logTail.indexOf('\n', start);
  const line = logTail.slice(start, end === -1 ? undefined : end);
  const out: { -readonly [K in keyof ReportLine]: number } = {};
  for (const m of line.matchAll(FIELD)) {
    const value = Number(m[2]);
    switch (m[1]) {
      case 'Init Duration':
        out.initDurationMs = value;
        break;
      case 'Billed Duration':
        out.billedDurationMs = value;
        break;
      case 'Duration':
        out.durationMs = value;
        break;
      case 'Memory Size':
        out.memorySizeMb = value;
        break;
      case 'Max Memory Used':
        out.maxMemoryUsedMb = value;
        break;
      default:
        break;
    }
  }
  return out;
}

export function classifyFromLogTail(logTail?: string): LogTailState {
  return parseReportLine(logTail)?.initDurationMs !== undefined ? 'fresh' : 'unknown';
}
