import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOG_TAIL_BYTES } from '../../src/localhost/log-window.js';
import { invoke, lambdaClient, startTestHost } from '../helpers/localhost-host.js';

/**
 * The log tail (X-Amz-Log-Type: Tail) and the routing of output between
 * invocations stay exact whatever the output and however the host's channels
 * deliver it: output written right before the result, large writes that
 * block the function on its stdout, both streams, raw fd writes, a child
 * process writing to the inherited fds, and output after the result
 * (background work), which belongs before the next invocation's START.
 */

interface Write {
  readonly to: 'out' | 'err' | 'fd1' | 'fd2' | 'child';
  readonly text: string;
  readonly repeat: number;
}

interface Step {
  readonly writes: readonly Write[];
  readonly background: string | undefined;
  readonly tail: boolean;
}

// No NUL: the runtime's markers start with one, and function output never does.
const text = fc.string({
  unit: fc.constantFrom('a', 'b', 'z', ' ', '\n', '\t', 'é', '€', '😀', '{', '"'),
  minLength: 1,
  maxLength: 40,
});

const write: fc.Arbitrary<Write> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      to: fc.constantFrom('out' as const, 'err' as const, 'fd1' as const, 'fd2' as const),
      text,
      repeat: fc.oneof(
        { weight: 4, arbitrary: fc.constant(1) },
        { weight: 2, arbitrary: fc.integer({ min: 2, max: 200 }) },
        // Hundreds of KB: more than a socket buffer, so the writer blocks on the host.
        { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 20_000 }) },
      ),
    }),
  },
  // A process start costs tens of ms: rare.
  {
    weight: 1,
    arbitrary: fc.record({ to: fc.constant('child' as const), text, repeat: fc.constant(1) }),
  },
);

const step: fc.Arbitrary<Step> = fc.record({
  writes: fc.array(write, { maxLength: 5 }),
  background: fc.option(
    text.map((t) => `bg:${t}`),
    { nil: undefined },
  ),
  tail: fc.boolean(),
});

const END_PREFIX = Buffer.from('END RequestId: ');

/** The bytes of the tail before its END line (the function's output and what precedes it). */
function beforeEnd(tail: Buffer, requestId: string): Buffer {
  const end = tail.lastIndexOf(Buffer.concat([END_PREFIX, Buffer.from(`${requestId}\n`)]));
  expect(end).toBeGreaterThanOrEqual(0);
  return tail.subarray(0, end);
}

/** `actual` is the end of `expected`, as much of it as fits in the tail. */
function expectEndOf(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBeLessThanOrEqual(LOG_TAIL_BYTES);
  if (expected.length >= actual.length) {
    expect(actual.equals(expected.subarray(expected.length - actual.length))).toBe(true);
  } else {
    expect(actual.subarray(actual.length - expected.length).equals(expected)).toBe(true);
  }
}

describe('local host log tail under any output', () => {
  it('holds exactly the invocation’s output, in order, and background output before the next START (property)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
        // A fresh environment per run: what an earlier run left behind cannot leak in.
        const tenant = `scribe-${++run}`;
        let background = '';
        for (const s of steps) {
          const out = await invoke(client, {
            FunctionName: 'scribe',
            TenantId: tenant,
            Payload: JSON.stringify({ writes: s.writes, background: s.background }),
            ...(s.tail ? { LogType: 'Tail' as const } : {}),
          });
          expect(out.FunctionError).toBeUndefined();
          const requestId = out.$metadata.requestId ?? '';
          const output = s.writes.map((w) => w.text.repeat(w.repeat)).join('');
          if (s.tail) {
            const tail = Buffer.from(out.LogResult ?? '', 'base64');
            const before = beforeEnd(tail, requestId);
            const start = `START RequestId: ${requestId} Version: $LATEST\n`;
            // pre (the previous invocation's background output), START, the output: nothing else.
            expectEndOf(before, Buffer.from(background + start + output));
          } else {
            expect(out.LogResult).toBeUndefined();
          }
          background = s.background ?? '';
        }
      }),
      { seed: 1616, numRuns: 40 },
    );
  }, 240_000);

  it('output written right before the result is in the tail every time (stress)', async () => {
    const host = await startTestHost();
    const client = lambdaClient(host);
    for (let i = 0; i < 150; i++) {
      const writes: Write[] = [
        { to: 'out', text: `o${i}-`, repeat: 1 + (i % 7) * 300 },
        { to: 'err', text: `e${i}-`, repeat: 1 + (i % 5) * 300 },
        { to: 'fd2', text: `last-${i}\n`, repeat: 1 },
      ];
      const out = await invoke(client, {
        FunctionName: 'scribe',
        TenantId: 'scribe-stress',
        Payload: JSON.stringify({ writes }),
        LogType: 'Tail',
      });
      const requestId = out.$metadata.requestId ?? '';
      const before = beforeEnd(Buffer.from(out.LogResult ?? '', 'base64'), requestId);
      expectEndOf(before, Buffer.from(writes.map((w) => w.text.repeat(w.repeat)).join('')));
    }
  }, 240_000);
});
