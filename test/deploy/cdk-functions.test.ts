/**
 * ExampleFunctions (deploy/cdk/lib/example-functions.ts), synthesized
 * offline: each promise of the construct read back from the CloudFormation
 * template. Memory, timeout and tenancy are compared with
 * lambda/examples/functions.json itself, so a change there that the
 * construct does not follow fails here, not in a deploy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Token, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLE_FUNCTION_NAMES,
  ExampleFunctions,
  type ExampleFunctionName,
} from '../../deploy/cdk/lib/example-functions.js';
import { PACKAGE_ROOT } from '../../deploy/cdk/lib/function-bundling.js';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';

/** The library's variable names (lambda/environment.ts), not restated here. */
const REDIS_URL = FUNCTION_ENVIRONMENT.snapshotRedisUrl.env;
const REDIS_PASSWORD = FUNCTION_ENVIRONMENT.snapshotRedisPassword.env;
const SNAPSHOT_DIR = FUNCTION_ENVIRONMENT.snapshotDir.env;

/** The declarations as written in the single source (read here, not through the construct). */
interface Declared {
  name: string;
  tenancy?: string;
  memoryMb?: number;
  timeoutSeconds?: number;
  environment?: Record<string, string>;
}
const declared = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'lambda', 'examples', 'functions.json'), 'utf8')) as {
    functions: Declared[];
  }
).functions;

function declaration(name: ExampleFunctionName): Declared {
  const found = declared.find((d) => d.name === name);
  if (found === undefined) throw new Error(`functions.json has no ${name}`);
  return found;
}

interface Synthesized {
  readonly stack: Stack;
  readonly template: Template;
  readonly construct: ExampleFunctions;
}

/**
 * Synthesizes with `CDK_DOCKER` pointing at a program that does not exist:
 * if any asset fell back to Docker bundling, synthesis would fail. The
 * stack has no `env`: no account or region is needed.
 */
function synth(build: (stack: Stack) => ExampleFunctions): Synthesized {
  const saved = process.env['CDK_DOCKER'];
  process.env['CDK_DOCKER'] = '/nonexistent/docker-must-not-be-used';
  try {
    const app = new App();
    const stack = new Stack(app, 'FunctionsTest');
    const construct = build(stack);
    return { stack, template: Template.fromStack(stack), construct };
  } finally {
    if (saved === undefined) delete process.env['CDK_DOCKER'];
    else process.env['CDK_DOCKER'] = saved;
  }
}

type Resource = { Type: string; Properties: Record<string, unknown> };

function functionProps(s: Synthesized, name: ExampleFunctionName): Record<string, unknown> {
  const id = s.stack.getLogicalId(s.construct.functions[name].node.defaultChild as CfnElement);
  const resource = (s.template.toJSON() as { Resources: Record<string, Resource> }).Resources[id];
  if (resource === undefined) throw new Error(`no resource for ${name}`);
  return resource.Properties;
}

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** Every statement of every IAM policy in the template. */
function statements(template: Template): Statement[] {
  const out: Statement[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::Role']) {
    for (const resource of Object.values(template.findResources(type)) as Resource[]) {
      const documents = [
        resource.Properties['PolicyDocument'],
        ...(
          (resource.Properties['Policies'] as { PolicyDocument: unknown }[] | undefined) ?? []
        ).map((p) => p.PolicyDocument),
      ];
      for (const doc of documents) {
        out.push(...((doc as { Statement?: Statement[] } | undefined)?.Statement ?? []));
      }
    }
  }
  return out;
}

let plain: Synthesized;
let inVpc: Synthesized;
let vpc: ec2.Vpc;
let redisSg: ec2.SecurityGroup;
let authToken: secretsmanager.Secret;

beforeAll(() => {
  plain = synth((stack) => new ExampleFunctions(stack, 'Examples'));
  inVpc = synth((stack) => {
    vpc = new ec2.Vpc(stack, 'Vpc');
    redisSg = new ec2.SecurityGroup(stack, 'RedisSg', { vpc });
    authToken = new secretsmanager.Secret(stack, 'RedisToken');
    return new ExampleFunctions(stack, 'Examples', {
      namePrefix: 'wr-prod-',
      vpc,
      snapshotRedis: {
        host: 'redis.example.internal',
        port: 6379,
        username: 'wr-prod-snapshots',
        password: authToken,
        securityGroup: redisSg,
      },
    });
  });
}, 240_000);

