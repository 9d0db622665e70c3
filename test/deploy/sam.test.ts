/**
 * deploy/sam/template.yaml, checked offline: parsed with the CloudFormation
 * YAML tags, validated against the resource specification of
 * @aws-cdk/aws-service-spec (SAM and CloudFormation types), built the way
 * `sam build` builds each function (esbuild with the template's
 * BuildProperties, or the Makefile) and each bundle run in a child `node`,
 * plus assertions on what the template promises: tenancy, runtime,
 * memory/timeout from lambda/examples/functions.json, the X-Amz-Tenant-Id
 * mapping, the authorizer on every method, scoped permissions, no secret in
 * the template.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_THROTTLE } from '../../deploy/cdk/lib/tenant-api-stack.js';
import { SECRET_CACHE_TTL_MS as CDK_SECRET_CACHE_TTL_MS } from '../../deploy/cdk/lib/tenant-authorizer/authorizer.js';
import {
  createAuthorizer,
  SECRET_CACHE_TTL_MS,
  stageResource,
  type TokenAuthorizerEvent,
} from '../../deploy/sam/authorizer/handler.js';
import {
  issueToken,
  MAX_TOKEN_LIFETIME_SECONDS,
  MIN_SECRET_BYTES,
  verifyToken,
} from '../../deploy/sam/authorizer/verify-token.js';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DIRECT_NAMESPACE, snapshotId } from '../../lambda/snapshot-scope.js';
import { DEFAULT_SNAPSHOT_KEY_PREFIX, snapshotKey } from '../../src/redis/keys.js';
import { scriptFolder } from '../../src/redis/script-loader.js';
import { SHARED_REDIS_URL } from '../helpers/redis.js';
import { validateTemplate } from './helpers/cfn-spec-validator.js';
import { parseCfnYaml } from './helpers/cfn-yaml.js';
import { runCfnLint, samJsonSchema, samTransform } from './helpers/sam-tools.js';
import { nonCanonicalSpellings } from './helpers/token-spellings.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const SAM_DIR = join(REPO_ROOT, 'deploy', 'sam');
const TEMPLATE_FILE = join(SAM_DIR, 'template.yaml');
const FUNCTIONS_FILE = join(REPO_ROOT, 'lambda', 'examples', 'functions.json');

// --- the template, as plain data ---

type Json = Readonly<Record<string, unknown>>;

interface Resource {
  readonly Type: string;
  readonly Properties: Json;
  readonly Metadata?: Json;
}

interface Template {
  readonly Parameters: Readonly<Record<string, Json>>;
  readonly Conditions: Readonly<Record<string, unknown>>;
  readonly Resources: Readonly<Record<string, Resource>>;
  readonly Outputs: Readonly<Record<string, { readonly Value: unknown }>>;
}

const template = parseCfnYaml(readFileSync(TEMPLATE_FILE, 'utf8')) as Template;

interface FunctionDeclaration {
  readonly name: string;
  readonly codeDir: string;
  readonly handler: string;
  readonly tenancy: 'PER_TENANT' | 'NONE';
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly environment?: Readonly<Record<string, string>>;
}

const declared = (
  JSON.parse(readFileSync(FUNCTIONS_FILE, 'utf8')) as { functions: FunctionDeclaration[] }
).functions;

/** The example functions this template deploys: the PER_TENANT ones of functions.json. */
const EXAMPLES = ['counter', 'warm-counter', 'workspace'] as const;
type ExampleName = (typeof EXAMPLES)[number];

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resourcesOf(type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function declaration(name: ExampleName): FunctionDeclaration {
  const found = declared.find((f) => f.name === name);
  if (found === undefined) throw new Error(`functions.json has no ${name}`);
  return found;
}

/** The folder a function's code comes from: CodeUri, or for a Makefile build the entry build-function.mjs reads. */
function sourceDirOf(resource: Resource): string {
  return resolve(SAM_DIR, String(resource.Properties['CodeUri']));
}

/**
 * Which function resource deploys the example `name`: an esbuild function
 * whose CodeUri is the example's code folder, or a Makefile function whose
 * Makefile target builds `name`.
 */
function exampleResource(name: ExampleName): [string, Resource] {
  const decl = declaration(name);
  const codeDir = join(REPO_ROOT, 'lambda', 'examples', decl.codeDir);
  const matches = resourcesOf('AWS::Serverless::Function').filter(([id, r]) => {
    if (r.Metadata?.['BuildMethod'] === 'esbuild') return sourceDirOf(r) === codeDir;
    if (r.Metadata?.['BuildMethod'] === 'makefile') return makefileTargetFunction(r, id) === name;
    return false;
  });
  expect(matches.map(([id]) => id)).toHaveLength(1);
  return matches[0]!;
}

/** The function name a Makefile target passes to build-function.mjs. */
function makefileTargetFunction(resource: Resource, logicalId: string): string | undefined {
  const makefile = readFileSync(join(sourceDirOf(resource), 'Makefile'), 'utf8');
  const target = new RegExp(`^build-${logicalId}:\\n\\t.*build-function\\.mjs" ([a-z0-9-]+) `, 'm');
  return target.exec(makefile)?.[1];
}

/** Evaluates a condition expression for given parameter values (the functions conditions use). */
function evaluate(expr: unknown, params: Readonly<Record<string, unknown>>): unknown {
  if (!isObject(expr)) return expr;
  const [[fn, arg]] = Object.entries(expr) as [[string, unknown]];
  const args = Array.isArray(arg) ? arg.map((a) => evaluate(a, params)) : [];
  switch (fn) {
    case 'Ref':
      if (!(String(arg) in params)) throw new Error(`no value for parameter ${String(arg)}`);
      return params[String(arg)];
    case 'Condition':
      return evaluate(template.Conditions[String(arg)], params);
    case 'Fn::Equals':
      return JSON.stringify(args[0]) === JSON.stringify(args[1]);
    case 'Fn::Not':
      return args[0] !== true;
    case 'Fn::And':
      return args.every((a) => a === true);
    case 'Fn::Or':
      return args.some((a) => a === true);
    case 'Fn::Join':
      return (args[1] as unknown[]).join(String(args[0]));
    default:
      throw new Error(`cannot evaluate ${fn}`);
  }
}

/** The parameter values CloudFormation uses when the user sets only `overrides`. */
function parameterValues(
  overrides: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(template.Parameters)) {
    const value = overrides[name] ?? p['Default'];
    values[name] =
      p['Type'] === 'CommaDelimitedList' && typeof value === 'string' ? value.split(',') : value;
  }
  return values;
}

