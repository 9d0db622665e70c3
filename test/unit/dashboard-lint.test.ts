import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../../dashboards/src/generate.js';
import { ruleGroups } from '../../dashboards/src/rules.js';
import { exportedSeries } from '../helpers/prometheus.js';

/**
 * The useful rules of Grafana's dashboard-linter, re-implemented for the generated dashboards, and
 * a PromQL check of every panel, variable and rule expression: each parses with Prometheus's own
 * grammar (lezer-promql) and names only series the gateway exports or a rule records.
 */

type Tree = ReturnType<typeof parser.parse>;
type Node = Tree['topNode'];

interface Target {
  readonly expr: string;
  readonly datasource?: { readonly uid?: string };
}
interface Panel {
  readonly title?: string;
  readonly description?: string;
  readonly datasource?: { readonly uid?: string };
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
  readonly targets?: readonly Target[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly definition?: string;
}
interface DashboardJson {
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}

const files = await generatedFiles();
const dashboards = [...files]
  .filter(([path]) => path.endsWith('.json'))
  .map(([path, text]) => [path, JSON.parse(text) as DashboardJson] as const);

/** What each variable stands for when an expression is parsed: a value no real label has. */
const literals: Readonly<Record<string, string>> = {
  job: 'lint-job',
  instance: 'lint-instance',
  function: 'lint-function',
};

/** Grafana's macros and the dashboard variables replaced as Grafana would before querying. */
function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replace(/\$(\w+)/g, (all, name: string) => literals[name] ?? all);
}

const recorded = new Set(
  ruleGroups().flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : []))),
);
/** Prometheus's own series for a scrape target: the only name not from src/metrics.ts. */
const allowed = new Set(['up']);

interface Selector {
  readonly metric: string;
  readonly matchers: ReadonlyMap<string, string>;
}

interface Parsed {
  readonly errors: readonly string[];
  readonly selectors: readonly Selector[];
  readonly ranges: number;
}

function parse(expr: string): Parsed {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  let ranges = 0;
  const text = (n: Node): string => expr.slice(n.from, n.to);
  const visit = (node: Node): void => {
    if (node.type.isError) errors.push(`parse error at ${node.from}: ${expr.slice(node.from)}`);
    if (node.name === 'MatrixSelector') ranges++;
    if (node.name === 'VectorSelector') {
      const id = node.getChild('Identifier');
      const matchers = new Map<string, string>();
      for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const name = m.getChild('LabelName');
        const value = m.getChild('StringLiteral');
        if (name && value) matchers.set(text(name), JSON.parse(text(value)) as string);
      }
      selectors.push({ metric: id ? text(id) : '', matchers });
    }
    for (let child = node.firstChild; child; child = child.nextSibling) visit(child);
  };
  visit(tree.topNode);
  return { errors, selectors, ranges };
}

const exported = await exportedSeries();
const known = (metric: string): boolean =>
  exported.has(metric) || recorded.has(metric) || allowed.has(metric);

describe.each(dashboards)('dashboards/%s', (_path, dashboard) => {
  it('has the datasource, job, instance and function variables', () => {
    // Prepare / Act: the generated dashboard. Assess: its variables, in order.
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['job', 'query'],
      ['instance', 'query'],
      ['function', 'query'],
    ]);
  });

  it('variable queries parse and name exported metrics', () => {
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const selector = /^label_values\((.+), \w+\)$/.exec(v.definition ?? '')?.[1];
      expect(selector, v.name).toBeDefined();
      const parsed = parse(substitute(selector ?? ''));
      expect(parsed.errors, v.name).toEqual([]);
      for (const s of parsed.selectors) expect(known(s.metric), s.metric).toBe(true);
    }
  });

  it.each(dashboard.panels.map((p) => [p.title ?? '(untitled)', p] as const))(
    'panel %s follows the lint rules',
    (title, panel) => {
      // Assess: what Grafana's dashboard-linter checks, and a parse of every query.
      expect(title).not.toBe('(untitled)');
      expect(panel.description ?? '', 'description').not.toBe('');
      expect(panel.fieldConfig?.defaults?.unit ?? '', 'unit').not.toBe('');
      expect(panel.datasource?.uid, 'panel datasource').toBe('${datasource}');
      expect(panel.targets?.length ?? 0, 'targets').toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid, 'target datasource').toBe('${datasource}');
        // Every range is Grafana's $__rate_interval (never a fixed window), and there is one.
        const ranges = [...target.expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
        expect(ranges.length, target.expr).toBeGreaterThan(0);
        expect(new Set(ranges), target.expr).toEqual(new Set(['$__rate_interval']));

        const parsed = parse(substitute(target.expr));
        expect(parsed.errors, target.expr).toEqual([]);
        // Each [..] seen above is a range of a range-vector selector, not text in a string.
        expect(parsed.ranges, target.expr).toBe(ranges.length);
        expect(parsed.selectors.length, target.expr).toBeGreaterThan(0);
        for (const s of parsed.selectors) {
          expect(known(s.metric), `${s.metric} in ${target.expr}`).toBe(true);
          expect(s.matchers.get('job'), `job matcher on ${s.metric}`).toBe(literals.job);
          expect(s.matchers.get('instance'), `instance matcher on ${s.metric}`).toBe(
            literals.instance,
          );
        }
      }
    },
  );
});

describe('Prometheus rules', () => {
  const rules = ruleGroups().flatMap((g) =>
    g.rules.map((r) => ['record' in r ? r.record : r.alert, r.expr] as const),
  );

  it.each(rules)('%s parses and names only exported or recorded series', (_name, expr) => {
    const parsed = parse(expr);
    expect(parsed.errors).toEqual([]);
    expect(parsed.selectors.length).toBeGreaterThan(0);
    for (const s of parsed.selectors) expect(known(s.metric), s.metric).toBe(true);
  });
});

describe('the linter', () => {
  it('sees parse errors, unknown metrics and missing matchers', () => {
    // Prepare / Act: expressions that break each rule. Assess: the parse reports each.
    expect(parse('sum(rate(warmroute_invocations_total[5m])').errors).not.toEqual([]);
    const parsed = parse('rate(warmroute_nope_total{job="j"}[5m])');
    expect(parsed.errors).toEqual([]);
    expect(parsed.selectors).toHaveLength(1);
    expect(known(parsed.selectors[0]?.metric ?? '')).toBe(false);
    expect(parsed.selectors[0]?.matchers.has('instance')).toBe(false);
  });
});
