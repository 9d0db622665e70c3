import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DockerfileParser } from 'dockerfile-ast';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultThresholds } from '../../dashboards/src/thresholds.js';
import { GatewayRedis } from '../../deploy/cdk/lib/redis.js';
import { loadConfig } from '../../src/config/load-config.js';
import { defaults, FunctionSettingsSchema } from '../../src/config/schema.js';
import { SHUTDOWN_BACKSTOP_MS } from '../../src/shutdown-backstop.js';
import type { DirectoryHealth } from '../../src/directory/types.js';
import { registerHealthRoutes } from '../../src/http/routes/health.js';
import { examplesDir, packageRoot } from '../../src/paths.js';
import { imageEnv } from './helpers/container-conventions.js';
import { copyK8sTree, kustomize, type K8sObject } from './helpers/k8s-render.js';
import { unknownK8sFields } from './helpers/k8s-known-fields.js';
import { validateK8sObject } from './helpers/k8s-validate.js';

/**
 * deploy/k8s (issue 14): `kubectl kustomize` renders the base and the example overlay, every
 * rendered object validates against its Kubernetes schema, and the manifests keep the promises
 * the gateway relies on. Values that must agree with the gateway are read from its sources
 * (config defaults, the health routes, the example functions file), not restated here.
 */

// The shapes this test reads from the rendered YAML (only the fields it asserts on).
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
interface HttpGetProbe {
  httpGet: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}
interface Container {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  env: EnvVar[];
  readinessProbe?: HttpGetProbe;
  livenessProbe?: HttpGetProbe;
  startupProbe?: HttpGetProbe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown } };
  resources?: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
  };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  topologySpreadConstraints?: {
    topologyKey: string;
    whenUnsatisfiable: string;
    labelSelector: { matchLabels: Record<string, string> };
  }[];
  volumes?: { name: string; emptyDir?: unknown }[];
}
interface DeploymentShape {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec;
    };
  };
}
interface ServiceShape {
  metadata: { name: string };
  spec: {
    type?: string;
    selector: Record<string, string>;
    ports: { name?: string; port: number; targetPort: string | number }[];
  };
}

const DEPLOYMENT_NAME = 'warmroute-gateway';
const BASE = join(packageRoot, 'deploy', 'k8s', 'base');
/** The gateway's settings that are secrets: never a literal value, always a Secret reference. */
const SECRET_SETTINGS = ['WARMROUTE_SECRET', 'WARMROUTE_ADMIN_TOKEN', 'WARMROUTE_REDIS_PASSWORD'];
const SECRETS_EXAMPLE = join(
  packageRoot,
  'deploy',
  'k8s',
  'overlays',
  'example',
  'secrets.example.env',
);
/**
 * What ElastiCache accepts as an AUTH token (the overlay's WARMROUTE_REDIS_PASSWORD): 16 to 128
 * printable ASCII characters, the only non-alphanumeric ones ! & # $ ^ < > -
 * (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html).
 */
