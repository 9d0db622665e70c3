import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dashboards, generatedFiles } from '../../dashboards/src/generate.js';
import { ruleGroups } from '../../dashboards/src/rules.js';
import { exportedSeries } from '../helpers/prometheus.js';

const generated = [...(await generatedFiles())];
const dashboardsDir = fileURLToPath(new URL('../../dashboards/', import.meta.url));

describe('generated dashboards and Prometheus rules', () => {
  it.each(generated)('dashboards/%s is what the generator writes', async (path, text) => {
    // Prepare / Act: the generator's output. Assess: the committed file is identical.
    // After changing dashboards/src, regenerate with `-u` (see the files' header).
    await expect(text).toMatchFileSnapshot(dashboardsDir + path);
  });

  it('names only metrics the gateway exports, and recording rules defined here', async () => {
    const exported = await exportedSeries();
    const recorded = new Set(
      ruleGroups().flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))),
    );
    const unknown: string[] = [];
    for (const group of ruleGroups()) {
      for (const rule of group.rules) {
        // Identifiers that are series names: metric names (warmroute_*, up) and recorded ones (a:b:c).
        for (const name of rule.expr.match(
          /\b[a-z_][a-z0-9_]*(?::[a-z0-9_]+)+\b|\bwarmroute_[a-z0-9_]+\b/g,
        ) ?? []) {
          if (name.includes(':') ? !recorded.has(name) : !exported.has(name)) unknown.push(name);
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it('every recorded name follows level:metric:operations and every alert has a runbook anchor', () => {
    // The runbook_url anchor (#<alert in lower case>) is the heading `## <alert>`.
    const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
    for (const group of ruleGroups())
      for (const rule of group.rules) {
        if ('record' in rule)
          expect(rule.record).toMatch(/^warmroute(_function)?:[a-z0-9_]+:[a-z0-9_]+$/);
        else {
          expect(rule.alert).toMatch(/^Warmroute[A-Za-z]+$/);
          expect(runbook).toMatch(new RegExp(`^## ${rule.alert}$`, 'm'));
        }
      }
  });

  it('docs/dashboards.md describes every panel of every dashboard', () => {
    // Prepare: the doc. Act / Assess: each panel title is a bullet of its dashboard's section.
    const doc = readFileSync(new URL('../../docs/dashboards.md', import.meta.url), 'utf8');
    for (const [, dashboard] of dashboards())
      for (const panel of dashboard.panels ?? [])
        if ('title' in panel) expect(doc).toContain(`- **${panel.title ?? ''}**:`);
  });
});
