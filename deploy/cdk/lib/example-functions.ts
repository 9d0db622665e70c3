import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { FUNCTION_ENVIRONMENT } from '../../../lambda/environment.js';
import { parseHandlerSpec } from '../../../src/localhost/handler-spec.js';
import {
  loadFunctionsFile,
  type FunctionDefinition,
} from '../../../src/localhost/function-registry.js';
import { bundledCode, FUNCTION_RUNTIME, PACKAGE_ROOT } from './function-bundling.js';

/** The example functions this construct deploys (all `PER_TENANT` in functions.json). */
export type ExampleFunctionName = 'counter' | 'warm-counter' | 'workspace';
export const EXAMPLE_FUNCTION_NAMES: readonly ExampleFunctionName[] = [
  'counter',
  'warm-counter',
  'workspace',
];

/**
 * The network-interface actions Lambda needs from a VPC function's execution
 * role (the ec2 part of AWSLambdaVPCAccessExecutionRole, without its logs on
 * every log group). They take `*`: see where they are granted.
 */
export const VPC_ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/** The single source of the functions' memory, timeout and tenancy (the local host reads it too). */
export const FUNCTIONS_FILE = join(PACKAGE_ROOT, 'lambda', 'examples', 'functions.json');

/** Function-side settings, named by the library's own list (a renamed variable breaks the build here). */
const SNAPSHOT_REDIS_URL = FUNCTION_ENVIRONMENT.snapshotRedisUrl.env;
const SNAPSHOT_REDIS_PASSWORD = FUNCTION_ENVIRONMENT.snapshotRedisPassword.env;
const SNAPSHOT_DIR = FUNCTION_ENVIRONMENT.snapshotDir.env;

/**
 * Without Redis, snapshots go to files in the environment's own /tmp: they
 * survive while the environment lives (a warm hit needs nothing more) but
 * not its loss, so a new environment starts from the initial state.
 */
const LAMBDA_SNAPSHOT_DIR = '/tmp/warmroute-snapshots';

export interface SnapshotRedisProps {
  /** The Redis endpoint's host name (TLS: the functions connect with `rediss://`). */
  readonly host: string;
  readonly port: string | number;
  /**
   * The Redis user the functions connect as (an ElastiCache RBAC user allowed
   * only the snapshot keys); it goes into the URL, `rediss://<user>@host:port`.
   * Undefined: no user name (AUTH with the password alone).
   */
  readonly username?: string;
  /**
   * The user's password: a Secrets Manager secret whose SecretString is the
   * password itself (not JSON). It reaches the function as
   * WARMROUTE_SNAPSHOT_REDIS_PASSWORD through a CloudFormation dynamic
   * reference, resolved at deploy time: the template holds only
   * `{{resolve:secretsmanager:…}}`, but the resolved value is part of the
   * function's configuration (visible to whoever may call
   * lambda:GetFunctionConfiguration). CloudFormation does not notice a
   * changed secret value, so a rotated password reaches the functions only
   * through `update-function-configuration` (docs/deploy.md, "Rolling the
   * secrets"). What it grants is only the snapshot server's keyspace, and
   * only from inside the VPC.
   */
  readonly password: secretsmanager.ISecret;
  /** Redis's security group: this construct allows the functions' group in on `port`. */
  readonly securityGroup: ec2.ISecurityGroup;
}

export interface ExampleFunctionsProps {
  /** Physical-name prefix (default 'warmroute-'): functions are `${prefix}counter` etc. */
  readonly namePrefix?: string;
  /**
   * When set, the functions run in the VPC's private subnets (reaching Redis)
   * with their own security group ({@link ExampleFunctions.securityGroup}).
   */
  readonly vpc?: ec2.IVpc;
  /** Default: private subnets with egress. */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The snapshot Redis: functions that keep snapshots (those whose
   * functions.json entry declares WARMROUTE_SNAPSHOT_REDIS_URL: warm-counter,
   * workspace) get WARMROUTE_SNAPSHOT_REDIS_URL=rediss://host:port and the
   * password from the secret. Requires `vpc`. Without it they use the file
   * store in /tmp.
   */
  readonly snapshotRedis?: SnapshotRedisProps;
  /**
   * Reserved concurrency per function (default: none, the account's unreserved
   * pool). A reservation guarantees the function that much concurrency, caps
   * it there (a flood on one function cannot starve the others), and sets its
   * tenant-environment cap: 2,500 environments per 1,000 reserved. Left unset
   * by default because Lambda refuses a reservation that would leave the
   * account fewer than 100 unreserved: on a new account whose concurrency
   * quota is still low (often 10 to 50) any reservation fails the deploy.
   */
  readonly reservedConcurrency?: Readonly<Partial<Record<ExampleFunctionName, number>>>;
  /** Retention of each function's log group. Default one month. */
  readonly logRetention?: logs.RetentionDays;
  /**
   * X-Ray tracing. Default disabled. Enabling it makes CDK add
   * xray:PutTraceSegments/PutTelemetryRecords on `*` to each role (X-Ray has
   * no resource-level permissions).
   */
  readonly tracing?: lambda.Tracing;
}