const ELASTICACHE_AUTH_TOKEN = /^[A-Za-z0-9!&#$^<>-]{16,128}$/;

const PROMTOOL_HINT =
  '`apt-get install -y --no-install-recommends prometheus` (Debian; .ci/run does this)';

/** One Prometheus relabel_config, the fields the README's rule uses. */
interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

/**
 * Prometheus' `replace` relabel action (its default): the source labels' values joined by the
 * separator, matched by the fully anchored regex; on a match, target_label gets the replacement
 * with $1… expanded. Any other action throws: this evaluates only what the README ships.
 */
function relabel(
  labels: Record<string, string>,
  rules: readonly RelabelConfig[],
): Record<string, string> {
  const out = { ...labels };
  for (const rule of rules) {
    if ((rule.action ?? 'replace') !== 'replace')
      throw new Error(`unsupported action ${String(rule.action)}`);
    const value = (rule.source_labels ?? []).map((l) => out[l] ?? '').join(rule.separator ?? ';');
    const match = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`).exec(value);
    if (match === null || rule.target_label === undefined) continue;
    out[rule.target_label] = (rule.replacement ?? '$1').replace(
      /\$(\d+)/g,
      (_m, i: string) => match[Number(i)] ?? '',
    );
  }
  return out;
}

/** Prometheus' name for a Kubernetes label in service discovery meta labels. */
function metaLabelName(prefix: string, label: string): string {
  return `${prefix}${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** The job the rules and dashboards select, from dashboards/src/thresholds.ts. */
const EXPECTED_JOB = /job="([^"]+)"/.exec(defaultThresholds.jobSelector)?.[1] ?? '';

/** `NAME=value` lines of an env file, comments skipped. */
function envFileEntries(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function only(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${name ?? ''}, rendered ${found.length}`);
  return found[0] as K8sObject;
}
function deploymentOf(objects: readonly K8sObject[]): DeploymentShape {
  return only(objects, 'Deployment', DEPLOYMENT_NAME) as unknown as DeploymentShape;
}
function gatewayContainer(objects: readonly K8sObject[]): Container {
  const [container, ...others] = deploymentOf(objects).spec.template.spec.containers;
  if (container === undefined || others.length > 0)
    throw new Error('the Deployment must run exactly one container, the gateway');
  return container;
}
function envValue(container: Container, name: string): string | undefined {
  return container.env.find((e) => e.name === name)?.value;
}
/** The containerPort a probe's or Service's named (or numbered) port resolves to. */
function resolvePort(container: Container, port: string | number): number {
  const declared =
    typeof port === 'number'
      ? container.ports.find((p) => p.containerPort === port)
      : container.ports.find((p) => p.name === port);
  if (declared === undefined)
    throw new Error(`port ${String(port)} is not a declared containerPort`);
  return declared.containerPort;
}
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return (
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v)
  );
}
/**
 * The environment the gateway process sees: the image's ENV (deploy/docker/Dockerfile), overlaid
 * with the container's literals, ConfigMap keys and Secret keys resolved.
 */
function resolvedEnv(objects: readonly K8sObject[]): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv() };
  for (const e of gatewayContainer(objects).env) {
    const cm = e.valueFrom?.configMapKeyRef;
    const sk = e.valueFrom?.secretKeyRef;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (cm !== undefined) {
      const data = (
        only(objects, 'ConfigMap', cm.name) as unknown as { data: Record<string, string> }
      ).data;
      const value = data[cm.key];
      if (value === undefined) throw new Error(`ConfigMap ${cm.name} has no key ${cm.key}`);
      env[e.name] = value;
    } else if (sk !== undefined) {
      const data = (only(objects, 'Secret', sk.name) as unknown as { data: Record<string, string> })
        .data;
      const value = data[sk.key];
      if (value === undefined) throw new Error(`Secret ${sk.name} has no key ${sk.key}`);
      env[e.name] = Buffer.from(value, 'base64').toString('utf8');
    } else throw new Error(`env ${e.name} has neither a value nor a ConfigMap/Secret reference`);
  }
  return env;
}

describe('deploy/k8s (kubectl kustomize + kubernetes-models)', () => {
  let base: Awaited<ReturnType<typeof kustomize>>;
  let overlay: Awaited<ReturnType<typeof kustomize>>;
  let overlayWithExampleSecrets: Awaited<ReturnType<typeof kustomize>>;
  let overlayWithoutSecrets: Awaited<ReturnType<typeof kustomize>>;
  /** The base with components/prometheus-operator, as an overlay that adds it renders. */
  let withOperator: Awaited<ReturnType<typeof kustomize>>;
  /** The secrets.env the rendered `overlay` was given: fresh random values, as a user makes them. */
  let generatedSecrets: Record<string, string> = {};
  let removeCopy: () => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    // Prepare: the overlay as a user renders it, once right after `cp secrets.example.env
    // secrets.env` (placeholders) and once with every value replaced by random ones (a copy of
    // the tree: the checkout's own secrets.env, if any, is never read).
    const copy = await copyK8sTree(packageRoot);
    removeCopy = copy.remove;
    const overlayDir = join(copy.dir, 'overlays', 'example');
    const secretsEnv = join(overlayDir, 'secrets.env');
    // Act
    base = await kustomize(BASE);
    const operatorDir = join(copy.dir, 'overlays', 'with-prometheus-operator');
    await mkdir(operatorDir);
    await writeFile(
      join(operatorDir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources: [../../base]',
        'components: [../../components/prometheus-operator]',
        '',
      ].join('\n'),
    );
    withOperator = await kustomize(operatorDir);
    overlayWithoutSecrets = await kustomize(overlayDir);
    await copyFile(join(overlayDir, 'secrets.example.env'), secretsEnv);
    overlayWithExampleSecrets = await kustomize(overlayDir);
    generatedSecrets = Object.fromEntries(
      Object.keys(envFileEntries(await readFile(secretsEnv, 'utf8'))).map((name) => [
        name,
        randomBytes(32).toString('hex'),
      ]),
    );
    await writeFile(
      secretsEnv,
      Object.entries(generatedSecrets)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    overlay = await kustomize(overlayDir);
  }, 120_000);
  afterAll(async () => {
    await removeCopy();
  });

  describe('rendering and schemas', () => {
    it('renders the base and the example overlay with exit 0', () => {
      // Assess
      expect(base.stderr).toBe('');
      expect(base.code).toBe(0);
      expect(overlay.stderr).toBe('');
      expect(overlay.code).toBe(0);
      expect(overlayWithExampleSecrets.code).toBe(0);
    });

    it('refuses to render the overlay until secrets.env exists (no deploy with example secrets)', () => {
      // Assess
      expect(overlayWithoutSecrets.code).not.toBe(0);
      expect(overlayWithoutSecrets.stderr).toContain('secrets.env');
    });

    it('renders the expected objects', () => {
      // Assess
      const kinds = (objects: readonly K8sObject[]): string[] =>
        objects
          .map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '-<hash>')}`)
          .sort();
      const common = [
        'ConfigMap/warmroute-gateway-config-<hash>',
        'Deployment/warmroute-gateway',
        'HorizontalPodAutoscaler/warmroute-gateway',
        'NetworkPolicy/warmroute-gateway',
        'PodDisruptionBudget/warmroute-gateway',
        'Service/warmroute-gateway',
        'Service/warmroute-gateway-admin',
        'ServiceAccount/warmroute-gateway',
      ];
      expect(kinds(base.objects)).toEqual(common);
      expect(kinds(overlay.objects)).toEqual(
        [...common, 'Namespace/warmroute', 'Secret/warmroute-gateway-secrets-<hash>'].sort(),
      );
    });

    it('validates every rendered object against its Kubernetes schema', () => {
      // Act / Assess: validateK8sObject throws on a schema error or a kind it has no model for.
      for (const object of [...base.objects, ...overlay.objects]) validateK8sObject(object);
    });

    it('has no field its Kubernetes type does not declare (what strict field validation refuses)', () => {
      // Act
      const unknown = unknownK8sFields([...base.objects, ...overlay.objects]);
      // Assess
      expect(unknown).toEqual([]);
    });

    it('the unknown-field check finds a misspelt field at any depth', () => {
      // Prepare: a copy of the Deployment with two typos kubernetes-models' validate() accepts.
      const deployment = structuredClone(only(base.objects, 'Deployment'));
      const { spec } = deployment as unknown as DeploymentShape;
      const container = spec.template.spec.containers[0] as Container & Record<string, unknown>;
      container['readinesProbe'] = container.readinessProbe;
      (container.lifecycle?.preStop?.sleep as Record<string, unknown>)['second'] = 10;
      // Act
      validateK8sObject(deployment);
      const unknown = unknownK8sFields([deployment]);
      // Assess
      expect(unknown).toEqual([
        'Deployment/warmroute-gateway.spec.template.spec.containers[0].lifecycle.preStop.sleep.second',
        'Deployment/warmroute-gateway.spec.template.spec.containers[0].readinesProbe',
      ]);
    });

    it('the schema check rejects a broken object, an unknown kind and a malformed sleep action', () => {
      // Prepare: copies of the rendered Deployment, each broken in one place.
      const deployment = only(base.objects, 'Deployment');
      const broken = (mutate: (d: DeploymentShape) => void): K8sObject => {
        const copy = structuredClone(deployment);
        mutate(copy as unknown as DeploymentShape);
        return copy;
      };
      const portAsText = broken((d) => {
        (d.spec.template.spec.containers[0]?.ports[0] as { containerPort: unknown }).containerPort =
          'http';
      });
      // If kubernetes-models did not know `sleep` (Kubernetes 1.30), this would pass unchecked.
      const sleepAsText = broken((d) => {
        const preStop = d.spec.template.spec.containers[0]?.lifecycle?.preStop as {
          sleep: { seconds: unknown };
        };
        preStop.sleep.seconds = 'ten';
      });
      const unknownKind = { ...deployment, apiVersion: 'apps/v1', kind: 'DeploymentTypo' };
      // Act / Assess
      expect(() => {
        validateK8sObject(portAsText);
      }).toThrow(/containerPort/);
      expect(() => {
        validateK8sObject(sleepAsText);
      }).toThrow(/sleep\/seconds/);
      expect(() => {
        validateK8sObject(unknownKind);
      }).toThrow(/no kubernetes-models class/);
    });
  });

  describe('the Deployment keeps the gateway’s promises', () => {
    it('sets the shared listen, production and backend settings, and a valid gateway config', () => {
      // Prepare
      const container = gatewayContainer(overlay.objects);
      const env = resolvedEnv(overlay.objects);
      const functions = JSON.parse(env['WARMROUTE_FUNCTIONS'] ?? '') as Record<string, unknown>;
      // Act: the gateway's own loader reads the environment the pod would have.
      const config = loadConfig(env);
      const image = imageEnv();
      // Assess: the listen settings are the image's (the container conventions' one written place).
      for (const name of ['HOST', 'PORT', 'WARMROUTE_ADMIN_HOST', 'WARMROUTE_ADMIN_PORT'])
        expect(env[name], name).toBe(image[name]);
      expect(envValue(container, 'WARMROUTE_ENV')).toBe('production');
      expect(envValue(container, 'WARMROUTE_BACKEND')).toBe('aws');
      expect(config.production).toBe(true);
      expect(config.backend).toBe('aws');
      expect(config.port).toBe(defaults.port);
      expect(config.adminPort).toBe(Number(image['WARMROUTE_ADMIN_PORT']));
      expect(config.redisUrl).toBe(env['REDIS_URL']);
      expect(config.redisPassword).toBe(env['WARMROUTE_REDIS_PASSWORD']);
      expect(config.redisPassword).toBe(generatedSecrets['WARMROUTE_REDIS_PASSWORD']);
      expect(config.functions).toEqual(functions);
      expect(resolvePort(container, 'http')).toBe(config.port);
      expect(resolvePort(container, 'admin')).toBe(config.adminPort);
    });

    it('probes the admin listener: readiness /readyz, liveness and startup /healthz', () => {
      // Prepare
      const container = gatewayContainer(base.objects);
      const adminPort = Number(envValue(container, 'WARMROUTE_ADMIN_PORT'));
      const { readinessProbe, livenessProbe, startupProbe } = container;
      // Assess
      expect(readinessProbe?.httpGet.path).toBe('/readyz');
      expect(livenessProbe?.httpGet.path).toBe('/healthz');
      expect(startupProbe?.httpGet.path).toBe('/healthz');
      for (const probe of [readinessProbe, livenessProbe, startupProbe])
        expect(resolvePort(container, probe?.httpGet.port ?? -1)).toBe(adminPort);
      // Readiness reacts first; liveness tolerates several missed beats before a restart.
      const window = (p: HttpGetProbe | undefined): number =>
        (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
      expect(window(livenessProbe)).toBeGreaterThan(window(readinessProbe));
      expect(livenessProbe?.failureThreshold ?? 3).toBeGreaterThanOrEqual(3);
    });

    it('the probed paths behave as the probes need: liveness stays 200 during a Redis outage and the drain, readiness 503 only in the drain', async () => {
      // Prepare: the gateway's real health routes, the directory degraded (Redis down).
      const container = gatewayContainer(base.objects);
      const scrapePath = deploymentOf(base.objects).spec.template.metadata.annotations?.[
        'prometheus.io/path'
      ];
      let shuttingDown = false;
      const degraded: DirectoryHealth = {
        status: 'degraded',
        reason: 'redis unreachable',
        store: 'redis',
      };
      const app = Fastify();
      registerHealthRoutes(app, {
        directory: { health: () => degraded },
        registry: new Registry(),
        isShuttingDown: () => shuttingDown,
      });
      const get = async (url: string | undefined): Promise<number> =>
        (await app.inject({ method: 'GET', url: url ?? '' })).statusCode;
      // Act
      const duringOutage = {
        live: await get(container.livenessProbe?.httpGet.path),
        ready: await get(container.readinessProbe?.httpGet.path),
        scrape: await get(scrapePath),
      };
      shuttingDown = true;
      const duringDrain = {
        live: await get(container.livenessProbe?.httpGet.path),
        ready: await get(container.readinessProbe?.httpGet.path),
      };
      await app.close();
      // Assess
      expect(duringOutage).toEqual({ live: 200, ready: 200, scrape: 200 });
      expect(duringDrain).toEqual({ live: 200, ready: 503 });
    });

    it('gives the drain its time: preStop sleep + shutdown grace + the 5 s backstop fit the termination grace', () => {
      // Prepare: the grace the pod runs with (its own setting, else the gateway's default).
      const pod = deploymentOf(overlay.objects).spec.template.spec;
      const container = gatewayContainer(overlay.objects);
      const graceMs = Number(
        envValue(container, 'WARMROUTE_SHUTDOWN_GRACE_MS') ?? defaults.shutdownGraceMs,
      );
      const preStop = container.lifecycle?.preStop;
      // Assess: the native sleep action (no shell in the image), long enough for endpoint removal.
      expect(preStop?.exec).toBeUndefined();
      expect(preStop?.sleep?.seconds).toBeGreaterThanOrEqual(5);
      const needed = (preStop?.sleep?.seconds ?? 0) + (graceMs + SHUTDOWN_BACKSTOP_MS) / 1000;
      // Strictly more: the backstop's exit must come before the kubelet's SIGKILL, not with it.
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(needed);
    });

    it('the README states the shutdown numbers the Deployment has', async () => {
      // Prepare
      const readme = await readFile(join(packageRoot, 'deploy', 'k8s', 'README.md'), 'utf8');
      const pod = deploymentOf(base.objects).spec.template.spec;
      const sleep = gatewayContainer(base.objects).lifecycle?.preStop?.sleep?.seconds;
      // Assess
      expect(readme).toContain(`\`preStop: sleep ${String(sleep)}\``);
      expect(readme).toContain(
        `\`terminationGracePeriodSeconds: ${String(pod.terminationGracePeriodSeconds)}\``,
      );
    });

    it('runs non-root, read-only, without capabilities or an API token', () => {
      // Prepare
      const pod = deploymentOf(base.objects).spec.template.spec;
      const container = gatewayContainer(base.objects);
      // Assess
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext?.['runAsUser']).toBeGreaterThan(0);
      expect(pod.securityContext?.['runAsGroup']).toBeGreaterThan(0);
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.securityContext?.['privileged']).not.toBe(true);
      // A read-only root still needs a writable /tmp.
      const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe(only(base.objects, 'ServiceAccount').metadata.name);
    });

    it("runs as the image's own user (deploy/docker/Dockerfile's last USER)", async () => {
      // Prepare: runAsNonRoot can only be verified for a numeric user, and the uid that owns
      // nothing writable in the image is the one the Dockerfile chose.
      const dockerfile = DockerfileParser.parse(
        await readFile(join(packageRoot, 'deploy', 'docker', 'Dockerfile'), 'utf8'),
      );
      const user = dockerfile
        .getInstructions()
        .filter((i) => i.getKeyword() === 'USER')
        .at(-1)
        ?.getArgumentsContent();
      const pod = deploymentOf(base.objects).spec.template.spec;
      // Assess
      expect(user).toMatch(/^\d+:\d+$/);
      expect(
        `${String(pod.securityContext?.['runAsUser'])}:${String(pod.securityContext?.['runAsGroup'])}`,
      ).toBe(user);
    });

    it('requests CPU and memory and limits memory', () => {
      // Assess
      const { resources } = gatewayContainer(base.objects);
      expect(resources?.requests?.['cpu']).toBeDefined();
      expect(resources?.requests?.['memory']).toBeDefined();
      expect(resources?.limits?.['memory']).toBeDefined();
    });

    it('spreads replicas across nodes', () => {
      // Prepare
      const { spec } = deploymentOf(base.objects);
      const byHost = spec.template.spec.topologySpreadConstraints?.find(
        (c) => c.topologyKey === 'kubernetes.io/hostname',
      );
      // Assess
      expect(byHost?.whenUnsatisfiable).toBe('DoNotSchedule');
      expect(selects(byHost?.labelSelector.matchLabels ?? {}, spec.template.metadata.labels)).toBe(
        true,
      );
    });

    it('has Prometheus scrape annotations pointing at the admin port and /metrics', () => {
      // Prepare
      const { template } = deploymentOf(overlay.objects).spec;
      const container = gatewayContainer(overlay.objects);
      // Assess
      expect(template.metadata.annotations?.['prometheus.io/scrape']).toBe('true');
      expect(template.metadata.annotations?.['prometheus.io/path']).toBe('/metrics');
      expect(Number(template.metadata.annotations?.['prometheus.io/port'])).toBe(
        resolvePort(container, 'admin'),
      );
    });
  });

  describe(`Prometheus labels the gateway's series job="${EXPECTED_JOB}" (what the alerts select)`, () => {
    it('components/prometheus-operator renders with the base; its ServiceMonitor passes the shape check', () => {
      // Assess: a CRD kubernetes-models has no schema for; validateK8sObject checks its shape by hand.
      expect(withOperator.stderr).toBe('');
      expect(withOperator.code).toBe(0);
      for (const object of withOperator.objects) validateK8sObject(object);
      expect(
        unknownK8sFields(withOperator.objects.filter((o) => o.kind !== 'ServiceMonitor')),
      ).toEqual([]);
      expect(withOperator.objects.filter((o) => o.kind === 'ServiceMonitor')).toHaveLength(1);
    });

    it('the ServiceMonitor shape check refuses a misspelt or mistyped field', () => {
      // Prepare
      const monitor = only(withOperator.objects, 'ServiceMonitor');
      const spec = monitor['spec'] as Record<string, unknown>;
      const typo = { ...monitor, spec: { ...spec, joblabel: 'x' } };
      const badPort = { ...monitor, spec: { ...spec, endpoints: [{ port: 9090 }] } };
      // Act / Assess
      expect(() => {
        validateK8sObject(typo);
      }).toThrow(/spec.joblabel/);
      expect(() => {
        validateK8sObject(badPort);
      }).toThrow(/endpoints\[0\].port/);
    });

    it('the ServiceMonitor scrapes /metrics on the admin port of the admin Service, as the job the rules select', () => {
      // Prepare
      const monitor = only(withOperator.objects, 'ServiceMonitor') as unknown as {
        spec: {
          jobLabel?: string;
          selector: { matchLabels: Record<string, string> };
          endpoints: { port: string; path?: string }[];
        };
      };
      const container = gatewayContainer(withOperator.objects);
      const scrapePath = deploymentOf(base.objects).spec.template.metadata.annotations?.[
        'prometheus.io/path'
      ];
      // Act: the Services it selects, and the job prometheus-operator gives their targets (the
      // value of the jobLabel label on the Service, else the Service's name).
      const selected = withOperator.objects.filter(
        (o) =>
          o.kind === 'Service' &&
          selects(
            monitor.spec.selector.matchLabels,
            (o.metadata['labels'] ?? {}) as Record<string, string>,
          ),
      ) as unknown as (ServiceShape & { metadata: { labels?: Record<string, string> } })[];
      const jobs = selected.map(
        (svc) =>
          (monitor.spec.jobLabel === undefined
            ? undefined
            : svc.metadata.labels?.[monitor.spec.jobLabel]) ?? svc.metadata.name,
      );
      // Assess
      expect(EXPECTED_JOB).not.toBe('');
      expect(selected.map((svc) => svc.metadata.name)).toEqual(['warmroute-gateway-admin']);
      expect(jobs).toEqual([EXPECTED_JOB]);
      const [endpoint, ...more] = monitor.spec.endpoints;
      expect(more).toEqual([]);
      const servicePort = selected[0]?.spec.ports.find((p) => p.name === endpoint?.port);
      expect(resolvePort(container, servicePort?.targetPort ?? -1)).toBe(
        resolvePort(container, 'admin'),
      );
      expect(endpoint?.path ?? '/metrics').toBe(scrapePath);
    });

    it("annotation scraping: the README's relabel rule turns the gateway pods' job into the selected one, and only theirs", async () => {
      // Prepare: the yaml block of deploy/k8s/README.md that sets target_label job.
      const readme = await readFile(join(packageRoot, 'deploy', 'k8s', 'README.md'), 'utf8');
      const block = [...readme.matchAll(/```yaml\n([^]*?)```/g)]
        .map((m) => m[1] ?? '')
        .find((b) => b.includes('target_label: job'));
      const rules = parseYaml(block ?? '[]') as RelabelConfig[];
      const { template } = deploymentOf(base.objects).spec;
      const podLabels = (labels: Record<string, string>): Record<string, string> => ({
        job: 'kubernetes-pods',
        ...Object.fromEntries(
          Object.entries(labels).map(([k, v]) => [
            metaLabelName('__meta_kubernetes_pod_label_', k),
            v,
          ]),
        ),
      });
      // Act
      const gateway = relabel(podLabels(template.metadata.labels), rules);
      const other = relabel(podLabels({ 'app.kubernetes.io/name': 'something-else' }), rules);
      // Assess
      expect(rules.length).toBeGreaterThan(0);
      expect(gateway['job']).toBe(EXPECTED_JOB);
      expect(other['job']).toBe('kubernetes-pods');
    });

    it("annotation scraping: promtool accepts the README's rule in a scrape job", async () => {
      // Prepare
      const readme = await readFile(join(packageRoot, 'deploy', 'k8s', 'README.md'), 'utf8');
      const block = [...readme.matchAll(/```yaml\n([^]*?)```/g)]
        .map((m) => m[1] ?? '')
        .find((b) => b.includes('target_label: job'));
      // Debian's promtool is built without Kubernetes service discovery (it refuses
      // kubernetes_sd_configs as an unknown field), so the rule goes into a static job: what is
      // checked is the rule itself (its regex compiles, its target label is valid).
      const config = {
        scrape_configs: [
          {
            job_name: 'kubernetes-pods',
            static_configs: [{ targets: ['pod:9090'] }],
            relabel_configs: parseYaml(block ?? '[]') as unknown,
          },
        ],
      };
      const file = join(tmpdir(), `wr-k8s-prometheus-${String(process.pid)}.yml`);
      await writeFile(file, JSON.stringify(config));
      // Act
      let output: string;
      let code = 0;
      try {
        output = execFileSync('promtool', ['check', 'config', file], {
          encoding: 'utf8',
          stdio: 'pipe',
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new Error(`promtool is not installed: ${PROMTOOL_HINT}`, { cause: err });
        const failed = err as { status?: number; stdout?: string; stderr?: string };
        code = failed.status ?? -1;
        output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
      }
      // Assess
      expect(code, output).toBe(0);
      expect(output).toContain('SUCCESS');
    });
  });

  describe('scaling and disruption', () => {
    it.each(['base', 'overlay'] as const)(
      '%s: the HPA owns at least 2 replicas of the Deployment',
      (which) => {
        // Prepare
        const objects = which === 'base' ? base.objects : overlay.objects;
        const hpa = only(objects, 'HorizontalPodAutoscaler') as unknown as {
          spec: {
            minReplicas: number;
            maxReplicas: number;
            scaleTargetRef: { apiVersion: string; kind: string; name: string };
            metrics: { type: string; resource?: { name: string } }[];
          };
        };
        // Assess: no replica count in the Deployment (an apply would reset the HPA's choice).
        expect(deploymentOf(objects).spec.replicas).toBeUndefined();
        expect(hpa.spec.scaleTargetRef).toEqual({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: DEPLOYMENT_NAME,
        });
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
        expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
        expect(hpa.spec.metrics.map((m) => m.resource?.name)).toContain('cpu');
      },
    );

    it('the PDB selects the gateway pods and never allows all of the minimum to go', () => {
      // Prepare
      const { template } = deploymentOf(base.objects).spec;
      const pdb = only(base.objects, 'PodDisruptionBudget') as unknown as {
        spec: {
          minAvailable?: number;
          maxUnavailable?: number;
          selector: { matchLabels: Record<string, string> };
        };
      };
      const hpa = only(base.objects, 'HorizontalPodAutoscaler') as unknown as {
        spec: { minReplicas: number };
      };
      // Assess
      expect(selects(pdb.spec.selector.matchLabels, template.metadata.labels)).toBe(true);
      const allowedDown =
        pdb.spec.maxUnavailable ?? hpa.spec.minReplicas - (pdb.spec.minAvailable ?? 0);
      expect(allowedDown).toBe(1);
    });
  });

  describe('Services and network', () => {
    it('the public Service carries function traffic only; the admin port has its own ClusterIP Service', () => {
      // Prepare
      const { template } = deploymentOf(base.objects).spec;
      const container = gatewayContainer(base.objects);
      const services = base.objects.filter(
        (o) => o.kind === 'Service',
      ) as unknown as ServiceShape[];
      const targets = (name: string): number[] => {
        const svc = services.find((s) => s.metadata.name === name);
        return (svc?.spec.ports ?? []).map((p) => resolvePort(container, p.targetPort));
      };
      // Assess
      for (const svc of services) {
        expect(svc.spec.type ?? 'ClusterIP').toBe('ClusterIP');
        expect(selects(svc.spec.selector, template.metadata.labels)).toBe(true);
      }
      expect(targets('warmroute-gateway')).toEqual([resolvePort(container, 'http')]);
      expect(
        services.find((s) => s.metadata.name === 'warmroute-gateway')?.spec.ports[0]?.port,
      ).toBe(80);
      expect(targets('warmroute-gateway-admin')).toEqual([resolvePort(container, 'admin')]);
    });

    it('the NetworkPolicy opens the admin port to the monitoring namespace only', () => {
      // Prepare
      const { template } = deploymentOf(base.objects).spec;
      const container = gatewayContainer(base.objects);
      const policy = only(base.objects, 'NetworkPolicy') as unknown as {
        spec: {
          podSelector: { matchLabels: Record<string, string> };
          ingress: {
            from?: { namespaceSelector?: { matchLabels: Record<string, string> } }[];
            ports: { port: string | number }[];
          }[];
        };
      };
      const rulesFor = (port: string): typeof policy.spec.ingress =>
        policy.spec.ingress.filter((r) =>
          r.ports.some((p) => resolvePort(container, p.port) === resolvePort(container, port)),
        );
      // Assess
      expect(selects(policy.spec.podSelector.matchLabels, template.metadata.labels)).toBe(true);
      // Function traffic from anywhere in the cluster (ingress controllers live in any namespace).
      expect(rulesFor('http').map((r) => r.from)).toEqual([undefined]);
      const admin = rulesFor('admin');
      expect(admin).toHaveLength(1);
      expect(admin[0]?.from).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ]);
    });
  });

  describe('egress: DNS, Redis, HTTPS and the Pod Identity agent, never IMDS', () => {
    interface PolicyPeer {
      ipBlock?: { cidr: string; except?: string[] };
      namespaceSelector?: { matchLabels?: Record<string, string> };
      podSelector?: { matchLabels?: Record<string, string> };
    }
    interface PolicyPort {
      port?: number | string;
      endPort?: number;
      protocol?: string;
    }
    interface EgressRule {
      to?: PolicyPeer[];
      ports?: PolicyPort[];
    }
    type Protocol = 'TCP' | 'UDP';
    const egressOf = (objects: readonly K8sObject[]): EgressRule[] => {
      const { spec } = only(objects, 'NetworkPolicy') as unknown as {
        spec: { policyTypes: string[]; egress?: EgressRule[] };
      };
      // Without `Egress` in policyTypes the egress rules are ignored: everything is admitted.
      if (!spec.policyTypes.includes('Egress'))
        throw new Error('the policy does not restrict egress');
      return spec.egress ?? [];
    };
    const IMDS = ['169.254.169.254', 'fd00:ec2::254'];
    const POD_IDENTITY_AGENT = ['169.254.170.23', 'fd00:ec2::23'];

    /** An IPv4 or IPv6 address as a number and its bit width. */
    function ipValue(ip: string): { value: bigint; bits: number } {
      if (ip.includes(':')) {
        const [head = '', tail = ''] = ip.split('::');
        const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
        const h = groups(head);
        const t = groups(tail);
        const all = ip.includes('::')
          ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
          : h;
        return { value: all.reduce((v, g) => (v << 16n) + BigInt(parseInt(g, 16)), 0n), bits: 128 };
      }
      return { value: ip.split('.').reduce((v, o) => (v << 8n) + BigInt(Number(o)), 0n), bits: 32 };
    }
    function inCidr(ip: string, cidr: string): boolean {
      const [net = '', len = '0'] = cidr.split('/');
      const a = ipValue(ip);
      const b = ipValue(net);
      if (a.bits !== b.bits) return false;
      const shift = BigInt(a.bits - Number(len));
      return a.value >> shift === b.value >> shift;
    }
    /** Whether a rule's ports admit a destination port (no `ports`: every port). */
    function portAdmitted(rule: EgressRule, port: number, protocol: Protocol): boolean {
      return (
        rule.ports === undefined ||
        rule.ports.some((p) => {
          // A named egress port means the destination pod's port of that name: no meaning for
          // an address outside the cluster, so refuse to guess.
          if (typeof p.port === 'string') throw new Error(`named egress port ${p.port}`);
          if ((p.protocol ?? 'TCP') !== protocol) return false;
          if (p.port === undefined) return true;
          return port >= p.port && port <= (p.endPort ?? p.port);
        })
      );
    }
    /** Whether some egress rule admits the port and a peer (no `to`: every peer). */
    function admits(
      rules: readonly EgressRule[],
      port: number,
      protocol: Protocol,
      peerAdmitted: (peer: PolicyPeer) => boolean,
    ): boolean {
      return rules.some(
        (rule) =>
          portAdmitted(rule, port, protocol) &&
          (rule.to === undefined || rule.to.some(peerAdmitted)),
      );
    }
    /**
     * Whether some egress rule admits a connection to an address outside the cluster (ipBlock
     * peers). `ignoreExcept` evaluates it as a network policy agent that drops `except` does.
     */
    function admitsAddress(
      rules: readonly EgressRule[],
      ip: string,
      port: number,
      protocol: Protocol = 'TCP',
      ignoreExcept = false,
    ): boolean {
      return admits(
        rules,
        port,
        protocol,
        (peer) =>
          peer.ipBlock !== undefined &&
          inCidr(ip, peer.ipBlock.cidr) &&
          (ignoreExcept || !(peer.ipBlock.except ?? []).some((e) => inCidr(ip, e))),
      );
    }
    /** Whether some egress rule admits a connection to a pod (selector peers). */
    function admitsPod(
      rules: readonly EgressRule[],
      pod: { namespace: Record<string, string>; labels: Record<string, string> },
      port: number,
      protocol: Protocol,
    ): boolean {
      // An absent selector selects the policy's own namespace only (not modelled: the gateway's
      // namespace holds no DNS or Redis); an empty one selects everything.
      const matches = (
        s: { matchLabels?: Record<string, string> } | undefined,
        labels: Record<string, string>,
      ): boolean =>
        s !== undefined && Object.entries(s.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
      return admits(
        rules,
        port,
        protocol,
        (peer) =>
          peer.ipBlock === undefined &&
          matches(peer.namespaceSelector, pod.namespace) &&
          (peer.podSelector === undefined || matches(peer.podSelector, pod.labels)),
      );
    }
    /** A rule as `ports -> peers`, for comparing the whole allow-set. */
    function summary(rule: EgressRule): string {
      const labels = (s: { matchLabels?: Record<string, string> } | undefined): string =>
        Object.entries(s?.matchLabels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
      const ports = (rule.ports ?? [])
        .map(
          (p) =>
            `${String(p.port ?? '*')}${p.endPort === undefined ? '' : `-${p.endPort}`}/${p.protocol ?? 'TCP'}`,
        )
        .join(' ');
      const peers = (rule.to ?? []).map((peer) =>
        peer.ipBlock !== undefined
          ? `${peer.ipBlock.cidr}${(peer.ipBlock.except ?? []).map((e) => ` except ${e}`).join('')}`
          : `pods [${labels(peer.podSelector)}] in namespaces [${labels(peer.namespaceSelector)}]`,
      );
      return `${ports || 'any port'} -> ${peers.join(' | ') || 'anywhere'}`;
    }
    /** REDIS_URL's port, as the gateway connects (6379 when the URL names none). */
    const redisPort = (url: string): number => Number(new URL(url).port || '6379');
    const baseRedisUrl = (): string =>
      (only(base.objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data[
        'REDIS_URL'
      ] ?? '';

    it('the allow-set is exactly DNS, Redis, HTTPS and the Pod Identity agent', () => {
      // Act
      const rules = egressOf(base.objects).map(summary);
      // Assess: the whole list, in order (overlays patch the Redis rule by index).
      const anyButImds = '0.0.0.0/0 except 169.254.169.254/32 | ::/0 except fd00:ec2::254/128';
      expect(rules).toEqual([
        '53/UDP 53/TCP -> pods [k8s-app=kube-dns] in namespaces [kubernetes.io/metadata.name=kube-system] | 169.254.20.10/32',
        `${redisPort(baseRedisUrl())}/TCP -> ${anyButImds}`,
        `443/TCP -> ${anyButImds}`,
        '80/TCP -> 169.254.170.23/32 | fd00:ec2::23/128',
      ]);
    });

    it('refuses IMDS on every port the policy opens, IPv4 and IPv6, in the base and the overlay', () => {
      // Prepare: every port some rule names, and IMDS's own (80).
      const probes: [number, Protocol][] = [
        [53, 'UDP'],
        [53, 'TCP'],
        [80, 'TCP'],
        [443, 'TCP'],
        [6379, 'TCP'],
        [redisPort(resolvedEnv(overlay.objects)['REDIS_URL'] ?? ''), 'TCP'],
      ];
      for (const objects of [base.objects, overlay.objects]) {
        // Act
        const rules = egressOf(objects);
        // Assess
        for (const ip of IMDS)
          for (const [port, protocol] of probes)
            expect(admitsAddress(rules, ip, port, protocol), `${ip}:${port}/${protocol}`).toBe(
              false,
            );
      }
    });

    it('keeps IMDS (port 80) refused even where the agent ignores `except`', () => {
      // Prepare: aws-network-policy-agent before v1.0.4 dropped `except` (issues #92, #105);
      // only the agent's own addresses may be open on IMDS's port.
      for (const objects of [base.objects, overlay.objects]) {
        // Act
        const rules = egressOf(objects);
        // Assess
        for (const ip of IMDS) expect(admitsAddress(rules, ip, 80, 'TCP', true), ip).toBe(false);
        for (const ip of POD_IDENTITY_AGENT)
          expect(admitsAddress(rules, ip, 80, 'TCP', true), ip).toBe(true);
      }
    });

    it('admits HTTPS anywhere, the Pod Identity agent on 80, DNS only to the cluster DNS', () => {
      // Prepare
      const rules = egressOf(base.objects);
      const kubeSystem = { 'kubernetes.io/metadata.name': 'kube-system' };
      const coreDns = { namespace: kubeSystem, labels: { 'k8s-app': 'kube-dns' } };
      // Assess: Lambda, STS and Secrets Manager endpoints (public, IPv6, VPC endpoints).
      for (const ip of ['52.94.0.10', '2600:1f18::1', '10.0.12.34'])
        expect(admitsAddress(rules, ip, 443), ip).toBe(true);
      for (const ip of POD_IDENTITY_AGENT) expect(admitsAddress(rules, ip, 80), ip).toBe(true);
      expect(admitsPod(rules, coreDns, 53, 'UDP')).toBe(true);
      expect(admitsPod(rules, coreDns, 53, 'TCP')).toBe(true);
      expect(admitsAddress(rules, '169.254.20.10', 53, 'UDP')).toBe(true);
      // Nothing else: plain HTTP, SSH, other databases, outside resolvers, other pods.
      expect(admitsAddress(rules, '52.94.0.10', 80)).toBe(false);
      expect(admitsAddress(rules, '52.94.0.10', 22)).toBe(false);
      expect(admitsAddress(rules, '10.0.12.34', 5432)).toBe(false);
      expect(admitsAddress(rules, '8.8.8.8', 53, 'UDP')).toBe(false);
      expect(admitsAddress(rules, '52.94.0.10', 443, 'UDP')).toBe(false);
      expect(
        admitsPod(
          rules,
          { namespace: kubeSystem, labels: { 'k8s-app': 'metrics-server' } },
          53,
          'UDP',
        ),
      ).toBe(false);
      expect(
        admitsPod(
          rules,
          {
            namespace: { 'kubernetes.io/metadata.name': 'default' },
            labels: { 'k8s-app': 'kube-dns' },
          },
          53,
          'UDP',
        ),
      ).toBe(false);
      expect(admitsPod(rules, coreDns, 6379, 'TCP')).toBe(false);
    });

    it("admits REDIS_URL's port: anywhere but IMDS in the base, only the VPC in the overlay", () => {
      // Prepare
      const baseRules = egressOf(base.objects);
      const overlayRules = egressOf(overlay.objects);
      const basePort = redisPort(baseRedisUrl());
      const overlayPort = redisPort(resolvedEnv(overlay.objects)['REDIS_URL'] ?? '');
      // Assess: ElastiCache in the VPC, or anywhere the base does not know about.
      for (const ip of ['10.0.12.34', '52.94.0.10', '2600:1f18::1'])
        expect(admitsAddress(baseRules, ip, basePort), ip).toBe(true);
      expect(admitsAddress(overlayRules, '10.0.12.34', overlayPort)).toBe(true);
      expect(admitsAddress(overlayRules, '52.94.0.10', overlayPort)).toBe(false);
      expect(admitsAddress(overlayRules, '2600:1f18::1', overlayPort)).toBe(false);
      // The overlay narrows the Redis rule only: the others are the base's.
      const others = (rules: EgressRule[]): string[] =>
        rules.map(summary).filter((s) => !s.startsWith(`${overlayPort}/TCP`));
      expect(others(overlayRules)).toEqual(others(baseRules));
      expect(overlayRules).toHaveLength(baseRules.length);
    });
  });

  describe('secrets and configuration', () => {
    it('the base carries no secret value: no Secret object, secret settings only by reference', async () => {
      // Prepare
      const container = gatewayContainer(base.objects);
      const rendered = JSON.stringify(base.objects);
      // Assess
      expect(base.objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      for (const name of SECRET_SETTINGS) {
        const entry = container.env.find((e) => e.name === name);
        expect(entry?.value).toBeUndefined();
        expect(entry?.valueFrom?.secretKeyRef).toEqual({
          name: 'warmroute-gateway-secrets',
          key: name,
        });
      }
      // Nor in any ConfigMap or file of the base (e.g. a password inside REDIS_URL).
      expect(rendered).not.toMatch(/rediss?:\/\/[^/@"]*@/);
      const example = envFileEntries(await readFile(SECRETS_EXAMPLE, 'utf8'));
      expect(Object.values(example)).not.toHaveLength(0);
      for (const value of Object.values(example)) expect(rendered).not.toContain(value);
    });

    it('the gateway refuses to start with the example secrets.env copied as it is', () => {
      // Prepare: the environment the pod gets after `cp secrets.example.env secrets.env`.
      const env = resolvedEnv(overlayWithExampleSecrets.objects);
      // Act
      const load = (): unknown => loadConfig(env);
      // Assess: both gateway secrets are refused by name, and the Redis password placeholder is
      // no token ElastiCache would accept (so it can match no real cluster's AUTH token).
      expect(load).toThrow(/WARMROUTE_SECRET/);
      expect(load).toThrow(/WARMROUTE_ADMIN_TOKEN/);
      expect(env['WARMROUTE_REDIS_PASSWORD']).toBeDefined();
      expect(env['WARMROUTE_REDIS_PASSWORD']).not.toMatch(ELASTICACHE_AUTH_TOKEN);
    });

    it('the command secrets.example.env suggests makes values the gateway and ElastiCache accept', async () => {
      // Prepare: the `openssl rand …` command the example's comments give.
      const text = await readFile(SECRETS_EXAMPLE, 'utf8');
      const command = /openssl rand [-\w ]+\d+/.exec(text)?.[0] ?? '';
      const readme = await readFile(join(packageRoot, 'deploy', 'k8s', 'README.md'), 'utf8');
      // Act: run it a few times (a base64 `/` shows up in most 32-byte draws).
      const outputs = Array.from({ length: 8 }, () =>
        execFileSync('sh', ['-c', command], { encoding: 'utf8' }).trim(),
      );
      // Assess
      expect(command).not.toBe('');
      expect(readme).toContain(command);
      for (const value of outputs) {
        expect(value).toMatch(ELASTICACHE_AUTH_TOKEN);
        expect(() =>
          loadConfig({
            WARMROUTE_ENV: 'production',
            WARMROUTE_SECRET: value,
            WARMROUTE_ADMIN_TOKEN: value,
          }),
        ).not.toThrow();
      }
    });

    it('the base alone cannot start an open gateway: no allow-list, and its key is required', () => {
      // Prepare: with the AWS backend an empty WARMROUTE_FUNCTIONS invokes any name or ARN, so
      // the base must leave the list to an overlay and make the pod wait for it.
      const container = gatewayContainer(base.objects);
      const configMap = only(base.objects, 'ConfigMap') as unknown as {
        data: Record<string, string>;
      };
      const functionsRef = container.env.find((e) => e.name === 'WARMROUTE_FUNCTIONS')?.valueFrom
        ?.configMapKeyRef;
      // Act: the environment the kubelet would build from the base's own objects.
      const resolve = (): unknown => resolvedEnv(base.objects);
      // Assess: a missing key of a non-optional reference is CreateContainerConfigError.
      expect(envValue(container, 'WARMROUTE_BACKEND')).toBe('aws');
      expect(Object.keys(configMap.data)).not.toContain('WARMROUTE_FUNCTIONS');
      expect(functionsRef?.key).toBe('WARMROUTE_FUNCTIONS');
      expect(functionsRef?.optional).not.toBe(true);
      expect(resolve).toThrow(/no key WARMROUTE_FUNCTIONS/);
      for (const e of container.env) {
        expect(e.valueFrom?.configMapKeyRef?.optional, e.name).not.toBe(true);
        expect(e.valueFrom?.secretKeyRef?.optional, e.name).not.toBe(true);
      }
    });

    it("every secretKeyRef of the overlay resolves to a key of the overlay's generated Secret", () => {
      // Prepare
      const container = gatewayContainer(overlay.objects);
      const secret = only(overlay.objects, 'Secret') as unknown as {
        metadata: { name: string };
        data: Record<string, string>;
      };
      const refs = container.env.flatMap((e) =>
        e.valueFrom?.secretKeyRef === undefined ? [] : [e.valueFrom.secretKeyRef],
      );
      // Assess
      expect(refs.map((r) => r.key).sort()).toEqual([...SECRET_SETTINGS].sort());
      for (const ref of refs) {
        expect(ref.name).toBe(secret.metadata.name);
        expect(Object.keys(secret.data)).toContain(ref.key);
      }
    });

    it("the overlay's function allow-list matches the example functions as the CDK stack deploys them", async () => {
      // Prepare: lambda/examples/functions.json is the source of memory, timeout and tenancy.
      const declared = (
        JSON.parse(await readFile(join(examplesDir, 'functions.json'), 'utf8')) as {
          functions: { name: string; timeoutSeconds: number; memoryMb: number; tenancy: string }[];
        }
      ).functions;
      const functions = JSON.parse(
        resolvedEnv(overlay.objects)['WARMROUTE_FUNCTIONS'] ?? '',
      ) as Record<string, unknown>;
      // Assess
      expect(Object.keys(functions).length).toBeGreaterThan(0);
      for (const [name, settings] of Object.entries(functions)) {
        expect(Value.Check(FunctionSettingsSchema, settings), name).toBe(true);
        const example = declared.find((f) => `warmroute-${f.name}` === name);
        expect(example, `${name} is warmroute-<an example function>`).toBeDefined();
        expect(settings).toEqual({
          timeoutSeconds: example?.timeoutSeconds,
          memoryMb: example?.memoryMb,
          tenancy: example?.tenancy,
        });
      }
    });

    it("the overlay replaces every placeholder: namespace, image, Redis over TLS as the CDK stack's gateway user, IRSA role", () => {
      // Prepare
      const env = resolvedEnv(overlay.objects);
      const baseEnv = {
        REDIS_URL: (only(base.objects, 'ConfigMap') as unknown as { data: Record<string, string> })
          .data['REDIS_URL'],
      };
      const image = gatewayContainer(overlay.objects).image;
      const account = only(overlay.objects, 'ServiceAccount') as unknown as {
        metadata: { annotations?: Record<string, string> };
      };
      // The CDK gateway stack's directory, as its gateway user (RBAC: default is off there) for
      // the stack prefix of the overlay's function names (`<prefix>-counter`), and no password
      // in the URL (it comes from the Secret as WARMROUTE_REDIS_PASSWORD).
      const functionNames = Object.keys(
        JSON.parse(env['WARMROUTE_FUNCTIONS'] ?? '{}') as Record<string, unknown>,
      );
      const prefix = functionNames
        .find((n) => n.endsWith('-counter'))
        ?.slice(0, -'-counter'.length);
      const stack = new Stack(new App(), 'K8sRedisUser');
      const cdkGatewayUser = new GatewayRedis(stack, 'Redis', {
        vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 }),
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        namePrefix: prefix ?? 'no -counter function in the overlay',
      }).gatewayUser.userName;
      const redisUrl = new URL(env['REDIS_URL'] ?? '');
      // Assess
      for (const o of overlay.objects)
        if (o.kind !== 'Namespace')
          expect(o.metadata['namespace'], `${o.kind} ${o.metadata.name}`).toBe('warmroute');
      expect(image).toMatch(/^[^:]+\/warmroute-gateway:\d+\.\d+\.\d+$/);
      expect(env['REDIS_URL']).not.toBe(baseEnv.REDIS_URL);
      expect(redisUrl.protocol).toBe('rediss:');
      expect(redisUrl.username).toBe(cdkGatewayUser);
      expect(redisUrl.password).toBe('');
      expect(env['REDIS_URL']).toMatch(/^rediss:\/\/[^:@]+@[^@]+$/);
      expect(account.metadata.annotations?.['eks.amazonaws.com/role-arn']).toMatch(
        /^arn:aws:iam::\d{12}:role\//,
      );
    });
  });
});
