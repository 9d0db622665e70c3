import { nearestKnown } from './env-references.js';
import type { SourceLine } from './template-sources.js';

/** A URL path a template sends to (or tells something to send to), and where. */
export interface PathReference {
  readonly path: string;
  readonly file: string;
  readonly line: number;
}

// Characters of a path, up to a quote, white space, a query, a fragment or a closing bracket.
const PATH = '/[^\\s\'"`?#)\\]},;]*';

/**
 * Where a template names a path:
 * - in a URL (`http://127.0.0.1:9090/readyz`, health check commands);
 * - as the value of a path key: Kubernetes probes `path:`, Prometheus
 *   `metrics_path:`, the scrape annotation `prometheus.io/path:`, ALB/ECS
 *   `healthCheckPath`/`HealthCheckPath`, CDK `healthCheck: { path: … }`;
 * - as a quoted string on its own (`'/readyz'`, `"/v1/functions/counter/invoke"`).
 */
const PATTERNS: readonly RegExp[] = [
  new RegExp(`\\bhttps?://[^/\\s'"\`]+(${PATH})`, 'g'),
  new RegExp(
    `(?:\\bpath|metrics_path|prometheus\\.io/path|[hH]ealth[cC]heck[pP]ath)["']?\\s*[:=]\\s*["']?(${PATH})`,
    'g',
  ),
  new RegExp(`["'\`](${PATH})["'\`]`, 'g'),
];

/** Every path-looking value of the template lines (file system paths included; see below). */
export function pathReferences(lines: readonly SourceLine[]): PathReference[] {
  const found: PathReference[] = [];
  for (const { file, line, text } of lines) {
    const paths = new Set<string>();
    for (const pattern of PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const path = match[1];
        if (path !== undefined && path.length > 1) paths.add(path);
      }
    }
    for (const path of paths) found.push({ path, file, line });
  }
  return found;
}

/** First segment of a path: `v1` of `/v1/functions/x/invoke`. */
export function firstSegment(path: string): string {
  return path.split('/')[1] ?? '';
}

/**
 * Whether a path is meant for the gateway: its first segment is one the
 * gateway serves (`v1`, `healthz`, `readyz`, `metrics`, from its routes) or
 * a misspelling of one (`readz`, `healtz`, `metric`). Everything else is
 * another program's path (`/-/ready` of Prometheus, `/api/health` of
 * Grafana, `/etc/prometheus/…`, `/tmp`) and is not checked here.
 */
export function isGatewayPath(path: string, gatewaySegments: ReadonlySet<string>): boolean {
  const segment = firstSegment(path);
  return gatewaySegments.has(segment) || nearestKnown(segment, gatewaySegments) !== undefined;
}