/** One entry of the gateway's WARMROUTE_FUNCTIONS allow-list. */
export interface GatewayFunctionSetting {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly tenancy: 'PER_TENANT' | 'NONE';
}

/** The declarations of the example functions, checked to be what this construct promises. */
export function exampleFunctionDefinitions(): Record<ExampleFunctionName, FunctionDefinition> {
  // A non-empty value for each snapshot variable, so each definition's
  // `environment` lists the variables its declaration asks for (an unset
  // `${…}` would drop them): that is how a function says it keeps snapshots.
  const declared = loadFunctionsFile(FUNCTIONS_FILE, {
    [SNAPSHOT_REDIS_URL]: 'declared',
    [SNAPSHOT_DIR]: 'declared',
  });
  const byName = new Map(declared.map((d) => [d.name, d]));
  const pick = (name: ExampleFunctionName): FunctionDefinition => {
    const definition = byName.get(name);
    if (definition === undefined) throw new Error(`${FUNCTIONS_FILE}: no function "${name}"`);
    if (definition.tenancy !== 'PER_TENANT') {
      throw new Error(`${FUNCTIONS_FILE}: "${name}" must be PER_TENANT for this construct`);
    }
    return definition;
  };
  return {
    counter: pick('counter'),
    'warm-counter': pick('warm-counter'),
    workspace: pick('workspace'),
  };
}

/** Whether a function keeps snapshots (its declaration names the Redis snapshot URL). */
export function keepsSnapshots(definition: FunctionDefinition): boolean {
  return Object.hasOwn(definition.environment, SNAPSHOT_REDIS_URL);
}

/** The handler's source file: `path/file` of Lambda's handler with the first extension Lambda's Node runtime tries that exists. */
function handlerEntry(definition: FunctionDefinition): { entry: string; outFile: string } {
  const spec = parseHandlerSpec(definition.handler);
  if (spec === undefined) throw new Error(`bad handler ${definition.handler}`);
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const entry = join(definition.codeDir, `${spec.modulePath}${ext}`);
    // The bundle is ESM whatever the source was: `.mjs` keeps Lambda's handler string unchanged.
    if (existsSync(entry)) return { entry, outFile: `${spec.modulePath}.mjs` };
  }
  throw new Error(
    `${definition.name}: no ${spec.modulePath}.js/.mjs/.cjs in ${definition.codeDir}`,
  );
}

function portNumber(port: string | number): number {
  if (typeof port === 'number') return port;
  // A token (e.g. an ElastiCache endpoint port attribute) resolves at deploy time.
  return Token.isUnresolved(port) ? Token.asNumber(port) : Number(port);
}

/**
 * warmroute's example functions (`counter`, `warm-counter`, `workspace`) as
 * Lambda functions in tenant isolation mode, bundled with warmroute/lambda
 * and its snapshot stores (function-bundling.ts), memory/timeout/tenancy read
 * from lambda/examples/functions.json.
 */
