import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { K8sObject } from './k8s-render.js';

/** Builds the kubernetes-models class for one apiVersion/kind from a rendered object. */
type ModelFactory = (object: K8sObject) => { validate(): void };

/**
 * A Secret's `data` as the API server decodes it. kustomize's secretGenerator wraps base64 at
 * 70 columns (a value over 52 bytes becomes a YAML block with newlines), and the API server's
 * decoder (Go's encoding/base64) skips `\r` and `\n`; kubernetes-models' "byte" format does not,
 * so without this a generated 64-character secret fails a check the cluster would pass.
 */
function unwrappedSecret(object: K8sObject): K8sObject {
  const data = object['data'];
  if (typeof data !== 'object' || data === null) return object;
  return {
    ...object,
    data: Object.fromEntries(
      Object.entries(data as Record<string, unknown>).map(([k, v]) => [
        k,
        typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v,
      ]),
    ),
  };
}

// A constructor only copies the object's fields; validate() is what checks them against the
// schema, so the rendered YAML goes in as it is (a Secret's data unwrapped, as above).
const MODELS: Readonly<Record<string, ModelFactory>> = {
  'v1/Namespace': (o) => new Namespace(o),
  'v1/ServiceAccount': (o) => new ServiceAccount(o),
  'v1/ConfigMap': (o) => new ConfigMap(o),
  'v1/Secret': (o) => new Secret(unwrappedSecret(o)),
  'v1/Service': (o) => new Service(o),
  'apps/v1/Deployment': (o) => new Deployment(o),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o),
  'networking.k8s.io/v1/NetworkPolicy': (o) => new NetworkPolicy(o),
  // A CRD: no kubernetes-models class, a minimal explicit check instead (see below).
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => ({
    validate: () => {
      const problems = serviceMonitorProblems(o);
      if (problems.length > 0) throw new Error(problems.join(', '));
    },
  }),
};

/**
 * Validates a rendered object against its Kubernetes schema (kubernetes-models 4.5.1, generated
 * from the Kubernetes OpenAPI spec). Throws on a schema error and on a kind this file has no
 * model for: an object nobody checked must not pass as checked.
 *
 * The schemas do not reject unknown fields: a misspelt `readinesProbe` passes here (the API
 * server's strict field validation, kubectl's default since 1.27, would refuse it at apply).
 * unknownK8sFields (k8s-known-fields.ts) covers that gap.
 */
export function validateK8sObject(object: K8sObject): void {
  const key = `${object.apiVersion}/${object.kind}`;
  const factory = MODELS[key];
  if (factory === undefined)
    throw new Error(
      `no kubernetes-models class for ${key} (${object.metadata.name}): add one to MODELS`,
    );
  try {
    factory(object).validate();
  } catch (err) {
    throw new Error(`${key} ${object.metadata.name}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The fields of a prometheus-operator ServiceMonitor (monitoring.coreos.com/v1) that
 * deploy/k8s/components/prometheus-operator uses, checked by hand: no CRD schema is installed
 * here (kubernetes-models has no model for it), so this is a minimal explicit check of the shape
 * the operator reads, not the CRD's full OpenAPI schema. Returns the problems, [] when none.
 */
function serviceMonitorProblems(object: K8sObject): string[] {
  const problems: string[] = [];
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const stringMap = (v: unknown): boolean =>
    isRecord(v) && Object.values(v).every((x) => typeof x === 'string');
  if (object.apiVersion !== 'monitoring.coreos.com/v1')
    problems.push(`apiVersion ${object.apiVersion}`);
  if (object.kind !== 'ServiceMonitor') problems.push(`kind ${object.kind}`);
  const spec = object['spec'];
  if (!isRecord(spec)) return [...problems, 'no spec'];
  const known = new Set(['jobLabel', 'selector', 'endpoints', 'namespaceSelector']);
  for (const key of Object.keys(spec))
    if (!known.has(key)) problems.push(`spec.${key}: not a field this check knows`);
  if (spec['jobLabel'] !== undefined && typeof spec['jobLabel'] !== 'string')
    problems.push('spec.jobLabel is not a string');
  const selector = spec['selector'];
  if (!isRecord(selector) || !stringMap(selector['matchLabels']))
    problems.push('spec.selector.matchLabels is not a map of strings');
  const endpoints = spec['endpoints'];
  if (!Array.isArray(endpoints) || endpoints.length === 0)
    problems.push('spec.endpoints is not a non-empty list');
  else
    endpoints.forEach((e: unknown, i) => {
      if (!isRecord(e)) {
        problems.push(`spec.endpoints[${String(i)}] is not an object`);
        return;
      }
      for (const key of Object.keys(e))
        if (!['port', 'path', 'interval', 'scheme'].includes(key))
          problems.push(`spec.endpoints[${String(i)}].${key}: not a field this check knows`);
      if (typeof e['port'] !== 'string') problems.push(`spec.endpoints[${String(i)}].port`);
      const { path, interval } = e;
      if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/')))
        problems.push(`spec.endpoints[${String(i)}].path`);
      if (
        interval !== undefined &&
        (typeof interval !== 'string' || !/^(\d+(ms|s|m|h))+$/.test(interval))
      )
        problems.push(`spec.endpoints[${String(i)}].interval`);
    });
  return problems;
}