/** `value` with every `Ref` to a parameter replaced by the parameter's value. */
function resolveRefs(value: unknown, params: Readonly<Record<string, unknown>>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, params));
  if (!isObject(value)) return value;
  const ref = value['Ref'];
  if (typeof ref === 'string' && ref in params && Object.keys(value).length === 1) {
    return params[ref];
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, params)]));
}

/** `value` with every Fn::If resolved for the given parameter values. */
function resolveIfs(value: unknown, params: Readonly<Record<string, unknown>>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIfs(v, params));
  if (!isObject(value)) return value;
  const branches = value['Fn::If'];
  if (Array.isArray(branches)) {
    const [condition, then, otherwise] = branches as [string, unknown, unknown];
    return resolveIfs(
      evaluate({ Condition: condition }, params) === true ? then : otherwise,
      params,
    );
  }
  // A property or map entry whose value is AWS::NoValue is left out, as CloudFormation does.
  return Object.fromEntries(
    Object.entries(value)
      .map(([k, v]) => [k, resolveIfs(v, params)] as const)
      .filter(([, v]) => !(isObject(v) && v['Ref'] === 'AWS::NoValue')),
  );
}

/**
 * Actions allowed on Resource "*", each with its reason. Only these: any
 * other wide statement fails the IAM test.
 */
const VPC_NETWORK_INTERFACE_ACTIONS: Readonly<Record<string, string>> = {
  'ec2:CreateNetworkInterface':
    "Lambda creates the VPC function's network interfaces with its role",
  'ec2:DescribeNetworkInterfaces': 'no resource-level permission: works only on "*"',
  'ec2:DescribeSubnets': 'no resource-level permission: works only on "*"',
  'ec2:DeleteNetworkInterface': 'Lambda deletes the interfaces it created with the role',
  'ec2:AssignPrivateIpAddresses': "Lambda assigns the interfaces' addresses",
  'ec2:UnassignPrivateIpAddresses': "Lambda releases the interfaces' addresses",
};

/** AWS managed policies the deployed template may attach, by name (after `policy/`), each with its reason. */
const MANAGED_POLICY_ALLOW_LIST: Readonly<Record<string, string>> = {
  'service-role/AmazonAPIGatewayPushToCloudWatchLogs':
    "API Gateway's account-level CloudWatch Logs role (CreateApiGatewayCloudWatchRole), which " +
    'access logs need: AWS documents this policy for it, and the role serves every API of the ' +
    'account and region, so it cannot be scoped to this stack',
};

/** The statements of an IAM resource's properties: its PolicyDocument and each of its Policies' documents. */
function policyStatements(properties: unknown): Json[] {
  if (!isObject(properties)) return [];
  const documents = [
    properties['PolicyDocument'],
    ...(Array.isArray(properties['Policies']) ? (properties['Policies'] as unknown[]) : []).map(
      (p) => (isObject(p) ? p['PolicyDocument'] : undefined),
    ),
  ];
  return documents.flatMap((d) =>
    isObject(d) && Array.isArray(d['Statement']) ? (d['Statement'] as Json[]) : [],
  );
}

