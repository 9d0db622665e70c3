import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';

/**
 * An offline validator for CloudFormation and SAM templates (the parsed tree
 * of `parseCfnYaml`), driven by the resource specification that
 * `@aws-cdk/aws-service-spec` ships (the CloudFormation registry schemas plus
 * the SAM specification, `AWS::Serverless::*`). It checks what a deploy would
 * otherwise find out the hard way:
 *
 * - every resource type exists; every property is one the type has; required
 *   properties are present; literal values have the property's type, recursing
 *   into nested property types, lists and maps (allowed values included);
 * - an intrinsic function may stand where a value goes, and both branches of
 *   an `Fn::If` are checked against the type the property expects;
 * - every `Ref`, `Fn::GetAtt` and `Fn::Sub` `${…}` names a declared parameter,
 *   resource or pseudo parameter, and a `Fn::GetAtt` an attribute the spec
 *   lists for that resource type; every condition used is declared; `DependsOn`
 *   names resources; parameters and outputs have only the keys CloudFormation
 *   knows.
 *
 * What it knows beyond the spec is in the two tables below, each entry with
 * its reason.
 */
export interface TemplateIssue {
  /** Where, as a path: `Resources.Fn.Properties.MemorySize`. */
  readonly path: string;
  readonly message: string;
}

// --- the parts of the spec database this file reads (structural, so the spec's own types fit) ---

type SpecPropertyType =
  | { readonly type: 'string'; readonly allowedValues?: readonly string[] }
  | { readonly type: 'integer'; readonly allowedValues?: readonly number[] }
  | { readonly type: 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { readonly type: 'ref'; readonly reference: { readonly $ref: string } }
  | { readonly type: 'array' | 'map'; readonly element: SpecPropertyType }
  | { readonly type: 'union'; readonly types: readonly SpecPropertyType[] };

interface SpecProperty {
  readonly type: SpecPropertyType;
  readonly required?: boolean;
}

interface SpecResource {
  readonly properties: Readonly<Record<string, SpecProperty>>;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** The spec as this validator needs it: resources by CloudFormation type, property types by id. */
export interface ResourceSpec {
  resource(cfnType: string): SpecResource | undefined;
  typeDefinition(id: string): Readonly<Record<string, SpecProperty>>;
}

/** Loads the database once per process (it is a 10 MB gzip). */
let loaded: ResourceSpec | undefined;
export function loadResourceSpec(): ResourceSpec {
  if (loaded) return loaded;
  const db = loadAwsServiceSpecSync();
  loaded = {
    resource(cfnType) {
      const found = db.lookup('resource', 'cloudFormationType', 'equals', cfnType);
      const [only] = found;
      return found.length === 1 ? only : undefined;
    },
    typeDefinition(id) {
      return (db.get('typeDefinition', id) as { properties: Record<string, SpecProperty> })
        .properties;
    },
  };
  return loaded;
}

/**
 * Properties SAM passes through to the resource it generates that the SAM
 * specification in aws-service-spec (written for SAM's 2016-10-31 spec and not
 * kept up with SAM) does not list. Each is typed from the generated
 * CloudFormation resource's own spec, so its shape is still checked.
 * TenancyConfig: SAM's AWS::Serverless::Function accepts it and copies it to
 * AWS::Lambda::Function (SAM's own model declares it a pass-through to
 * ["AWS::Lambda::Function", "Properties", "TenancyConfig"]:
 * samtranslator/internal/schema_source/aws_serverless_function.py).
 * LoggingConfig: the same, a pass-through to
 * ["AWS::Lambda::Function", "Properties", "LoggingConfig"] in that file.
 */
const SAM_PASS_THROUGH: Readonly<
  Record<string, Readonly<Record<string, readonly [string, string]>>>
> = {
  'AWS::Serverless::Function': {
    TenancyConfig: ['AWS::Lambda::Function', 'TenancyConfig'],
    LoggingConfig: ['AWS::Lambda::Function', 'LoggingConfig'],
  },
};

/**
 * The CloudFormation resource SAM generates under the same logical ID, whose
 * attributes `Fn::GetAtt` may then name (SAM's spec lists no attributes of its
 * own). From SAM's documentation, "Generated AWS CloudFormation resources".
 */
const SAM_GENERATED: Readonly<Record<string, string>> = {
  'AWS::Serverless::Function': 'AWS::Lambda::Function',
  'AWS::Serverless::Api': 'AWS::ApiGateway::RestApi',
  'AWS::Serverless::HttpApi': 'AWS::ApiGatewayV2::Api',
  'AWS::Serverless::SimpleTable': 'AWS::DynamoDB::Table',
  'AWS::Serverless::StateMachine': 'AWS::StepFunctions::StateMachine',
  'AWS::Serverless::LayerVersion': 'AWS::Lambda::LayerVersion',
};

const SAM_TRANSFORM = 'AWS::Serverless-2016-10-31';

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

const TOP_LEVEL = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Transform',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Resources',
  'Outputs',
]);
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'Metadata',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'CreationPolicy',
  'UpdatePolicy',
]);
const PARAMETER_KEYS = new Set([
  'Type',
  'Default',
  'Description',
  'AllowedValues',
  'AllowedPattern',
  'NoEcho',
  'MinLength',
  'MaxLength',
  'MinValue',
  'MaxValue',
  'ConstraintDescription',
]);
/** Parameter types without the AWS-specific ones, which are matched by pattern below. */
const PARAMETER_TYPES = new Set(['String', 'Number', 'List<Number>', 'CommaDelimitedList']);
const AWS_PARAMETER_TYPE = /^(List<)?AWS::(EC2|Route53|SSM)::[A-Za-z0-9:<>]+>?$/;
const OUTPUT_KEYS = new Set(['Value', 'Description', 'Export', 'Condition']);
const CONDITION_FUNCTIONS = new Set(['Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not', 'Condition']);

