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

/**
 * The CDK app: the gateway stack and the smaller REST "seed pattern" stack,
 * configured from context. Account-agnostic unless the CLI knows the
 * account (CDK_DEFAULT_ACCOUNT, set by `cdk` from the profile). The region
 * cannot be left open: the load balancer's access-log bucket policy names
 * the region's Elastic Load Balancing account, so CDK refuses a
 * region-agnostic stack there. It comes from CDK_DEFAULT_REGION (the
 * profile's region) or, with no AWS configuration at all, the `region`
 * context (cdk.json).
 */
export function createWarmrouteApp(
  props: AppProps = {},
  processEnv: Readonly<Record<string, string | undefined>> = process.env,
): WarmrouteApp {
  const app = new App(props);
  const account = processEnv['CDK_DEFAULT_ACCOUNT'];
  const region = processEnv['CDK_DEFAULT_REGION'] ?? contextString(app, 'region');
  if (region === undefined) {
    throw new Error('no region: configure an AWS profile or pass -c region=<region>');
  }
  const env: Environment = account === undefined ? { region } : { account, region };
  const prefix = contextString(app, 'prefix') ?? 'warmroute';

  const gateway = new GatewayStack(app, `${prefix}-gateway`, {
    env,
    namePrefix: prefix,
    desiredCount: contextNumber(app, 'desiredCount'),
    maxCount: contextNumber(app, 'maxCount'),
    certificateArn: contextString(app, 'certificateArn'),
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