/** The managed policies every IAM resource of a CloudFormation template attaches, by name. */
function managedPolicies(deployed: Readonly<Record<string, unknown>>): string[] {
  const resources = Object.values((deployed['Resources'] ?? {}) as Record<string, Resource>);
  return (
    resources
      // A resource without Properties (a wait condition handle) attaches none.
      .flatMap((r) => [(r.Properties as Json | undefined)?.['ManagedPolicyArns'] ?? []].flat())
      .map((arn) => JSON.stringify(arn))
      .map((arn) => /:policy\/([^"]+)"/.exec(arn)?.[1] ?? arn)
  );
}

let deployed: { readonly Resources: Readonly<Record<string, Resource>> } | undefined;
/** The template as CloudFormation deploys it (SAM's transform applied), made once. */
function deployedTemplate(): { readonly Resources: Readonly<Record<string, Resource>> } {
  deployed ??= samTransform(TEMPLATE_FILE) as unknown as {
    readonly Resources: Readonly<Record<string, Resource>>;
  };
  return deployed;
}

describe('SAM template: structure', () => {
  it('is valid against the SAM and CloudFormation resource specification', () => {
    // Prepare: the parsed template (module scope).

    // Act
    const issues = validateTemplate(template);

    // Assess
    expect(issues).toEqual([]);
  });

  it("is valid against SAM's JSON schema, which rejects a misspelt property", () => {
    // Prepare: the draft-04 marker is dropped (Ajv 8 reads draft-07; the schema uses nothing the two
    // drafts read differently).
    const schema = samJsonSchema();
    delete schema['$schema'];
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const source = readFileSync(TEMPLATE_FILE, 'utf8');
    const misspelt = parseCfnYaml(source.replace('TenancyConfig:', 'TenancyConfg:'));

    // Act
    const valid = validate(template);
    const errors = validate.errors;
    const misspeltValid = validate(misspelt);

    // Assess
    expect(errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(misspeltValid).toBe(false);
  });

  it("passes AWS's cfn-lint (SAM's transform, then CloudFormation's schemas), which catches a broken copy", () => {
    // Prepare
    const broken = join(mkdtempSync(join(tmpdir(), 'wr-sam-lint-')), 'template.yaml');
    onTestFinished(() => {
      rmSync(dirname(broken), { recursive: true, force: true });
    });
    writeFileSync(
      broken,
      readFileSync(TEMPLATE_FILE, 'utf8').replace(
        'TenantIsolationMode: PER_TENANT',
        'TenantIsolationMode: PER_KEY',
      ),
    );

    // Act
    const lint = runCfnLint(TEMPLATE_FILE);
    const brokenLint = runCfnLint(broken);

    // Assess
    expect(lint.output).toBe('');
    expect(lint.exitCode).toBe(0);
    expect(brokenLint.output).toMatch(/E3030.*PER_KEY/);
  }, 120_000);

  it('deploys exactly the PER_TENANT example functions plus the authorizer', () => {
    // Prepare
    const perTenant = declared.filter((f) => f.tenancy === 'PER_TENANT').map((f) => f.name);

    // Act
    const functions = resourcesOf('AWS::Serverless::Function').map(([id]) => id);

    // Assess: the list here is functions.json's, so a new PER_TENANT example fails until it is added.
    expect([...EXAMPLES].sort()).toEqual([...perTenant].sort());
    expect(functions.sort()).toEqual(
      [...EXAMPLES.map((name) => exampleResource(name)[0]), 'TenantAuthorizerFunction'].sort(),
    );
  });

  it.each(EXAMPLES)(
    '%s: PER_TENANT, Node.js 22, memory and timeout as in functions.json',
    (name) => {
      // Prepare
      const decl = declaration(name);

      // Act
      const [, fn] = exampleResource(name);

      // Assess
      expect(fn.Properties['TenancyConfig']).toEqual({ TenantIsolationMode: decl.tenancy });
      expect(fn.Properties['Runtime']).toBe('nodejs22.x');
      expect(fn.Properties['MemorySize']).toBe(decl.memoryMb);
      expect(fn.Properties['Timeout']).toBe(decl.timeoutSeconds);
      expect(fn.Properties['Handler']).toBe(decl.handler);
    },
  );

  it.each(EXAMPLES)(
    '%s: sets the function-library variables functions.json asks for, and no others',
    (name) => {
      // Prepare
      const decl = declaration(name);
      const libraryVariables = Object.values(FUNCTION_ENVIRONMENT).map((v) => v.env);

      // Act
      const [, fn] = exampleResource(name);
      const env =
        (fn.Properties['Environment'] as { Variables: Json } | undefined)?.Variables ?? {};

      // Assess: every name is one the library reads (lambda/environment.ts) ...
      for (const variable of Object.keys(env)) expect(libraryVariables).toContain(variable);
      // ... each variable functions.json declares is there, and the Redis password goes with the URL.
      const expected = new Set(Object.keys(decl.environment ?? {}));
      if (expected.has(FUNCTION_ENVIRONMENT.snapshotRedisUrl.env)) {
        expected.add(FUNCTION_ENVIRONMENT.snapshotRedisPassword.env);
      }
      expect(Object.keys(env).sort()).toEqual([...expected].sort());
    },
  );

  it('the authorizer is not PER_TENANT (API Gateway invokes it without a tenant ID) and runs on Node.js 22', () => {
    // Prepare
    const authorizer = template.Resources['TenantAuthorizerFunction'];

    // Act
    const tenancy = authorizer?.Properties['TenancyConfig'];

    // Assess
    expect(authorizer?.Type).toBe('AWS::Serverless::Function');
    expect(tenancy).toBeUndefined();
    expect(authorizer?.Properties['Runtime']).toBe('nodejs22.x');
  });

  it('says in its Description that the gateway is not in it and runs as a container', () => {
    // Prepare
    const text = String((template as unknown as Json)['Description']);

    // Act
    const mentions = /gateway is not part of this template/.test(text) && /container/.test(text);

    // Assess
    expect(mentions).toBe(true);
  });
});

describe('SAM template: the REST API and the X-Amz-Tenant-Id mapping', () => {
  const [apiId, api] = resourcesOf('AWS::Serverless::Api')[0]!;
  const body = api.Properties['DefinitionBody'] as {
    components: { securitySchemes: Record<string, Json> };
    paths: Record<string, Record<string, Json>>;
  };
  const METHODS = [
    'get',
    'put',
    'post',
    'delete',
    'patch',
    'head',
    'options',
    'x-amazon-apigateway-any-method',
  ];
  const operations = Object.entries(body.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op })),
  );

  it('has operations, each behind the token authorizer backed by TenantAuthorizerFunction', () => {
    // Prepare
    const schemes = body.components.securitySchemes;

    // Act
    const unprotected = operations.filter(({ op }) => {
      const security = op['security'] as Record<string, unknown>[] | undefined;
      const names = (security ?? []).flatMap((s) => Object.keys(s));
      return !names.some((n) => isObject(schemes[n]?.['x-amazon-apigateway-authorizer']));
    });

    // Assess
    expect(operations.length).toBeGreaterThan(0);
    expect(unprotected.map(({ path, method }) => `${method} ${path}`)).toEqual([]);
    for (const scheme of Object.values(schemes)) {
      const authorizer = scheme['x-amazon-apigateway-authorizer'] as Json;
      expect(authorizer['type']).toBe('token');
      expect(JSON.stringify(authorizer['authorizerUri'])).toContain(
        '${TenantAuthorizerFunction.Arn}',
      );
    }
  });

  it('does not cache authorizer answers, so no token is let in after its expiry', () => {
    // Prepare
    const schemes = Object.values(body.components.securitySchemes);

    // Act
    const ttls = schemes.map(
      (scheme) =>
        (scheme['x-amazon-apigateway-authorizer'] as Json)['authorizerResultTtlInSeconds'],
    );

    // Assess
    expect(ttls.length).toBeGreaterThan(0);
    expect(ttls).toEqual(schemes.map(() => 0));
  });

  it("throttles the whole stage, by default at the CDK tenant API stack's rate and burst", () => {
    // Prepare
    const stages = Object.values(deployedTemplate().Resources).filter(
      (r) => r.Type === 'AWS::ApiGateway::Stage',
    );
    const params = parameterValues();

    // Act
    const settings = stages.map((stage) => resolveRefs(stage.Properties['MethodSettings'], params));

    // Assess
    expect(settings).toEqual([
      [
        {
          ResourcePath: '/*',
          HttpMethod: '*',
          ThrottlingRateLimit: DEFAULT_THROTTLE.rateLimit,
          ThrottlingBurstLimit: DEFAULT_THROTTLE.burstLimit,
        },
      ],
    ]);
  });

  it('writes access logs, with the tenant, to a log group with a retention', async () => {
    // Prepare: the context key the authorizer sets, from its own answer.
    const deployed = deployedTemplate().Resources;
    const [stage] = Object.values(deployed).filter((r) => r.Type === 'AWS::ApiGateway::Stage');
    const secret = randomBytes(MIN_SECRET_BYTES);
    const answer = await createAuthorizer({ loadSecret: () => Promise.resolve(secret) })({
      type: 'TOKEN',
      authorizationToken: issueToken(secret, 'BlueTenant', Math.floor(Date.now() / 1000) + 60),
      methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/counter',
    });
    const [contextKey] = Object.keys(answer.context);

    // Act
    const setting = stage?.Properties['AccessLogSetting'] as
      { DestinationArn: { 'Fn::GetAtt': [string, string] }; Format: string } | undefined;
    const logGroup = deployed[setting?.DestinationArn['Fn::GetAtt'][0] ?? ''];
    const fields = JSON.parse(setting?.Format ?? '{}') as Record<string, string>;

    // Assess
    expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup?.Properties['RetentionInDays']).toEqual({ Ref: 'LogRetentionDays' });
    expect(Object.values(fields)).toEqual(
      expect.arrayContaining([
        '$context.requestId',
        '$context.status',
        `$context.authorizer.${contextKey ?? ''}`,
      ]),
    );
  });

  it("sets API Gateway's account logging role before the stage exists, unless told the account has one", () => {
    // Prepare
    const account = template.Resources['ApiGatewayAccount'] as Resource & { Condition?: string };
    const ready = template.Resources['ApiGatewayAccountReady'];
    const api = template.Resources[apiId] as Resource & { DependsOn?: string | string[] };

    // Act
    const created = evaluate({ Condition: account.Condition }, parameterValues());
    const notCreated = evaluate(
      { Condition: account.Condition },
      parameterValues({ CreateApiGatewayCloudWatchRole: 'false' }),
    );

    // Assess: the API waits for the handle, which refers to the account setting when it is created.
    expect(created).toBe(true);
    expect(notCreated).toBe(false);
    expect([api.DependsOn].flat()).toContain('ApiGatewayAccountReady');
    expect(JSON.stringify(ready?.Metadata)).toContain('{"Ref":"ApiGatewayAccount"}');
  });

  it('keeps every log group of the deployed template for a limited time', () => {
    // Prepare
    const logGroups = Object.entries(deployedTemplate().Resources).filter(
      ([, r]) => r.Type === 'AWS::Logs::LogGroup',
    );

    // Act
    const withoutRetention = logGroups.filter(
      ([, r]) => r.Properties['RetentionInDays'] === undefined,
    );

    // Assess: four functions and the access logs.
    expect(logGroups).toHaveLength(EXAMPLES.length + 2);
    expect(withoutRetention.map(([id]) => id)).toEqual([]);
  });

  it('maps X-Amz-Tenant-Id from the context key the authorizer sets, by default', async () => {
    // Prepare: the key comes from the authorizer's own answer, not from this test.
    const secret = randomBytes(MIN_SECRET_BYTES);
    const authorize = createAuthorizer({ loadSecret: () => Promise.resolve(secret) });
    const answer = await authorize({
      type: 'TOKEN',
      authorizationToken: issueToken(secret, 'BlueTenant', Math.floor(Date.now() / 1000) + 60),
      methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/counter',
    });
    const [contextKey] = Object.keys(answer.context);

    // Act
    const declaredParameters = operations.map(
      ({ op }) => (resolveIfs(op, parameterValues()) as Json)['parameters'],
    );
    const mapped = operations.map(({ op }) => {
      const integration = resolveIfs(
        op['x-amazon-apigateway-integration'],
        parameterValues(),
      ) as Json;
      return (integration['requestParameters'] as Json)[
        'integration.request.header.X-Amz-Tenant-Id'
      ];
    });

    // Assess
    expect(answer.context).toEqual({ tenantId: 'BlueTenant' });
    // No client header is even declared: nothing the client sends can reach the mapping.
    expect(declaredParameters).toEqual(operations.map(() => undefined));
    expect(new Set(mapped)).toEqual(new Set([`context.authorizer.${contextKey ?? ''}`]));
  });

  it('maps a client-supplied header only under TenantIdSource=client-header, documented as dangerous', () => {
    // Prepare
    const source = template.Parameters['TenantIdSource']!;
    const clientHeader = parameterValues({ TenantIdSource: 'client-header' });

    // Act
    const resolved = operations.map(({ op }) => resolveIfs(op, clientHeader) as Json);

    // Assess
    expect(source['Default']).toBe('authorizer');
    expect(source['AllowedValues']).toEqual(['authorizer', 'client-header']);
    expect(String(source['Description'])).toMatch(/DANGEROUS.*another\s+tenant/s);
    for (const op of resolved) {
      const integration = op['x-amazon-apigateway-integration'] as Json;
      const header = (integration['requestParameters'] as Json)[
        'integration.request.header.X-Amz-Tenant-Id'
      ];
      expect(header).toBe('method.request.header.x-tenant-id');
      // API Gateway maps only a declared method request parameter; declared required, so a request
      // without it is refused rather than sent to Lambda without a tenant ID.
      expect(op['parameters']).toEqual([
        { name: 'x-tenant-id', in: 'header', required: true, schema: { type: 'string' } },
      ]);
      expect(op['security']).toBeDefined();
    }
  });

  it('lets API Gateway invoke each integrated function and the authorizer only through this API', () => {
    // Prepare
    const integrated = new Set(
      operations.map(({ op }) => {
        const uri = JSON.stringify((op['x-amazon-apigateway-integration'] as Json)['uri']);
        return /\$\{(\w+)\.Arn\}/.exec(uri)?.[1];
      }),
    );
    integrated.add('TenantAuthorizerFunction');
    const apiArn = `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${apiId}}/`;

    // Act
    const permissions = resourcesOf('AWS::Lambda::Permission').map(([, p]) => p.Properties);

    // Assess
    for (const fn of integrated) {
      const own = permissions.filter(
        (p) => isObject(p['FunctionName']) && p['FunctionName']['Ref'] === fn,
      );
      expect(own, `${String(fn)} has one invoke permission`).toHaveLength(1);
    }
    for (const p of permissions) {
      expect(p['Action']).toBe('lambda:InvokeFunction');
      expect(p['Principal']).toBe('apigateway.amazonaws.com');
      expect((p['SourceArn'] as { 'Fn::Sub': string })['Fn::Sub'].startsWith(apiArn)).toBe(true);
    }
  });
});

