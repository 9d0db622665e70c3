import { describe, it, expect } from 'vitest';
import { classifyFromLogTail, parseReportLine } from '../../src/backend/classify.js';

const cold =
  'START RequestId: 1 Version: $LATEST\nEND RequestId: 1\nREPORT RequestId: 1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\tInit Duration: 150.55 ms\t\n';
const warm =
  'START RequestId: 2 Version: $LATEST\nEND RequestId: 2\nREPORT RequestId: 2\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 65 MB\t\n';

describe('classifyFromLogTail', () => {
  it('reads Init Duration in the REPORT line as a cold start', () => {
    expect(classifyFromLogTail(cold)).toBe('fresh');
  });
  it('reports a warm invoke as unknown state', () => {
    expect(classifyFromLogTail(warm)).toBe('unknown');
    expect(classifyFromLogTail(undefined)).toBe('unknown');
    expect(classifyFromLogTail('no report here')).toBe('unknown');
  });
  it('parses the figures of the last REPORT line', () => {
    expect(parseReportLine(cold)).toEqual({
      durationMs: 12.34,
      billedDurationMs: 13,
      memorySizeMb: 128,
      maxMemoryUsedMb: 64,
      initDurationMs: 150.55,
    });
    expect(parseReportLine(cold + warm)?.initDurationMs).toBeUndefined();
  });
});
