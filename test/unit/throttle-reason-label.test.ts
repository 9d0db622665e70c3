import { ThrottleReason } from '@aws-sdk/client-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { THROTTLE_REASON_LABELS, throttleReasonLabel } from '../../src/invoker/metric-labels.js';

/**
 * The `reason` label of warmroute_backend_throttles_total: whatever Reason an
 * endpoint sends, one of three values, so no answer can mint a series.
 */

describe('throttleReasonLabel', () => {
  it('maps any Reason, string or not, to one of the three labels', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (reason) => {
        expect(THROTTLE_REASON_LABELS).toContain(throttleReasonLabel(reason));
      }),
    );
  });

  it('groups the concurrency and rate reasons, and leaves no Reason unattributed', () => {
    // Act
    const labels = {
      concurrent: throttleReasonLabel('ConcurrentInvocationLimitExceeded'),
      reserved: throttleReasonLabel('ReservedFunctionConcurrentInvocationLimitExceeded'),
      rate: throttleReasonLabel('FunctionInvocationRateLimitExceeded'),
      reservedRate: throttleReasonLabel('ReservedFunctionInvocationRateLimitExceeded'),
      caller: throttleReasonLabel('CallerRateLimitExceeded'),
      none: throttleReasonLabel(undefined),
      unknown: throttleReasonLabel('TenantEnvironmentLimitExceeded'),
      prototypeKey: throttleReasonLabel('toString'),
    };

    // Assess
    expect(labels).toEqual({
      concurrent: 'concurrency',
      reserved: 'concurrency',
      rate: 'rate',
      reservedRate: 'rate',
      caller: 'rate',
      none: 'unattributed',
      unknown: 'unattributed',
      prototypeKey: 'unattributed',
    });
  });

  it('gives every Reason the SDK models a concurrency or rate label (none looks like the cap)', () => {
    for (const reason of Object.values(ThrottleReason))
      expect(throttleReasonLabel(reason), reason).not.toBe('unattributed');
  });
});