export class ExampleFunctions extends Construct {
  readonly functions: Readonly<Record<ExampleFunctionName, lambda.Function>>;
  /** The functions' security group when in a VPC (this construct opens the Redis port to it when snapshotRedis is given). */
  readonly securityGroup: ec2.ISecurityGroup | undefined;
  private readonly definitions: Record<ExampleFunctionName, FunctionDefinition>;
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: ExampleFunctionsProps = {}) {
    super(scope, id);
    this.namePrefix = props.namePrefix ?? 'warmroute-';
    this.definitions = exampleFunctionDefinitions();
    const redis = props.snapshotRedis;
    if (redis !== undefined && props.vpc === undefined) {
      throw new Error(
        'ExampleFunctions: snapshotRedis needs vpc (ElastiCache is reachable only inside it)',
      );
    }

    let securityGroup: ec2.SecurityGroup | undefined;
    if (props.vpc !== undefined) {
      // No outbound by default: the examples talk to nothing but Redis (and
      // Lambda's own logging does not go through the function's ENI).
      securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        description: 'warmroute example functions',
        allowAllOutbound: false,
      });
      if (redis !== undefined) {
        securityGroup.connections.allowTo(
          redis.securityGroup,
          ec2.Port.tcp(portNumber(redis.port)),
          'warmroute functions to the snapshot Redis',
        );
      }
    }
    this.securityGroup = securityGroup;
    const reserved = props.reservedConcurrency ?? {};
    // Entries typed as numbers, but context hands over whatever JSON held (undefined included).
    for (const [name, value] of Object.entries(reserved) as [string, number | undefined][]) {
      if (!(EXAMPLE_FUNCTION_NAMES as readonly string[]).includes(name)) {
        throw new Error(
          `reservedConcurrency: no example function "${name}" (${EXAMPLE_FUNCTION_NAMES.join(', ')})`,
        );
      }
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new Error(`reservedConcurrency.${name} must be an integer >= 1, got ${value}`);
      }
    }

    const made = {} as Record<ExampleFunctionName, lambda.Function>;
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      const definition = this.definitions[name];
      const functionName = `${this.namePrefix}${name}`;
      const logGroup = new logs.LogGroup(this, `${name}-logs`, {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // Our own role instead of CDK's default (which attaches the AWS managed
      // AWSLambdaBasicExecutionRole, logs on every log group): this one may
      // write to its own log group only.
      const role = new iam.Role(this, `${name}-role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Execution role of ${functionName}`,
      });
      logGroup.grantWrite(role);
      if (props.vpc !== undefined) {
        // Lambda attaches a VPC function through network interfaces it
        // creates, describes and deletes with the execution role, and checks
        // these permissions when the function is created. Only these actions,
        // instead of AWS's AWSLambdaVPCAccessExecutionRole, which also grants
        // logs:CreateLogGroup/CreateLogStream/PutLogEvents on every log group
        // (the role writes its own group only, above). `*`: the Describe
        // actions have no resource-level permissions, and the interface IDs
        // do not exist before Lambda creates them (Lambda's documented policy
        // for these actions uses `*`).
        role.addToPolicy(
          new iam.PolicyStatement({
            actions: [...VPC_ENI_ACTIONS],
            resources: ['*'],
          }),
        );
        // cdk-nag 3 acknowledgement (its v2 NagSuppressions API is gone).
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'VPC attachment: Lambda creates, describes and deletes the function ENIs with the execution role; ' +
            'the Describe actions support no resource-level permission and the ENI IDs do not exist beforehand, ' +
            'so only these six ec2 actions are granted on *',
        });
      }

      const environment: Record<string, string> = {};
      if (keepsSnapshots(definition)) {
        if (redis === undefined) {
          environment[SNAPSHOT_DIR] = LAMBDA_SNAPSHOT_DIR;
        } else {
          const user = redis.username === undefined ? '' : `${redis.username}@`;
          environment[SNAPSHOT_REDIS_URL] = `rediss://${user}${redis.host}:${String(redis.port)}`;
          // A dynamic reference: see SnapshotRedisProps.password.
          environment[SNAPSHOT_REDIS_PASSWORD] = redis.password.secretValue.unsafeUnwrap();
        }
      }

      const { entry, outFile } = handlerEntry(definition);
      made[name] = new lambda.Function(this, name, {
        functionName,
        description: `warmroute example: ${name}`,
        runtime: FUNCTION_RUNTIME,
        handler: definition.handler,
        code: bundledCode(entry, outFile, true),
        memorySize: definition.memoryMb,
        ...(reserved[name] === undefined ? {} : { reservedConcurrentExecutions: reserved[name] }),
        timeout: Duration.seconds(definition.timeoutSeconds),
        // Tenant isolation cannot be changed after a function is created:
        // switching it means a new function (CloudFormation replaces it).
        tenancyConfig: lambda.TenancyConfig.PER_TENANT,
        role,
        logGroup,
        environment,
        ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
        ...(props.vpc === undefined
          ? {}
          : {
              vpc: props.vpc,
              vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
              securityGroups: securityGroup === undefined ? [] : [securityGroup],
            }),
      });
      Validations.of(made[name]).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 on purpose: the project standardises on Node 22 for its functions and ' +
          'gateway image (supported on Lambda); the bundle targets it (FUNCTION_RUNTIME in ' +
          'function-bundling.ts is the one place to move to a newer runtime)',
      });
    }
    this.functions = Object.freeze(made);
  }

  /** Value for the gateway's WARMROUTE_FUNCTIONS: physical name → { timeoutSeconds, memoryMb, tenancy }. */
  gatewayFunctionsSetting(): Record<string, GatewayFunctionSetting> {
    const setting: Record<string, GatewayFunctionSetting> = {};
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      const definition = this.definitions[name];
      setting[`${this.namePrefix}${name}`] = {
        timeoutSeconds: definition.timeoutSeconds,
        memoryMb: definition.memoryMb,
        tenancy: definition.tenancy,
      };
    }
    return setting;
  }
}
