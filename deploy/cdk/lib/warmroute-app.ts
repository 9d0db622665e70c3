import { App, type AppProps, type Environment } from 'aws-cdk-lib';
import { GatewayStack } from './gateway-stack.js';
import { TenantApiStack } from './tenant-api-stack.js';

export interface WarmrouteApp {
  readonly app: App;
  readonly gateway: GatewayStack;
  readonly tenantApi: TenantApiStack;
}

/** Context keys the app reads (`cdk synth -c desiredCount=3`, or cdk.json `context`). */
export const CONTEXT_KEYS = [
  'prefix',
  'region',
  'desiredCount',
  'maxCount',
  'certificateArn',
  'internetFacing',
  'acknowledgeClientChosenKeys',
  'reservedConcurrency',
  'wafRateLimitPer5Min',
  'deletionProtection',
] as const;

function contextNumber(app: App, key: string): number | undefined {
  const raw: unknown = app.node.tryGetContext(key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value))
    throw new Error(`context ${key} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** `-c key=true` arrives as the string "true"; cdk.json may hold a real boolean. */
function contextBoolean(app: App, key: string): boolean | undefined {
  const raw: unknown = app.node.tryGetContext(key);
  if (raw === undefined) return undefined;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * `-c reservedConcurrency='{"warm-counter":200}'`: a JSON object of
 * function name to reserved concurrency (cdk.json may hold the object).
 * Names and values are checked by ExampleFunctions.
 */
function contextReservations(app: App, key: string): Record<string, number> | undefined {
  const raw: unknown = app.node.tryGetContext(key);
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown = raw;
  if (typeof raw === 'string') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error(`context ${key} must be a JSON object like {"warm-counter":200}, got ${raw}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`context ${key} must be a JSON object like {"warm-counter":200}`);
  }
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'number') throw new Error(`context ${key}.${name} must be a number`);
    out[name] = value;
  }
  return out;
}

function contextString(app: App, key: string): string | undefined {
  const raw: unknown = app.node.tryGetContext(key);
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw new Error(`context ${key} must be a string`);
  return raw;
}

/** Used when neither the context nor the CLI (CDK_DEFAULT_REGION) gives a region. */
export const DEFAULT_REGION = 'us-east-1';

/** arn:aws[-partition]:acm:<region>:<account>:certificate/<id>, as ACM issues them. */
const CERTIFICATE_ARN =
  /^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[A-Za-z0-9-]+$/;

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * A misspelled key (`-c internetfacing=true`) would otherwise be ignored
 * silently and deploy the default (here: an internal load balancer), so a
 * key that is a near miss of one the app reads fails synth. Other keys pass:
 * the context also holds CDK's own (feature flags, lookups) and keys other
 * tools add, and those are not near misses of ours.
 */
function refuseNearMisses(app: App): void {
  const known: readonly string[] = CONTEXT_KEYS;
  const given = Object.keys(app.node.getAllContext() as Record<string, unknown>);
  for (const key of given) {
    // CDK's own keys are namespaced (`@aws-cdk/…`, `aws:cdk:…`, `availability-zones:…`).
    if (known.includes(key) || /[:@/]/.test(key)) continue;
    // Case differences count as distance 0: `internetfacing` is `internetFacing`.
    const match = known.find((k) => levenshtein(k.toLowerCase(), key.toLowerCase()) <= 2);
    if (match !== undefined) {
      throw new Error(`unknown context key ${key}: did you mean ${match}?`);
    }
  }
}

/**
 * The CDK app: the gateway stack and the smaller REST "seed pattern" stack,
 * configured from context. Account-agnostic unless the CLI knows the
 * account (CDK_DEFAULT_ACCOUNT, set by `cdk` from the profile). The region
 * cannot be left open: the load balancer's access-log bucket policy names
 * the region's Elastic Load Balancing account, so CDK refuses a
 * region-agnostic stack there. An explicit `region` context (`-c region=`)
 * wins; then CDK_DEFAULT_REGION (the CLI sets it from AWS_REGION or the
 * profile, and to us-east-1 with no AWS configuration); then DEFAULT_REGION.
 * The context must be read first: the CLI always sets CDK_DEFAULT_REGION,
 * so a context read after it would never count. That is also why cdk.json
 * holds no `region`: a value there would beat the profile's.
 */
export function createWarmrouteApp(
  props: AppProps = {},
  processEnv: Readonly<Record<string, string | undefined>> = process.env,
): WarmrouteApp {
  const app = new App(props);
  refuseNearMisses(app);
  const account = processEnv['CDK_DEFAULT_ACCOUNT'];
  const region = contextString(app, 'region') ?? processEnv['CDK_DEFAULT_REGION'] ?? DEFAULT_REGION;
  const certificateArn = contextString(app, 'certificateArn');
  if (certificateArn !== undefined && !CERTIFICATE_ARN.test(certificateArn)) {
    throw new Error(
      `context certificateArn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), got ${certificateArn}`,
    );
  }
  const env: Environment = account === undefined ? { region } : { account, region };
  const prefix = contextString(app, 'prefix') ?? 'warmroute';

  const gateway = new GatewayStack(app, `${prefix}-gateway`, {
    env,
    namePrefix: prefix,
    desiredCount: contextNumber(app, 'desiredCount'),
    maxCount: contextNumber(app, 'maxCount'),
    certificateArn,
    internetFacing: contextBoolean(app, 'internetFacing'),
    acknowledgeClientChosenKeys: contextBoolean(app, 'acknowledgeClientChosenKeys'),
    reservedConcurrency: contextReservations(app, 'reservedConcurrency'),
    wafRateLimitPer5Min: contextNumber(app, 'wafRateLimitPer5Min'),
    deletionProtection: contextBoolean(app, 'deletionProtection'),
    description:
      'warmroute gateway: VPC, ElastiCache Redis, secrets, example functions, ECS Fargate + ALB',
  });
  const tenantApi = new TenantApiStack(app, `${prefix}-tenant-api`, {
    env,
    // Apart from the gateway stack's `${prefix}-counter`…: both stacks may live in one account.
    namePrefix: `${prefix}-api-`,
    description: 'warmroute seed pattern: API Gateway REST with X-Amz-Tenant-Id from an authorizer',
  });
  return { app, gateway, tenantApi };
}