describe('SAM README: the gateway side', () => {
  /** The `NAME='…'` assignments of the README's shell blocks. */
  function readmeAssignments(): Record<string, string> {
    const readme = readFileSync(join(SAM_DIR, 'README.md'), 'utf8');
    return Object.fromEntries(
      [...readme.matchAll(/^(WARMROUTE_[A-Z_]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
  }

  it("names each deployed function by its output's ARN in WARMROUTE_FUNCTIONS, with functions.json's settings, and the gateway loads it", () => {
    // Prepare
    const env = readmeAssignments();
    const functions = JSON.parse(env['WARMROUTE_FUNCTIONS'] ?? '{}') as Record<string, unknown>;
    /** A function ARN as GetAtt Arn gives it, for SAM's `<stack>-<LogicalId>-<random>` name. */
    const arnOf = (logicalId: string): RegExp =>
      new RegExp(
        `^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9-]+-${logicalId}-[A-Za-z0-9]+$`,
      );

    // Act
    const config = loadConfig({
      WARMROUTE_ENV: 'production',
      WARMROUTE_BACKEND: 'aws',
      WARMROUTE_SECRET: randomBytes(16).toString('hex'),
      WARMROUTE_ADMIN_TOKEN: randomBytes(16).toString('hex'),
      REDIS_URL: 'rediss://gateway@redis.example:6379',
      WARMROUTE_FUNCTIONS: env['WARMROUTE_FUNCTIONS'],
      WARMROUTE_ROUTES: env['WARMROUTE_ROUTES'],
    });

    // Assess: one entry per example, keyed by an ARN of its resource, with the deployed settings.
    expect(Object.keys(functions)).toHaveLength(EXAMPLES.length);
    for (const name of EXAMPLES) {
      const [logicalId] = exampleResource(name);
      const decl = declaration(name);
      const keys = Object.keys(functions).filter((key) => arnOf(logicalId).test(key));
      expect(keys, name).toHaveLength(1);
      expect(functions[keys[0] ?? ''], name).toEqual({
        timeoutSeconds: decl.timeoutSeconds,
        memoryMb: decl.memoryMb,
        tenancy: decl.tenancy,
      });
      // The output the README tells users to copy is that resource's ARN.
      expect(Object.values(template.Outputs).map((o) => o.Value)).toContainEqual({
        'Fn::GetAtt': [logicalId, 'Arn'],
      });
    }
    expect(Object.keys(config.functions).sort()).toEqual(Object.keys(functions).sort());
    expect(config.routes.map((r) => r.function)).toEqual([
      Object.keys(functions).find((key) => arnOf(exampleResource('counter')[0]).test(key)),
    ]);
  });
});

describe('SAM template: secrets and IAM', () => {
  const SECRETISH = /secret|password|token/i;

  it('takes secrets only as NoEcho parameters without defaults that hold a value', () => {
    // Prepare
    const secretParams = Object.entries(template.Parameters).filter(([name]) =>
      SECRETISH.test(name),
    );

    // Act
    const loose = secretParams.filter(
      ([, p]) => p['NoEcho'] !== true || (p['Default'] ?? '') !== '',
    );

    // Assess
    expect(secretParams.length).toBeGreaterThanOrEqual(2);
    expect(loose.map(([name]) => name)).toEqual([]);
  });

  it('puts the Redis password into the functions only as a Secrets Manager dynamic reference', () => {
    // Prepare
    const variable = FUNCTION_ENVIRONMENT.snapshotRedisPassword.env;
    const withPassword = parameterValues({
      SnapshotRedisPasswordSecretArn:
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf',
    });

    // Act
    const values = resourcesOf('AWS::Serverless::Function').flatMap(([, fn]) => {
      const env = resolveIfs(fn.Properties['Environment'], withPassword) as
        { Variables: Json } | undefined;
      return Object.entries(env?.Variables ?? {})
        .filter(([name]) => SECRETISH.test(name) && !name.endsWith('_ARN'))
        .map(([name, value]) => ({ name, value }));
    });
    const unset = resourcesOf('AWS::Serverless::Function').map(([, fn]) =>
      Object.keys(
        (
          resolveIfs(fn.Properties['Environment'], parameterValues()) as
            { Variables: Json } | undefined
        )?.Variables ?? {},
      ),
    );

    // Assess
    expect(values.length).toBeGreaterThan(0);
    for (const { name, value } of values) {
      expect(name).toBe(variable);
      expect(value).toEqual({
        'Fn::Sub': '{{resolve:secretsmanager:${SnapshotRedisPasswordSecretArn}:SecretString}}',
      });
    }
    // Without a secret the variable is left out (an empty password would be sent as AUTH "").
    for (const names of unset) expect(names).not.toContain(variable);
  });

  it('refuses a Redis URL with a password in it (the password belongs in Secrets Manager)', () => {
    // Prepare
    const pattern = new RegExp(String(template.Parameters['SnapshotRedisUrl']!['AllowedPattern']));

    // Act
    const verdicts = [
      '',
      'rediss://cache.internal:6379',
      'rediss://:hunter2@cache.internal:6379',
    ].map((u) => pattern.test(u));

    // Assess
    expect(verdicts).toEqual([true, true, false]);
  });

  it('has no IAM statement with a * resource or action, but the network interface actions of a VPC function', () => {
    // Prepare: every policy document of every IAM resource, for the default parameters and in a VPC.
    const inVpc = parameterValues({ VpcSubnetIds: 'subnet-1', VpcSecurityGroupIds: 'sg-1' });
    const statementsWith = (params: Readonly<Record<string, unknown>>): Json[] =>
      Object.values(template.Resources)
        .filter((r) => r.Type.startsWith('AWS::IAM::'))
        .flatMap((r) => policyStatements(resolveIfs(r.Properties, params)));
    const isWide = (s: Json): boolean =>
      [s['Resource'], s['Action']].flat().some((v) => typeof v === 'string' && v.includes('*'));

    // Act
    const wideByDefault = statementsWith(parameterValues()).filter(isWide);
    const wideInVpc = statementsWith(inVpc).filter(isWide);

    // Assess
    expect(statementsWith(parameterValues()).length).toBeGreaterThan(0);
    expect(wideByDefault).toEqual([]);
    // One per VPC function (warm-counter, workspace), and only the allow-listed actions.
    expect(wideInVpc).toHaveLength(2);
    for (const s of wideInVpc) {
      expect(s['Resource']).toBe('*');
      expect([s['Action']].flat().sort()).toEqual(
        Object.keys(VPC_NETWORK_INTERFACE_ACTIONS).sort(),
      );
    }
  });

  it("grants no managed policy (after SAM's transform), which catches a function without its own role", () => {
    // Prepare: a copy in which counter has no Role, so SAM creates one for it.
    const copy = join(mkdtempSync(join(tmpdir(), 'wr-sam-role-')), 'template.yaml');
    onTestFinished(() => {
      rmSync(dirname(copy), { recursive: true, force: true });
    });
    const source = readFileSync(TEMPLATE_FILE, 'utf8');
    const withoutRole = source.replace(
      '      Role: !GetAtt CounterFunctionExecutionRole.Arn\n',
      '',
    );
    expect(withoutRole).not.toBe(source);
    writeFileSync(copy, withoutRole);

    // Act
    const granted = managedPolicies(deployedTemplate());
    const grantedWithoutRole = managedPolicies(samTransform(copy));

    // Assess
    expect(granted.filter((name) => !(name in MANAGED_POLICY_ALLOW_LIST))).toEqual([]);
    expect(grantedWithoutRole).toContain('service-role/AWSLambdaBasicExecutionRole');
  }, 60_000);

  it('each function logs to a log group of its own with a retention, and its role may write only there', () => {
    // Prepare
    const deployed = deployedTemplate().Resources;
    const functions = Object.entries(deployed).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );

    // Act
    const checks = functions.map(([id, fn]) => {
      const logging = fn.Properties['LoggingConfig'] as { LogGroup?: { Ref?: string } } | undefined;
      const logGroupId = String(logging?.LogGroup?.Ref);
      const roleId = ((fn.Properties['Role'] as Json)['Fn::GetAtt'] as string[])[0] ?? '';
      const logStatements = policyStatements(deployed[roleId]?.Properties).filter((s) =>
        [s['Action']].flat().some((a) => typeof a === 'string' && a.startsWith('logs:')),
      );
      return {
        id,
        logGroupId,
        roleId,
        logGroup: deployed[logGroupId],
        logResources: logStatements.map((s) => s['Resource']),
      };
    });

    // Assess
    expect(checks).toHaveLength(EXAMPLES.length + 1);
    for (const c of checks) {
      expect(c.logGroup?.Type, c.id).toBe('AWS::Logs::LogGroup');
      expect(c.logGroup?.Properties['RetentionInDays'], c.id).toEqual({ Ref: 'LogRetentionDays' });
      expect(c.logResources, c.id).toEqual([{ 'Fn::GetAtt': [c.logGroupId, 'Arn'] }]);
    }
    // Nothing shared: one log group and one role per function.
    expect(new Set(checks.map((c) => c.logGroupId)).size).toBe(checks.length);
    expect(new Set(checks.map((c) => c.roleId)).size).toBe(checks.length);
    expect(template.Parameters['LogRetentionDays']?.['Default']).toBeGreaterThan(0);
  });
});

// --- the builds, as `sam build` runs them ---

/**
 * SAM's esbuild method (aws-lambda-builders, nodejs_npm_esbuild/esbuild.py):
 * `--bundle --platform=node --outdir=<artifacts>`, es2020/cjs/minify unless
 * set, then these BuildProperties, each in its own form. A property outside
 * these lists would be ignored by SAM, so it fails here.
 */
const ESBUILD_BOOLEAN = ['Minify', 'Sourcemap'];
const ESBUILD_SINGLE = ['Target', 'Format', 'MainFields', 'SourcesContent'];
const ESBUILD_MULTI = ['External', 'Loader', 'OutExtension', 'Banner'];

function kebab(pascal: string): string {
  return pascal.replace(/[A-Z]/g, (c, i: number) =>
    i === 0 ? c.toLowerCase() : `-${c.toLowerCase()}`,
  );
}

function esbuildArgs(props: Json, outdir: string): string[] {
  const args = ['--bundle', '--platform=node', `--outdir=${outdir}`];
  if (!('Target' in props)) args.push('--target=es2020');
  if (!('Format' in props)) args.push('--format=cjs');
  if (!('Minify' in props)) args.push('--minify');
  for (const [key, value] of Object.entries(props)) {
    if (key === 'EntryPoints') continue;
    if (ESBUILD_BOOLEAN.includes(key)) {
      if (value === true) args.push(`--${kebab(key)}`);
    } else if (ESBUILD_SINGLE.includes(key)) args.push(`--${kebab(key)}=${String(value)}`);
    else if (ESBUILD_MULTI.includes(key)) {
      expect(Array.isArray(value), `${key} is a list`).toBe(true);
      for (const item of value as unknown[]) args.push(`--${kebab(key)}:${String(item)}`);
    } else throw new Error(`BuildProperties.${key} is not an esbuild option SAM passes on`);
  }
  args.push(...(props['EntryPoints'] as string[]));
  return args;
}

let workDir: string;
const artifacts = new Map<string, string>();

function requireTool(tool: string, install: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is required for the SAM build check: install it (${install})`);
  }
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'wr-sam-'));
  requireTool('make', 'apt-get install make');
  const esbuild = join(REPO_ROOT, 'node_modules', '.bin', 'esbuild');
  for (const [id, fn] of resourcesOf('AWS::Serverless::Function')) {
    const out = join(workDir, id);
    const method = fn.Metadata?.['BuildMethod'];
    if (method === 'esbuild') {
      const props = fn.Metadata?.['BuildProperties'] as Json;
      execFileSync(esbuild, esbuildArgs(props, out), { cwd: sourceDirOf(fn), stdio: 'pipe' });
    } else if (method === 'makefile') {
      // As SAM does: from a scratch folder, `make --makefile <CodeUri>/Makefile build-<id>`.
      const scratch = mkdtempSync(join(workDir, 'scratch-'));
      execFileSync('make', ['--makefile', join(sourceDirOf(fn), 'Makefile'), `build-${id}`], {
        cwd: scratch,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ARTIFACTS_DIR: out },
        stdio: 'pipe',
      });
    } else throw new Error(`${id}: BuildMethod ${String(method)} is neither esbuild nor makefile`);
    artifacts.set(id, out);
  }
}, 120_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** What the child runs: import the bundle, call the handler once per invocation, print the results. */
const RUNNER = `
const [bundle, exportName, invocationsJson] = process.argv.slice(1);
const handler = (await import(bundle))[exportName];
const results = [];
for (const { event, tenantId } of JSON.parse(invocationsJson)) {
  const deadline = Date.now() + 10_000;
  results.push(await handler(event, {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    awsRequestId: Math.random().toString(16).slice(2),
    tenantId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  }));
}
process.stdout.write('\\n@@results ' + JSON.stringify(results) + '\\n');
process.exit(0);
`;

/** One execution environment: a child node in the artifact folder, nothing of this repository reachable. */
async function runEnvironment(
  logicalId: string,
  env: Readonly<Record<string, string>>,
  invocations: readonly { event: unknown; tenantId: string }[],
): Promise<{ statusCode: number; body: string }[]> {
  const dir = artifacts.get(logicalId)!;
  const handler = String(template.Resources[logicalId]!.Properties['Handler']);
  const [file, exportName] = handler.split('.') as [string, string];
  const bundle = ['.mjs', '.js'].map((ext) => join(dir, file + ext)).find((f) => existsSync(f));
  if (bundle === undefined)
    throw new Error(`${logicalId}: no ${file}.mjs or ${file}.js in the artifact`);
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    execFile(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        RUNNER,
        new URL(`file://${bundle}`).href,
        exportName,
        JSON.stringify(invocations),
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          TMPDIR: mkdtempSync(join(workDir, 'tmp-')),
          ...env,
        },
        timeout: 20_000,
      },
      (err, out, errOut) => {
        if (err !== null) reject(new Error(`${logicalId} failed: ${err.message}\n${errOut}`));
        else resolvePromise(out);
      },
    );
  });
  const line = stdout.split('\n').find((l) => l.startsWith('@@results '));
  if (line === undefined) throw new Error(`${logicalId} printed no results:\n${stdout}`);
  return JSON.parse(line.slice('@@results '.length)) as { statusCode: number; body: string }[];
}

