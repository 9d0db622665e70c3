import { join } from 'node:path';
import ts from 'typescript';
import { packageRoot } from '../../../src/paths.js';
import type { K8sObject } from './k8s-render.js';

/** The kubernetes-models interface of each kind the manifests use (module, interface). */
const INTERFACES: Readonly<Record<string, readonly [string, string]>> = {
  'v1/Namespace': ['kubernetes-models/v1', 'INamespace'],
  'v1/ServiceAccount': ['kubernetes-models/v1', 'IServiceAccount'],
  'v1/ConfigMap': ['kubernetes-models/v1', 'IConfigMap'],
  'v1/Secret': ['kubernetes-models/v1', 'ISecret'],
  'v1/Service': ['kubernetes-models/v1', 'IService'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1', 'IDeployment'],
  'autoscaling/v2/HorizontalPodAutoscaler': [
    'kubernetes-models/autoscaling/v2',
    'IHorizontalPodAutoscaler',
  ],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1', 'IPodDisruptionBudget'],
  'networking.k8s.io/v1/NetworkPolicy': [
    'kubernetes-models/networking.k8s.io/v1',
    'INetworkPolicy',
  ],
};

interface Compiled {
  readonly checker: ts.TypeChecker;
  readonly typeOf: ReadonlyMap<string, ts.Type>;
}
let compiled: Compiled | undefined;

/** Compiles one declaration per known kind, once per process (it takes seconds). */
function compile(): Compiled {
  if (compiled !== undefined) return compiled;
  const kinds = Object.keys(INTERFACES);
  // A source file that exists only in memory, placed in the repo so that `kubernetes-models`
  // resolves from its node_modules.
  const file = join(packageRoot, 'test', 'deploy', '__k8s-known-fields__.ts');
  const source = kinds
    .map((k, i) => {
      const [module, name] = INTERFACES[k] as readonly [string, string];
      return `import type { ${name} as T${i} } from '${module}';\nexport declare const v${i}: T${i};`;
    })
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readSource = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === file
      ? ts.createSourceFile(name, source, languageVersion)
      : readSource(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(file);
  const moduleSymbol =
    sourceFile === undefined ? undefined : checker.getSymbolAtLocation(sourceFile);
  if (moduleSymbol === undefined)
    throw new Error('could not compile the kubernetes-models declarations');
  const exported = checker.getExportsOfModule(moduleSymbol);
  const typeOf = new Map<string, ts.Type>();
  kinds.forEach((kind, i) => {
    const symbol = exported.find((s) => s.name === `v${i}`);
    const type = symbol === undefined ? undefined : checker.getTypeOfSymbol(symbol);
    // An unresolved import compiles to `any`, which has no properties: every field would look unknown.
    if (type === undefined || (type.flags & ts.TypeFlags.Any) !== 0)
      throw new Error(`kubernetes-models has no ${INTERFACES[kind]?.join(' ')}`);
    typeOf.set(kind, type);
  });
  compiled = { checker, typeOf };
  return compiled;
}

/**
 * Unknown-field check: the fields of a rendered object that its Kubernetes type does not have
 * (a misspelt `readinesProbe`, a field at the wrong level), as JSON paths.
 *
 * kubernetes-models' validators accept unknown fields, and the API server's strict field
 * validation (kubectl's default since 1.27) needs a cluster. The field names are read from
 * kubernetes-models' TypeScript declarations (generated from the same OpenAPI spec) with the
 * TypeScript compiler, so nothing is restated here.
 */
export function unknownK8sFields(objects: readonly K8sObject[]): string[] {
  const { checker, typeOf } = compile();
  const problems: string[] = [];
  const walk = (value: unknown, type: ts.Type, path: string): void => {
    const t = checker.getNonNullableType(type);
    if (checker.isArrayType(t)) {
      const element = checker.getTypeArguments(t as ts.TypeReference)[0];
      if (Array.isArray(value) && element !== undefined)
        value.forEach((item, i) => {
          walk(item, element, `${path}[${i}]`);
        });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    // A union of object types (rare in these models): accept a field any member declares.
    const members = t.isUnion() ? t.types : [t];
    for (const [key, child] of Object.entries(value)) {
      const declared = members.map((m) => m.getProperty(key)).find((p) => p !== undefined);
      if (declared !== undefined) {
        walk(child, checker.getTypeOfSymbol(declared), `${path}.${key}`);
        continue;
      }
      const index = members.flatMap((m) => checker.getIndexInfosOfType(m))[0];
      if (index !== undefined) walk(child, index.type, `${path}.${key}`);
      else problems.push(`${path}.${key}`);
    }
  };
  for (const object of objects) {
    const type = typeOf.get(`${object.apiVersion}/${object.kind}`);
    if (type === undefined)
      throw new Error(`no kubernetes-models interface for ${object.apiVersion}/${object.kind}`);
    walk(object, type, `${object.kind}/${object.metadata.name}`);
  }
  return problems;
}
