import { describe, expect, it } from 'vitest';
import { ruleGroups, sloAlertGroup, sloRecordingGroup } from '../../dashboards/src/rules.js';
import { defaultThresholds } from '../../dashboards/src/thresholds.js';
import { durationBuckets } from '../../src/metrics.js';

/** Every rule's expression in the groups generated from `t`, by record or alert name. */
function exprs(t = defaultThresholds): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const group of ruleGroups(t))
    for (const rule of group.rules) {
      const name = 'record' in rule ? rule.record : rule.alert;
      out.set(name, [...(out.get(name) ?? []), rule.expr]);
    }
  return out;
}

describe('rule generator: thresholds it checks and applies', () => {
  it('refuses a latency threshold that is not a bucket boundary of the request histogram', () => {
    // Prepare: 0.3 s lies between the 0.25 and 0.5 buckets. Act / Assess: the generator throws
    // (the rule would select no series and the latency SLO would silently never fire).
    expect(durationBuckets).not.toContain(0.3);
    const t = { ...defaultThresholds, hitLatencySeconds: 0.3 };
    expect(() => sloRecordingGroup(t)).toThrow(/0\.3 is not a bucket boundary/);
    expect(() => ruleGroups(t)).toThrow(/bucket boundary/);
  });

  it.each(durationBuckets)('accepts the bucket boundary %s and selects le="%s"', (le) => {
    const t = { ...defaultThresholds, hitLatencySeconds: le };
    const slow = sloRecordingGroup(t).rules.filter((r) =>
      'record' in r ? r.record.startsWith('warmroute:hit_latency_slow:') : false,
    );
    expect(slow).toHaveLength(5);
    for (const r of slow) expect(r.expr).toContain(`le="${String(le)}"`);
  });

  it('the default threshold is a bucket boundary', () => {
    expect(durationBuckets).toContain(defaultThresholds.hitLatencySeconds);
  });

  it('takes key_busy refusals out of the availability errors, in every window', () => {
    const records = sloRecordingGroup().rules.filter((r) =>
      'record' in r ? r.record.startsWith('warmroute:availability_errors:') : false,
    );
    expect(records).toHaveLength(5);
    for (const r of records)
      expect(r.expr).toMatch(/warmroute_concurrency_rejections_total\{reason="key_busy"\}/);
  });

  it('guards both SLO pages, and only the pages, with sloMinRequestsPerSecond', () => {
    const t = { ...defaultThresholds, sloMinRequestsPerSecond: 0.37 };
    const alerts = sloAlertGroup(t).rules.flatMap((r) => ('alert' in r ? [r] : []));
    const pages = alerts.filter((a) => a.labels.severity === 'page');
    expect(pages.map((a) => a.alert).sort()).toEqual([
      'WarmrouteAvailabilityBudgetBurn',
      'WarmrouteHitLatencyBudgetBurn',
    ]);
    for (const a of pages) expect(a.expr).toMatch(/\nand on \(job\)\n.*\[1h\]\)\) > 0\.37$/);
    for (const a of alerts.filter((x) => x.labels.severity !== 'page'))
      expect(a.expr).not.toContain('0.37');
  });

  it('applies hitRatioSelector to both records WarmrouteHitRatioLow reads, and nothing else', () => {
    // Prepare: a selector excluding a fresh-mode route. Act: generate. Assess: both served
    // records carry it next to outcome="ok"; the shared hit-ratio records (dashboards) do not.
    const t = { ...defaultThresholds, hitRatioSelector: 'route!~"sandbox"' };
    const e = exprs(t);
    for (const name of [
      'warmroute_function:served_invocations:rate1h',
      'warmroute_function:served_hit_ratio:ratio_rate1h',
    ]) {
      const [expr = ''] = e.get(name) ?? [];
      expect(expr).toContain('outcome="ok", route!~"sandbox"');
      expect(expr).not.toMatch(
        /warmroute_invocations_total(?!\{[^}]*outcome="ok", route!~"sandbox")/,
      );
    }
    expect(e.get('warmroute_function:hit_ratio:ratio_rate1h')?.[0]).not.toContain('sandbox');
    expect(e.get('WarmrouteHitRatioLow')?.[0]).toContain('warmroute_function:served_hit_ratio');
    // The default selects every route: no empty matcher left behind.
    for (const [, list] of exprs())
      for (const x of list) expect(x).not.toMatch(/\{\s*,|,\s*\}|\{\}/);
  });
});