describe('SAM build: each function built as sam build builds it, then run', () => {
  it('the esbuild entry points exist and target the runtime', () => {
    // Prepare
    const esbuildFunctions = resourcesOf('AWS::Serverless::Function').filter(
      ([, fn]) => fn.Metadata?.['BuildMethod'] === 'esbuild',
    );

    // Act
    const checks = esbuildFunctions.map(([id, fn]) => {
      const props = fn.Metadata?.['BuildProperties'] as Json;
      const entries = props['EntryPoints'] as string[];
      return {
        id,
        entriesExist: entries.every((e) => existsSync(join(sourceDirOf(fn), e))),
        target: props['Target'],
        runtime: fn.Properties['Runtime'],
      };
    });

    // Assess
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) {
      expect(c.entriesExist, c.id).toBe(true);
      expect(`nodejs${String(c.target).replace('node', '')}.x`, c.id).toBe(c.runtime);
    }
  });

  it('counter answers with its tenant ID', async () => {
    // Prepare
    const [id] = exampleResource('counter');

    // Act
    const [first, second] = await runEnvironment(id, { AWS_LAMBDA_FUNCTION_NAME: 'counter' }, [
      { event: {}, tenantId: 'BlueTenant' },
      { event: {}, tenantId: 'BlueTenant' },
    ]);

    // Assess
    expect(JSON.parse(first!.body)).toEqual({ counter: 0, tenantId: 'BlueTenant' });
    expect(JSON.parse(second!.body)).toEqual({ counter: 1, tenantId: 'BlueTenant' });
  });

  it.each(['warm-counter', 'workspace'] as const)(
    '%s carries the snapshot store Lua scripts and a warmroute package root beside its bundle',
    (name) => {
      // Prepare
      const [id] = exampleResource(name);
      const dir = artifacts.get(id)!;

      // Act
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
      };
      const lua = join(dir, relative(REPO_ROOT, scriptFolder('snapshot')));

      // Assess
      expect(manifest.name).toBe('warmroute');
      expect(existsSync(join(lua, 'cas-snapshot-1.lua'))).toBe(true);
    },
  );

  it('build-function.mjs bundles warmroute/lambda from the TypeScript sources, not from a stale dist/', () => {
    // Prepare: a scratch copy of what the build reads (the script, lambda/, src/, package.json;
    // node_modules linked) whose dist/lambda, where the package's "exports" point, is stale.
    const STALE = `stale-dist-${randomBytes(4).toString('hex')}`;
    const scratch = mkdtempSync(join(workDir, 'stale-dist-'));
    for (const dir of ['lambda', 'src']) {
      cpSync(join(REPO_ROOT, dir), join(scratch, dir), { recursive: true });
    }
    cpSync(join(REPO_ROOT, 'package.json'), join(scratch, 'package.json'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(scratch, 'node_modules'));
    const script = join(scratch, relative(REPO_ROOT, SAM_DIR), 'functions', 'build-function.mjs');
    mkdirSync(dirname(script), { recursive: true });
    cpSync(join(SAM_DIR, 'functions', 'build-function.mjs'), script);
    mkdirSync(join(scratch, 'dist', 'lambda'), { recursive: true });
    writeFileSync(
      join(scratch, 'dist', 'lambda', 'index.js'),
      `export function withWarmState() { throw new Error('${STALE}'); }\n`,
    );
    const out = join(scratch, 'artifact');

    // Act
    execFileSync(process.execPath, [script, 'warm-counter', out], { stdio: 'pipe' });
    const bundle = readFileSync(join(out, 'index.mjs'), 'utf8');

    // Assess: the library's own code is in the bundle, the stale build is not.
    expect(bundle).not.toContain(STALE);
    expect(bundle).toMatch(/function withWarmState\(/);
  });

  it('warm-counter keeps its state in Redis across execution environments', async () => {
    // Prepare: a function name of its own, so its snapshot key is this test's alone.
    const [id] = exampleResource('warm-counter');
    const functionName = `sam-test-${randomBytes(4).toString('hex')}`;
    const tenantId = 'BlueTenant';
    const key = snapshotKey(
      DEFAULT_SNAPSHOT_KEY_PREFIX,
      snapshotId({
        functionName,
        namespace: DIRECT_NAMESPACE,
        epoch: '',
        generation: 0,
        key: `tenant:${tenantId}`,
      }),
    );
    const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    onTestFinished(async () => {
      await redis.del(key);
      redis.disconnect();
    });
    const env = {
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      [FUNCTION_ENVIRONMENT.snapshotRedisUrl.env]: SHARED_REDIS_URL,
    };

    // Act: two environments, one after the other (the second starts with an empty /tmp).
    const [first] = await runEnvironment(id, env, [{ event: {}, tenantId }]);
    const [second] = await runEnvironment(id, env, [{ event: {}, tenantId }]);

    // Assess
    expect(JSON.parse(first!.body)).toEqual({ counter: 0, tenantId });
    expect(JSON.parse(second!.body)).toEqual({ counter: 1, tenantId });
    expect(await redis.exists(key)).toBe(1);
  });

  it('workspace answers an RPC call from its bundle', async () => {
    // Prepare
    const [id] = exampleResource('workspace');

    // Act
    const [put, got] = await runEnvironment(
      id,
      {
        AWS_LAMBDA_FUNCTION_NAME: 'workspace',
        [FUNCTION_ENVIRONMENT.snapshotDir.env]: join(workDir, 'snapshots'),
      },
      [
        { event: { op: 'put', id: 'd1', doc: { title: 'x' } }, tenantId: 'BlueTenant' },
        { event: { op: 'get', id: 'd1' }, tenantId: 'BlueTenant' },
      ],
    );

    // Assess
    expect(put).toBeDefined();
    expect(JSON.stringify(got)).toContain('"title":"x"');
  });

  it('the authorizer bundle leaves the AWS SDK to the Lambda runtime', () => {
    // Prepare
    const dir = artifacts.get('TenantAuthorizerFunction')!;

    // Act
    const bundle = readFileSync(join(dir, 'index.js'), 'utf8');

    // Assess: required at run time (CommonJS, so NODE_PATH finds the runtime's SDK), not bundled.
    expect(bundle).toContain('require("@aws-sdk/client-secrets-manager")');
    expect(bundle).not.toMatch(/class SecretsManagerClient\b/);
  });
});