describe('ExampleFunctions', () => {
  it('is environment-agnostic: no account or region is needed to synthesize', () => {
    // Prepare / Act: synthesized in beforeAll.
    // Assess
    expect(Token.isUnresolved(plain.stack.account)).toBe(true);
    expect(Token.isUnresolved(plain.stack.region)).toBe(true);
  });

  it('deploys each example PER_TENANT on Node.js 22 with the memory and timeout of functions.json', () => {
    // Prepare / Act: synthesized in beforeAll.
    // Assess
    plain.template.resourceCountIs('AWS::Lambda::Function', EXAMPLE_FUNCTION_NAMES.length);
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      const d = declaration(name);
      expect(d.tenancy).toBe('PER_TENANT');
      expect(functionProps(plain, name)).toMatchObject({
        FunctionName: `warmroute-${name}`,
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        TenancyConfig: { TenantIsolationMode: 'PER_TENANT' },
        MemorySize: d.memoryMb,
        Timeout: d.timeoutSeconds,
      });
    }
  });

  it('gives the gateway its allow-list from the same declarations, keyed by physical name', () => {
    // Prepare / Act
    const setting = inVpc.construct.gatewayFunctionsSetting();
    // Assess
    expect(setting).toEqual(
      Object.fromEntries(
        EXAMPLE_FUNCTION_NAMES.map((name) => {
          const d = declaration(name);
          return [
            `wr-prod-${name}`,
            { timeoutSeconds: d.timeoutSeconds, memoryMb: d.memoryMb, tenancy: d.tenancy },
          ];
        }),
      ),
    );
  });

  it('logs each function to its own log group with a retention', () => {
    // Prepare / Act: synthesized in beforeAll.
    // Assess
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      plain.template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/lambda/warmroute-${name}`,
        RetentionInDays: Match.anyValue(),
      });
      const [logGroupId] = Object.keys(
        plain.template.findResources('AWS::Logs::LogGroup', {
          Properties: { LogGroupName: `/aws/lambda/warmroute-${name}` },
        }),
      );
      expect(functionProps(plain, name)['LoggingConfig']).toEqual({
        LogGroup: { Ref: logGroupId },
      });
    }
  });

  it('without Redis, only the snapshot-keeping functions get a file-store directory in /tmp', () => {
    // Prepare / Act: synthesized in beforeAll.
    // Assess: the functions whose declaration names the Redis URL keep snapshots.
    const keepers = EXAMPLE_FUNCTION_NAMES.filter((name) =>
      Object.hasOwn(declaration(name).environment ?? {}, REDIS_URL),
    );
    expect(keepers).toEqual(['warm-counter', 'workspace']);
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      const keeps = keepers.includes(name);
      const env = (
        functionProps(plain, name)['Environment'] as
          { Variables: Record<string, unknown> } | undefined
      )?.Variables;
      if (keeps) expect(env?.[SNAPSHOT_DIR], name).toMatch(/^\/tmp\//);
      expect(Object.keys(env ?? {}), name).toEqual(keeps ? [SNAPSHOT_DIR] : []);
      expect(functionProps(plain, name)['VpcConfig'], name).toBeUndefined();
    }
  });

  it('with Redis, snapshot functions get a rediss:// URL with their user name and the password as a Secrets Manager reference', () => {
    // Prepare
    const secretRef = inVpc.stack.resolve(authToken.secretArn) as unknown;
    // Act: synthesized in beforeAll.
    // Assess
    for (const name of ['warm-counter', 'workspace'] as const) {
      const env = (
        functionProps(inVpc, name)['Environment'] as { Variables: Record<string, unknown> }
      ).Variables;
      expect(env).toEqual({
        [REDIS_URL]: 'rediss://wr-prod-snapshots@redis.example.internal:6379',
        // Never the token itself: CloudFormation resolves the reference at deploy time.
        [REDIS_PASSWORD]: {
          'Fn::Join': ['', ['{{resolve:secretsmanager:', secretRef, ':SecretString:::}}']],
        },
      });
    }
    expect(functionProps(inVpc, 'counter')['Environment']).toBeUndefined();
  });

  it('in a VPC, runs in the private subnets with a security group that may reach Redis only', () => {
    // Prepare
    const privateSubnets = vpc.privateSubnets.map(
      (s) => inVpc.stack.resolve(s.subnetId) as unknown,
    );
    const fnSg = inVpc.construct.securityGroup;
    if (fnSg === undefined) throw new Error('no security group in VPC mode');
    const fnSgId = inVpc.stack.resolve(fnSg.securityGroupId) as unknown;
    const redisSgId = inVpc.stack.resolve(redisSg.securityGroupId) as unknown;
    // Act: synthesized in beforeAll.
    // Assess
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      expect(functionProps(inVpc, name)['VpcConfig']).toEqual({
        SubnetIds: privateSubnets,
        SecurityGroupIds: [fnSgId],
      });
    }
    inVpc.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: redisSgId,
      SourceSecurityGroupId: fnSgId,
      IpProtocol: 'tcp',
      FromPort: 6379,
      ToPort: 6379,
    });
    inVpc.template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: fnSgId,
      DestinationSecurityGroupId: redisSgId,
      FromPort: 6379,
      ToPort: 6379,
    });
    // No other way out: CDK's placeholder rule when allowAllOutbound is false is gone once a real rule exists.
    const sg = Object.values(inVpc.template.findResources('AWS::EC2::SecurityGroup')).find(
      (r) => (r as Resource).Properties['GroupDescription'] === 'warmroute example functions',
    ) as Resource | undefined;
    expect(sg?.Properties['SecurityGroupEgress'] ?? []).not.toContainEqual(
      expect.objectContaining({ CidrIp: '0.0.0.0/0' }),
    );
  });

  it('grants * only to the ENI actions of VPC attachment, and carries no managed policy (logs only to each own log group)', () => {
    // Prepare: the actions Lambda needs for a VPC function that take no
    // resource: Describe* have no resource-level permission, and the ENIs do
    // not exist before Lambda creates them.
    const eniActions = [
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ];
    // Act
    const onStar = (s: Synthesized) =>
      statements(s.template).filter((st) =>
        (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).some((r) => r === '*'),
      );
    // Assess
    expect(onStar(plain)).toEqual([]);
    const vpcStar = onStar(inVpc);
    expect(vpcStar).toHaveLength(EXAMPLE_FUNCTION_NAMES.length);
    for (const st of vpcStar) expect([st.Action].flat().sort()).toEqual([...eniActions].sort());
    for (const s of [plain, inVpc]) {
      const resources = statements(s.template).flatMap((st): unknown[] =>
        (Array.isArray(st.Resource) ? (st.Resource as unknown[]) : [st.Resource]).filter(
          (r) => r !== '*',
        ),
      );
      expect(resources.length).toBeGreaterThan(0);
      expect(JSON.stringify(resources)).not.toMatch(/"\*"|:\*"/);
      s.template.resourcePropertiesCountIs(
        'AWS::IAM::Role',
        { ManagedPolicyArns: Match.anyValue() },
        0,
      );
      // Logs only on the function's own log group (a GetAtt of it, never a pattern).
      const logs = statements(s.template).filter((st) =>
        [st.Action].flat().some((a) => a.startsWith('logs:')),
      );
      expect(logs.length).toBeGreaterThan(0);
      for (const st of logs) expect(JSON.stringify(st.Resource)).toMatch(/Fn::GetAtt/);
    }
  });

  it('leaves no cdk-nag AwsSolutions finding on its own resources', () => {
    // Prepare
    const ownPaths = [plain, inVpc].map((s) => s.construct.node.path);
    // Act
    const findings = [plain, inVpc].flatMap((s) =>
      new AwsSolutionsChecks().validateScope(s.stack).violations.flatMap((v) =>
        v.violatingResources
          // A finding without a path cannot be shown to be someone else's: it counts.
          .filter((r) => {
            const path = r.constructPath;
            return path === undefined || ownPaths.some((p) => path.startsWith(`${p}/`));
          })
          .map((r) => `${v.ruleName} ${r.constructPath ?? '(no path)'}`),
      ),
    );
    // Assess
    expect(findings).toEqual([]);
  });

  it('refuses snapshotRedis without a VPC (ElastiCache is reachable only inside one)', () => {
    // Prepare
    const stack = new Stack(new App(), 'NoVpc');
    const otherVpc = new ec2.Vpc(stack, 'Vpc');
    // Act / Assess
    expect(
      () =>
        new ExampleFunctions(stack, 'Examples', {
          snapshotRedis: {
            host: 'h',
            port: 6379,
            password: new secretsmanager.Secret(stack, 'T'),
            securityGroup: new ec2.SecurityGroup(stack, 'Sg', { vpc: otherVpc }),
          },
        }),
    ).toThrow(/snapshotRedis needs vpc/);
  });
});
