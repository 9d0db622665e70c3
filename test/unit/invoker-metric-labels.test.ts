import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InvokeResult } from '../../src/backend/backend.js';
import { WarmrouteError } from '../../src/errors.js';
import { INVOCATION_STATES } from '../../lambda/protocol.js';
import {
  ERROR_TYPE_LABELS,
  MAX_FUNCTION_LABELS,
  MISS_REASON_LABELS,
  OTHER_LABEL,
  REPORT_FIELDS,
} from '../../src/invoker/metric-labels.js';
import {
  envelope,
  functionError,
  invokerFixture,
  parseExposition,
} from '../helpers/invoker-fixture.js';

/**
 * Property (issue 11, defect 3): whatever functions report and whatever
 * function names clients send, the exposition text parses, every label a
 * function or client controls takes a value from its allowed set or
 * `other`, the number of series stays under a fixed bound, and the values the
 * invoker hands to response headers are validated ones.
 */

const CAP = MAX_FUNCTION_LABELS;
/**
 * Slots of the cap left to each run's own names: the names before them fill
 * the rest, so a run of a few dozen calls meets the cap.
 */
const FREE_SLOTS = 5;
const allowed: Readonly<Record<string, (v: string) => boolean>> = {
  state: (v) => (INVOCATION_STATES as readonly string[]).includes(v),
  type: (v) => ERROR_TYPE_LABELS.has(v) || v === OTHER_LABEL,
  reason: (v) => MISS_REASON_LABELS.has(v) || v === OTHER_LABEL,
  field: (v) => (REPORT_FIELDS as readonly string[]).includes(v),
  route: (v) => v === 'rpc',
  outcome: (v) => ['ok', 'function_error', 'error', 'cancelled'].includes(v),
};

/** Anything at all, or (often) a near miss of the real thing. */
const anyValue = fc.oneof(fc.anything(), fc.string(), fc.double(), fc.integer());
const stateArb = fc.oneof(
  fc.constantFrom('hit', 'rehydrated', 'fresh', 'bogus', 'HIT', ''),
  anyValue,
);
const reportArb = fc.oneof(
  fc.record(
    {
      v: fc.constant(1),
      env: fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), fc.string(), anyValue),
      state: stateArb,
      reason: fc.oneof(
        fc.constantFrom('first-use', 'released', 'stale', 'conflict'),
        fc.string(),
        anyValue,
      ),
      stateVersion: fc.oneof(fc.nat(), fc.integer(), fc.double(), anyValue),
      rehydrateMs: fc.oneof(fc.nat({ max: 5_000 }), fc.double(), anyValue),
      conflicts: fc.oneof(fc.nat({ max: 3 }), anyValue),
      coldStart: fc.oneof(fc.boolean(), anyValue),
    },
    { requiredKeys: ['v'] },
  ),
  fc.record({ v: fc.constant(1) }).map((r) => r as Record<string, unknown>),
);
const errorTypeArb = fc.oneof(
  fc.constantFrom('TypeError', 'Runtime.ExitError', 'Sandbox.Timedout', 'Runtime.Made.Up'),
  fc.string(),
  fc.string({ unit: 'binary' }),
  anyValue,
);
const answerArb = fc.oneof(
  reportArb.map(
    (r): (() => InvokeResult) =>
      () =>
        envelope(r),
  ),
  errorTypeArb.map(
    (t): (() => InvokeResult) =>
      () =>
        functionError(t),
  ),
);
const functionNameArb = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/),
  fc.string({ minLength: 1, maxLength: 80 }),
);

describe('labels a function or client controls', () => {
  it('stay in their allowed sets, bounded in number, and the exposition parses', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(functionNameArb, answerArb), { minLength: 1, maxLength: 60 }),
        async (calls) => {
          // Prepare
          const f = invokerFixture();
          const firstNames: string[] = [];
          // Failed calls: they take a slot like any other and add only two series each.
          f.answer(() => {
            throw new WarmrouteError('WR_ERR_BACKEND', ['filler']);
          });
          for (let i = 0; i < CAP - FREE_SLOTS; i++) {
            const filler = `filler-${i}`;
            await f.invoke(filler).catch(() => undefined);
            firstNames.push(filler);
          }

          // Act
          for (const [name, answer] of calls) {
            f.answer(answer);
            let result;
            try {
              result = await f.invoke(name);
            } catch {
              continue; // a name Lambda could not have: refused before invoking
            }
            if (!firstNames.includes(name)) firstNames.push(name);
            // What the routes put in x-affinity-state / x-affinity-env.
            expect(INVOCATION_STATES).toContain(result.state);
            if (result.envId !== undefined) expect(result.envId).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
          }

          // Assess
          const samples = parseExposition(await f.metrics.registry.metrics());
          const functions = new Set<string>();
          // Collected, then asserted once: an expect per label of every sample is most of the run time.
          const outside: string[] = [];
          for (const s of samples) {
            for (const [label, value] of Object.entries(s.labels)) {
              if (label === 'function') functions.add(value);
              else if (label === 'le') continue;
              else if (allowed[label]?.(value) !== true)
                outside.push(`${s.name}{${label}="${value}"}`);
            }
          }
          expect(outside).toEqual([]);
          const admitted = new Set([...firstNames.slice(0, CAP), OTHER_LABEL]);
          for (const name of functions) expect(admitted).toContain(name);
          // A fixed bound: series per metric ≤ product of its bounded label sets.
          const series = new Set(
            samples
              .filter((s) => s.name !== 'warmroute_request_duration_seconds_bucket')
              .map((s) => `${s.name}${JSON.stringify(s.labels)}`),
          );
          expect(series.size).toBeLessThanOrEqual(
            (CAP + 1) *
              (4 * 4 +
                ERROR_TYPE_LABELS.size +
                1 +
                MISS_REASON_LABELS.size +
                1 +
                REPORT_FIELDS.length +
                16) +
              16,
          );
          for (const o of f.outcomes) {
            expect(o.envId === '' || /^[A-Za-z0-9._:-]{1,64}$/.test(o.envId)).toBe(true);
            expect(o.stateVersion === undefined || Number.isSafeInteger(o.stateVersion)).toBe(true);
          }
        },
      ),
      { seed: 20261204, numRuns: 150 },
    );
  });
});