describe('example authorizer', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
  const now = 1_800_000_000;
  const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/counter';

  it('accepts a token it issued and returns the tenant ID, allowing the whole stage', async () => {
    // Prepare
    const authorize = createAuthorizer({
      loadSecret: () => Promise.resolve(secret),
      nowMs: () => now * 1000,
    });
    const token = `Bearer ${issueToken(secret, 'tenant.blue@example.com', now + 60)}`;

    // Act
    const result = await authorize({ type: 'TOKEN', authorizationToken: token, methodArn });

    // Assess
    expect(result.context).toEqual({ tenantId: 'tenant.blue@example.com' });
    expect(result.principalId).toBe('tenant.blue@example.com');
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*',
      },
    ]);
  });

  it('refuses a token whose tenant was changed, one signed with another secret, an expired one and garbage', () => {
    // Prepare
    const good = issueToken(secret, 'BlueTenant', now + 60);
    const [version, , expiry, signature] = good.split('.');
    const otherTenant = `${version}.${Buffer.from('RedTenant').toString('base64url')}.${expiry}.${signature}`;
    const otherSecret = issueToken(
      Buffer.from('another-secret-of-32-bytes-length!'),
      'BlueTenant',
      now + 60,
    );
    const expired = issueToken(secret, 'BlueTenant', now);

    // Act
    const verdicts = [otherTenant, otherSecret, expired, 'anything', '', 'v1.a.b.c'].map((t) =>
      verifyToken(secret, t, now),
    );

    // Assess
    expect(verdicts).toEqual([
      { ok: false, reason: 'bad-signature' },
      { ok: false, reason: 'bad-signature' },
      { ok: false, reason: 'expired' },
      { ok: false, reason: 'malformed' },
      { ok: false, reason: 'malformed' },
      { ok: false, reason: 'malformed' },
    ]);
  });

  it('refuses every other spelling of a valid token: the last character\'s unused bits, "~", "=" padding', () => {
    // Prepare: Node's decoder ignores the low 2 bits of a 32-byte signature's last character and
    // skips characters outside the alphabet, so each variant decodes to the valid signature.
    const good = issueToken(secret, 'BlueTenant', now + 60);
    const variants = nonCanonicalSpellings(good);
    const decodesToSame = variants.map((t) =>
      Buffer.from(t.split('.')[3] ?? '', 'base64url').equals(
        Buffer.from(good.split('.')[3] ?? '', 'base64url'),
      ),
    );

    // Act
    const verdicts = variants.map((t) => verifyToken(secret, t, now).ok);

    // Assess
    expect(verifyToken(secret, good, now).ok).toBe(true);
    expect(decodesToSame).toEqual(variants.map(() => true));
    expect(verdicts).toEqual(variants.map(() => false));
  });

  it('refuses a token that lives longer than 24 hours (a leaked token is good for a day at most)', () => {
    // Prepare
    const longest = issueToken(secret, 'BlueTenant', now + MAX_TOKEN_LIFETIME_SECONDS);
    const tooLong = issueToken(secret, 'BlueTenant', now + MAX_TOKEN_LIFETIME_SECONDS + 1);

    // Act
    const verdicts = [longest, tooLong].map((t) => verifyToken(secret, t, now));

    // Assess
    expect(MAX_TOKEN_LIFETIME_SECONDS).toBe(24 * 60 * 60);
    expect(verdicts[0]).toMatchObject({ ok: true });
    expect(verdicts[1]).toEqual({ ok: false, reason: 'lifetime' });
  });

  it('answers Unauthorized (API Gateway: 401) to a bad token, and will not run with a short secret', async () => {
    // Prepare
    const authorize = createAuthorizer({
      loadSecret: () => Promise.resolve(secret),
      nowMs: () => now * 1000,
    });
    const weak = createAuthorizer({
      loadSecret: () => Promise.resolve(Buffer.from('short')),
      nowMs: () => now * 1000,
    });
    const token = issueToken(secret, 'BlueTenant', now + 60);

    // Act
    const bad = authorize({ type: 'TOKEN', authorizationToken: `${token}x`, methodArn });
    const short = weak({ type: 'TOKEN', authorizationToken: token, methodArn });

    // Assess
    await expect(bad).rejects.toThrow(/^Unauthorized$/);
    await expect(short).rejects.toThrow(/at least 32 bytes/);
  });

  it('keeps the secret 5 minutes (as the CDK authorizer), then reads it again: a new secret is in use without a deploy', async () => {
    // Prepare: the secret is replaced in Secrets Manager right after the first request.
    const rotated = Buffer.from('fedcba9876543210fedcba9876543210', 'utf8');
    let stored = secret;
    let loads = 0;
    let clockMs = now * 1000;
    const authorize = createAuthorizer({
      loadSecret: () => {
        loads += 1;
        return Promise.resolve(stored);
      },
      nowMs: () => clockMs,
    });
    const request = (key: Buffer): TokenAuthorizerEvent => ({
      type: 'TOKEN',
      authorizationToken: issueToken(key, 'BlueTenant', Math.floor(clockMs / 1000) + 600),
      methodArn,
    });

    // Act
    await authorize(request(secret));
    stored = rotated;
    clockMs += SECRET_CACHE_TTL_MS - 1;
    const newTokenBeforeTtl = authorize(request(rotated));
    const oldTokenBeforeTtl = await authorize(request(secret));
    const loadsBeforeTtl = loads;
    clockMs += 1;
    const newTokenAfterTtl = await authorize(request(rotated));
    const oldTokenAfterTtl = authorize(request(secret));

    // Assess
    expect(SECRET_CACHE_TTL_MS).toBe(CDK_SECRET_CACHE_TTL_MS);
    expect(SECRET_CACHE_TTL_MS).toBe(5 * 60 * 1000);
    await expect(newTokenBeforeTtl).rejects.toThrow(/^Unauthorized$/);
    expect(oldTokenBeforeTtl.context).toEqual({ tenantId: 'BlueTenant' });
    expect(loadsBeforeTtl).toBe(1);
    expect(newTokenAfterTtl.context).toEqual({ tenantId: 'BlueTenant' });
    await expect(oldTokenAfterTtl).rejects.toThrow(/^Unauthorized$/);
    expect(loads).toBe(2);
  });

  it('does not cache a failed or too-short load: the next request reads the secret again', async () => {
    // Prepare: a throttled read, then a botched rotation (a short secret), then the fixed secret.
    const answers = [
      () => Promise.reject(new Error('throttled')),
      () => Promise.resolve(Buffer.from('short')),
      () => Promise.resolve(secret),
    ];
    let loads = 0;
    const authorize = createAuthorizer({
      loadSecret: () => (answers[loads++] ?? (() => Promise.resolve(secret)))(),
      nowMs: () => now * 1000,
    });
    const event: TokenAuthorizerEvent = {
      type: 'TOKEN',
      authorizationToken: issueToken(secret, 'BlueTenant', now + 60),
      methodArn,
    };

    // Act
    const failure = (e: unknown): string => (e instanceof Error ? e.message : 'not an Error');
    const throttled = await authorize(event).then(() => 'accepted', failure);
    const short = await authorize(event).then(() => 'accepted', failure);
    const fixed = await authorize(event);
    await authorize(event);

    // Assess: three loads for four requests (the good secret is cached), no fourth.
    expect(throttled).toBe('throttled');
    expect(short).toMatch(/at least 32 bytes/);
    expect(fixed.context).toEqual({ tenantId: 'BlueTenant' });
    expect(loads).toBe(3);
  });

  it('takes the stage-wide resource from the method ARN, and refuses an ARN it cannot read', () => {
    // Prepare, Act
    const stage = stageResource(methodArn);
    const bad = (): string => stageResource('not-an-arn');

    // Assess
    expect(stage).toBe('arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*');
    expect(bad).toThrow('Unauthorized');
  });
});