type Tree = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{ Ref: … }` or `{ 'Fn::X': … }`: the one key of an intrinsic function call. */
function intrinsicName(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const [key] = keys as [string];
  return key === 'Ref' || key.startsWith('Fn::') ? key : undefined;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Validates `template`; an empty list means it passed. */
export function validateTemplate(
  template: unknown,
  spec: ResourceSpec = loadResourceSpec(),
): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const report = (path: string, message: string): void => {
    issues.push({ path, message });
  };
  if (!isObject(template)) return [{ path: '', message: 'a template is a mapping' }];

  for (const key of Object.keys(template)) {
    if (!TOP_LEVEL.has(key)) report(key, `unknown top-level section "${key}"`);
  }
  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const resources = isObject(template.Resources) ? template.Resources : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  if (!isObject(template.Resources)) report('Resources', 'Resources is a mapping of resources');
  else if (Object.keys(resources).length === 0)
    report('Resources', 'a template needs at least one resource');

  const resourceType = (name: string): string | undefined => {
    const r = resources[name];
    return isObject(r) && typeof r.Type === 'string' ? r.Type : undefined;
  };

  // --- parameters ---
  for (const [name, p] of Object.entries(parameters)) {
    const at = `Parameters.${name}`;
    if (!isObject(p)) {
      report(at, 'a parameter is a mapping');
      continue;
    }
    for (const key of Object.keys(p))
      if (!PARAMETER_KEYS.has(key)) report(at, `unknown parameter key "${key}"`);
    if (typeof p.Type !== 'string') report(at, 'Type is required');
    else if (!PARAMETER_TYPES.has(p.Type) && !AWS_PARAMETER_TYPE.test(p.Type)) {
      report(at, `unknown parameter type "${p.Type}"`);
    }
    if (p.AllowedValues !== undefined && p.Default !== undefined) {
      if (!Array.isArray(p.AllowedValues) || !p.AllowedValues.includes(p.Default)) {
        report(at, `Default ${JSON.stringify(p.Default)} is not one of AllowedValues`);
      }
    }
  }

  // --- references, wherever they occur ---
  const checkRef = (target: unknown, at: string): void => {
    if (typeof target !== 'string') {
      report(at, 'Ref takes a name');
      return;
    }
    if (!(target in parameters) && !(target in resources) && !PSEUDO_PARAMETERS.has(target)) {
      report(
        at,
        `Ref to "${target}", which is neither a parameter, a resource nor a pseudo parameter`,
      );
    }
  };
  const checkGetAtt = (resource: string, attribute: unknown, at: string): void => {
    const type = resourceType(resource);
    if (type === undefined) {
      report(at, `Fn::GetAtt on "${resource}", which is not a resource`);
      return;
    }
    if (typeof attribute !== 'string') return; // an intrinsic attribute name: cannot be checked offline
    const specType = SAM_GENERATED[type] ?? type;
    const r = spec.resource(specType);
    if (r && !(attribute in r.attributes)) {
      report(
        at,
        `Fn::GetAtt ${resource}.${attribute}: ${specType} has no attribute "${attribute}"`,
      );
    }
  };
  const checkCondition = (name: unknown, at: string): void => {
    if (typeof name !== 'string' || !(name in conditions)) {
      report(at, `condition ${JSON.stringify(name)} is not declared in Conditions`);
    }
  };
  const walk = (v: unknown, at: string, subVariables: ReadonlySet<string> = new Set()): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        walk(item, `${at}[${i}]`, subVariables);
      });
      return;
    }
    if (!isObject(v)) return;
    const fn = intrinsicName(v);
    const arg = fn === undefined ? undefined : v[fn];
    if (fn === 'Ref') checkRef(arg, at);
    else if (fn === 'Fn::GetAtt') {
      if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string')
        checkGetAtt(arg[0], arg[1], at);
      else report(at, 'Fn::GetAtt takes [resource, attribute]');
    } else if (fn === 'Fn::If') {
      if (!Array.isArray(arg) || arg.length !== 3)
        report(at, 'Fn::If takes [condition, then, else]');
      else checkCondition(arg[0], at);
    } else if (fn === 'Fn::Sub') {
      const [text, vars]: readonly unknown[] = Array.isArray(arg)
        ? (arg as unknown[])
        : [arg, undefined];
      const names = new Set(isObject(vars) ? Object.keys(vars) : []);
      if (typeof text !== 'string') report(at, 'Fn::Sub takes a string or [string, variables]');
      else {
        // `${!Literal}` is an escape, not a reference.
        for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const ref = (name ?? '').trim();
          if (names.has(ref)) continue;
          const dot = ref.indexOf('.');
          if (dot > 0 && !ref.startsWith('AWS::'))
            checkGetAtt(ref.slice(0, dot), ref.slice(dot + 1), at);
          else checkRef(ref, at);
        }
      }
      if (isObject(vars)) walk(vars, `${at}.Fn::Sub[1]`, subVariables);
      return;
    }
    for (const [key, child] of Object.entries(v)) walk(child, `${at}.${key}`, subVariables);
  };

  // --- conditions ---
  for (const [name, c] of Object.entries(conditions)) {
    const fn = intrinsicName(c) ?? (isObject(c) && 'Condition' in c ? 'Condition' : undefined);
    if (fn === undefined || !CONDITION_FUNCTIONS.has(fn)) {
      report(
        `Conditions.${name}`,
        'a condition is Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition',
      );
    }
    walk(c, `Conditions.${name}`);
    walkConditionRefs(c, `Conditions.${name}`, checkCondition);
  }

  // --- resources ---
  const usesSam = Object.values(resources).some(
    (r) => isObject(r) && typeof r.Type === 'string' && r.Type.startsWith('AWS::Serverless::'),
  );
  const transforms = Array.isArray(template.Transform) ? template.Transform : [template.Transform];
  if (usesSam && !transforms.includes(SAM_TRANSFORM)) {
    report('Transform', `AWS::Serverless::* resources need Transform: ${SAM_TRANSFORM}`);
  }
  for (const [name, r] of Object.entries(resources)) {
    const at = `Resources.${name}`;
    if (!isObject(r)) {
      report(at, 'a resource is a mapping');
      continue;
    }
    for (const key of Object.keys(r))
      if (!RESOURCE_KEYS.has(key)) report(at, `unknown resource key "${key}"`);
    if (r.Condition !== undefined) checkCondition(r.Condition, `${at}.Condition`);
    const dependsOn = Array.isArray(r.DependsOn)
      ? r.DependsOn
      : r.DependsOn === undefined
        ? []
        : [r.DependsOn];
    for (const d of dependsOn) {
      if (typeof d !== 'string' || !(d in resources))
        report(`${at}.DependsOn`, `${JSON.stringify(d)} is not a resource`);
    }
    if (typeof r.Type !== 'string') {
      report(at, 'Type is required');
      continue;
    }
    const specResource = spec.resource(r.Type);
    if (!specResource) {
      report(at, `unknown resource type "${r.Type}"`);
      continue;
    }
    const properties = r.Properties === undefined ? {} : r.Properties;
    if (!isObject(properties)) {
      report(`${at}.Properties`, 'Properties is a mapping');
      continue;
    }
    const passThrough = SAM_PASS_THROUGH[r.Type] ?? {};
    const known: Record<string, SpecProperty> = { ...specResource.properties };
    for (const [prop, [otherType, otherProp]] of Object.entries(passThrough)) {
      const other = spec.resource(otherType)?.properties[otherProp];
      if (other) known[prop] = { type: other.type };
    }
    checkObject(properties, known, `${at}.Properties`, spec, report);
    walk(properties, `${at}.Properties`);
  }

  // --- outputs ---
  const outputs = isObject(template.Outputs) ? template.Outputs : {};
  for (const [name, o] of Object.entries(outputs)) {
    const at = `Outputs.${name}`;
    if (!isObject(o)) {
      report(at, 'an output is a mapping');
      continue;
    }
    for (const key of Object.keys(o))
      if (!OUTPUT_KEYS.has(key)) report(at, `unknown output key "${key}"`);
    if (o.Value === undefined) report(at, 'Value is required');
    if (o.Export !== undefined && !(isObject(o.Export) && 'Name' in o.Export))
      report(at, 'Export needs a Name');
    if (o.Condition !== undefined) checkCondition(o.Condition, `${at}.Condition`);
    walk(o, at);
  }
  return issues;
}

/** `{ Condition: name }` inside Conditions refers to another condition. */
function walkConditionRefs(
  v: unknown,
  at: string,
  check: (name: unknown, at: string) => void,
): void {
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      walkConditionRefs(item, `${at}[${i}]`, check);
    });
  } else if (isObject(v)) {
    for (const [key, child] of Object.entries(v)) {
      if (key === 'Condition') check(child, at);
      else walkConditionRefs(child, `${at}.${key}`, check);
    }
  }
}

type Report = (path: string, message: string) => void;

function checkObject(
  value: Tree,
  properties: Readonly<Record<string, SpecProperty>>,
  at: string,
  spec: ResourceSpec,
  report: Report,
): void {
  for (const [key, child] of Object.entries(value)) {
    const prop = properties[key];
    if (!prop) {
      report(`${at}.${key}`, `unknown property "${key}"`);
      continue;
    }
    checkValue(child, prop.type, `${at}.${key}`, spec, report);
  }
  for (const [key, prop] of Object.entries(properties)) {
    if (prop.required === true && !(key in value))
      report(at, `required property "${key}" is missing`);
  }
}

/** Problems `value` has as a `type`, collected rather than reported (for unions). */
function problemsOf(
  value: unknown,
  type: SpecPropertyType,
  at: string,
  spec: ResourceSpec,
): TemplateIssue[] {
  const found: TemplateIssue[] = [];
  checkValue(value, type, at, spec, (path, message) => found.push({ path, message }));
  return found;
}

function checkValue(
  value: unknown,
  type: SpecPropertyType,
  at: string,
  spec: ResourceSpec,
  report: Report,
): void {
  const fn = intrinsicName(value);
  if (fn !== undefined) {
    // Both branches of an Fn::If land in the property: each must have its type (AWS::NoValue removes it).
    const arg = (value as Tree)[fn];
    if (fn === 'Fn::If' && Array.isArray(arg) && arg.length === 3) {
      for (const branch of arg.slice(1)) {
        if (!(isObject(branch) && branch.Ref === 'AWS::NoValue'))
          checkValue(branch, type, at, spec, report);
      }
    }
    return; // any other intrinsic's value is known only at deploy time
  }
  switch (type.type) {
    case 'string':
    case 'date-time':
      if (typeof value !== 'string') {
        report(at, `expected a string, got ${describe(value)}`);
        return;
      }
      if ('allowedValues' in type && type.allowedValues && !type.allowedValues.includes(value)) {
        report(at, `"${value}" is not one of ${type.allowedValues.join(', ')}`);
      }
      return;
    case 'integer':
    case 'number': {
      // CloudFormation accepts numbers written as strings.
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        report(at, `expected a number, got ${describe(value)}`);
        return;
      }
      if (type.type === 'integer' && !Number.isInteger(n))
        report(at, `expected an integer, got ${n}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') {
        report(at, `expected a boolean, got ${describe(value)}`);
      }
      return;
    case 'json':
    case 'null':
      return;
    case 'tag':
      if (!isObject(value) || !('Key' in value) || !('Value' in value))
        report(at, 'expected a tag { Key, Value }');
      return;
    case 'array':
      if (!Array.isArray(value)) {
        report(at, `expected a list, got ${describe(value)}`);
        return;
      }
      value.forEach((item, i) => {
        checkValue(item, type.element, `${at}[${i}]`, spec, report);
      });
      return;
    case 'map':
      if (!isObject(value)) {
        report(at, `expected a map, got ${describe(value)}`);
        return;
      }
      for (const [k, v] of Object.entries(value))
        checkValue(v, type.element, `${at}.${k}`, spec, report);
      return;
    case 'ref':
      if (!isObject(value)) {
        report(at, `expected an object, got ${describe(value)}`);
        return;
      }
      checkObject(value, spec.typeDefinition(type.reference.$ref), at, spec, report);
      return;
    case 'union': {
      const attempts = type.types.map((t) => problemsOf(value, t, at, spec));
      if (attempts.some((a) => a.length === 0)) return;
      // Report the closest alternative (fewest problems): its messages say what is wrong.
      const closest = attempts.reduce((a, b) => (b.length < a.length ? b : a));
      for (const p of closest) report(p.path, p.message);
      return;
    }
  }
}
