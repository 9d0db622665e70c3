import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { nearestKnown } from './env-references.js';
import type { SourceLine } from './template-sources.js';

/** A URL path a template sends to (or tells something to send to), and where. */
export interface PathReference {
  readonly path: string;
  readonly file: string;
  readonly line: number;
  /** The port it is sent to, when the template says (`http://127.0.0.1:9090/readyz`). */
  readonly port?: number;
}

// Characters of a path, up to a quote, white space, a query, a fragment or a closing bracket.
const PATH = '/[^\\s\'"`?#)\\]},;]*';

// A URL: the port (if written) and the path.
const URL_PATTERN = new RegExp(`\\bhttps?://[^/\\s'"\`]*?(?::(\\d+))?(${PATH})`, 'g');

/**
 * Where a template names a path (besides URLs, `http://127.0.0.1:9090/readyz`
 * in health check commands, read with their port above):
 * - as the value of a path key: Kubernetes probes `path:`, Prometheus
 *   `metrics_path:`, the scrape annotation `prometheus.io/path:`, ALB/ECS
 *   `healthCheckPath`/`HealthCheckPath`, CDK `healthCheck: { path: … }`;
 * - as a quoted string on its own (`'/readyz'`, `"/v1/functions/counter/invoke"`).
 */
const PATTERNS: readonly RegExp[] = [
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
    // A URL's path with its port, once; the same path in other forms only when no URL had it.
    for (const match of text.matchAll(URL_PATTERN)) {
      const path = match[2];
      if (path === undefined || path.length <= 1) continue;
      paths.add(path);
      found.push({
        path,
        file,
        line,
        ...(match[1] === undefined ? {} : { port: Number(match[1]) }),
      });
    }
    const urlPaths = new Set(paths);
    for (const pattern of PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const path = match[1];
        if (path !== undefined && path.length > 1) paths.add(path);
      }
    }
    for (const path of paths) if (!urlPaths.has(path)) found.push({ path, file, line });
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

/** Which listener of the gateway a probe reaches. */
export type Listener = 'public' | 'admin';

/** A Kubernetes probe's HTTP GET, and the listener its port is, by the container's own env. */
export interface ProbeReference {
  readonly path: string;
  readonly file: string;
  readonly line: number;
  /** Undefined: the port is neither the container's PORT nor its WARMROUTE_ADMIN_PORT. */
  readonly listener: Listener | undefined;
  readonly port: string;
}

const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);

function child(node: unknown, key: string): unknown {
  return isMap(node) ? node.get(key, true) : undefined;
}

function text(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/**
 * Every `httpGet` probe of a Kubernetes workload's containers, with the
 * listener its port reaches: a port name is looked up in the container's
 * `ports`, and the number compared with the values the container's `env`
 * gives PORT and WARMROUTE_ADMIN_PORT (the artifact's own, not a
 * convention restated here).
 */
export function probeReferences(file: string, source: string): ProbeReference[] {
  if (!/\.ya?ml$/.test(file)) return [];
  const lineCounter = new LineCounter();
  const found: ProbeReference[] = [];
  for (const doc of parseAllDocuments(source, { lineCounter })) {
    if (doc.errors.length > 0) continue;
    const root = doc.contents;
    if (!WORKLOADS.has(text(child(root, 'kind')) ?? '')) continue;
    const containers = child(child(child(child(root, 'spec'), 'template'), 'spec'), 'containers');
    if (!isSeq(containers)) continue;
    for (const container of containers.items) {
      const env = new Map<string, string>();
      const envList = child(container, 'env');
      if (isSeq(envList)) {
        for (const item of envList.items) {
          const name = text(child(item, 'name'));
          const value = text(child(item, 'value'));
          if (name !== undefined && value !== undefined) env.set(name, value);
        }
      }
      const portsByName = new Map<string, string>();
      const ports = child(container, 'ports');
      if (isSeq(ports)) {
        for (const item of ports.items) {
          const name = text(child(item, 'name'));
          const number = text(child(item, 'containerPort'));
          if (name !== undefined && number !== undefined) portsByName.set(name, number);
        }
      }
      for (const probe of PROBES) {
        const httpGet = child(child(container, probe), 'httpGet');
        const pathNode = child(httpGet, 'path');
        const path = text(pathNode);
        const port = text(child(httpGet, 'port'));
        if (path === undefined || port === undefined || !isScalar(pathNode)) continue;
        const number = portsByName.get(port) ?? port;
        const listener =
          number === env.get('WARMROUTE_ADMIN_PORT')
            ? 'admin'
            : number === env.get('PORT')
              ? 'public'
              : undefined;
        const line = lineCounter.linePos(pathNode.range?.[0] ?? 0).line;
        found.push({ path, file, line, listener, port });
      }
    }
  }
  return found;
}
