import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { defaults, settings } from '../../src/config/schema.js';
import { packageRoot } from '../../src/paths.js';
import {
  FARGATE_MAX_STOP_TIMEOUT_SECONDS,
  SHUTDOWN_BACKSTOP_MS,
} from '../../deploy/cdk/lib/drain-timing.js';
import { GatewayStack, type GatewayStackProps } from '../../deploy/cdk/lib/gateway-stack.js';
import {
  ADMIN_ACCESS_STRING,
  AUTH_TOKEN_PUNCTUATION,
  DEFAULT_USER_ACCESS_STRING,
  DIRECTORY_NODE_TYPE,
  GATEWAY_ACCESS_STRING,
  SECRETS_MANAGER_PUNCTUATION,
  SNAPSHOT_ACCESS_STRING,
  SNAPSHOT_NODE_TYPE,
} from '../../deploy/cdk/lib/redis.js';
import { startTestGateway } from '../helpers/gateway.js';
import {
  cfnText,
  resourcesOfType,
  stringLeaves,
  type CfnResource,
  type Json,
} from './helpers/cfn-template.js';

/**
 * The gateway stack's promises (issue 14, "CDK app"), one assertion each, on
 * the synthesized template; values the gateway defines (ports, grace,
 * timeouts, the function settings) are read from their source, not restated.
 */

const ENV = { account: '123456789012', region: 'eu-west-1' };
const SECRET_NAMES = ['WARMROUTE_SECRET', 'WARMROUTE_ADMIN_TOKEN', 'WARMROUTE_REDIS_PASSWORD'];
// Synthesis bundles three functions with esbuild: seconds, more on two busy cores.
const SYNTH_TIMEOUT_MS = 240_000;

const outDirs: string[] = [];
function synth(props: GatewayStackProps = {}): {
  stack: GatewayStack;
  template: Record<string, Json>;
  app: App;
} {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-gateway-'));
  outDirs.push(outdir);
  const app = new App({ outdir });
  const stack = new GatewayStack(app, 'Gateway', { env: ENV, ...props });
  return { stack, app, template: Template.fromStack(stack).toJSON() };
}
afterAll(() => {
  for (const dir of outDirs) rmSync(dir, { recursive: true, force: true });
});

function only(resources: CfnResource[]): CfnResource {
  expect(resources).toHaveLength(1);
  return resources[0]!;
}

interface ContainerDefinition {
  Environment: { Name: string; Value: Json }[];
  Secrets: { Name: string; ValueFrom: Json }[];
  ReadonlyRootFilesystem: boolean;
  StopTimeout: number;
  PortMappings: { ContainerPort: number }[];
  LogConfiguration: { LogDriver: string; Options: Record<string, Json> };
}

function container(template: Record<string, Json>): ContainerDefinition {
  const task = only(resourcesOfType(template, 'AWS::ECS::TaskDefinition'));
  const defs = task.properties['ContainerDefinitions'] as unknown as ContainerDefinition[];
  expect(defs).toHaveLength(1);
  return defs[0]!;
}

/** The container's environment as the text each variable holds at run time. */
function environment(template: Record<string, Json>): Record<string, string> {
  return Object.fromEntries(container(template).Environment.map((e) => [e.Name, cfnText(e.Value)]));
}

function targetGroup(template: Record<string, Json>): CfnResource {
  return only(resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::TargetGroup'));
}

function tgAttribute(tg: CfnResource, key: string): string | undefined {
  const attrs = tg.properties['TargetGroupAttributes'] as { Key: string; Value: string }[];
  return attrs.find((a) => a.Key === key)?.Value;
}

const refId = (value: Json | undefined): string | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && 'Ref' in value
    ? cfnText(value['Ref'])
    : undefined;
const getAttId = (value: Json | undefined): string | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && 'Fn::GetAtt' in value
    ? cfnText((value['Fn::GetAtt'] as Json[])[0])
    : undefined;

let template: Record<string, Json>;
let gatewayStack: GatewayStack;
let gatewayApp: App;

beforeAll(() => {
  ({ template, stack: gatewayStack, app: gatewayApp } = synth());
}, SYNTH_TIMEOUT_MS);

describe('load balancer and health checks', () => {
  it('forwards client traffic to the public port and health-checks /readyz on the admin port', () => {
    // Prepare
    const env = environment(template);
    const tg = targetGroup(template);
    // Assess
    expect(env['PORT']).toBe(String(defaults.port));
    expect(tg.properties['Port']).toBe(defaults.port);
    expect(tg.properties['TargetType']).toBe('ip');
    expect(tg.properties['HealthCheckPath']).toBe('/readyz');
    expect(tg.properties['HealthCheckPort']).toBe(env['WARMROUTE_ADMIN_PORT']);
    expect(tg.properties['HealthCheckPort']).not.toBe(env['PORT']);
    expect(tg.properties['Matcher']).toEqual({ HttpCode: '200' });
  });

  it('the health-check path answers 200 on the admin listener and is not served on the public one', async () => {
    // Prepare: a real gateway with the same split of listeners as the task.
    const path = cfnText(targetGroup(template).properties['HealthCheckPath']);
    const gateway = await startTestGateway({ WARMROUTE_ADMIN_PORT: '0' });
    try {
      // Act
      const onAdmin = await fetch(`${gateway.adminUrl}${path}`);
      const onPublic = await fetch(`${gateway.url}${path}`, { headers: { 'x-affinity-key': 'k' } });
      // Assess
      expect(onAdmin.status).toBe(200);
      expect(onPublic.status).not.toBe(200);
    } finally {
      await gateway.close();
    }
  });

  it('by default the load balancer is internal, in the private subnets, plain HTTP on 80 forwarding to the gateway', () => {
    // Prepare
    const alb = only(resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
    const privateSubnets = resourcesOfType(template, 'AWS::EC2::Subnet')
      .filter((s) => s.properties['MapPublicIpOnLaunch'] !== true)
      .map((s) => s.id)
      .sort();
    const listeners = resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::Listener');
    // Assess
    expect(alb.properties['Scheme']).toBe('internal');
    expect((alb.properties['Subnets'] as Json[]).map((s) => refId(s)).sort()).toEqual(
      privateSubnets,
    );
    expect(listeners.map((l) => l.properties['Port'])).toEqual([80]);
    const actions = listeners.flatMap((l) => l.properties['DefaultActions'] as Json[]);
    expect(actions).toEqual([
      { Type: 'forward', TargetGroupArn: { Ref: targetGroup(template).id } },
    ]);
  });

  it(
    'with a certificate, serves HTTPS on 443 and only redirects on 80',
    () => {
      // Act
      const { template: tls } = synth({
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      });
      // Assess
      const listeners = resourcesOfType(tls, 'AWS::ElasticLoadBalancingV2::Listener');
      const byPort = new Map(listeners.map((l) => [l.properties['Port'], l.properties]));
      expect([...byPort.keys()].sort()).toEqual([443, 80]);
      expect(byPort.get(443)?.['Protocol']).toBe('HTTPS');
      expect(byPort.get(443)?.['Certificates']).toEqual([
        { CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' },
      ]);
      expect(byPort.get(80)?.['DefaultActions']).toEqual([
        expect.objectContaining({ Type: 'redirect' }),
      ]);
      // Still internal: a certificate alone does not put it on the internet.
      const alb = only(resourcesOfType(tls, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
      expect(alb.properties['Scheme']).toBe('internal');
      expect(ingressRules(tls).filter((r) => r.source === '0.0.0.0/0')).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'internet-facing with a certificate and the acknowledgement: public subnets, 443 and the redirect on 80 open, nothing else',
    () => {
      // Act
      const { template: pub } = synth({
        internetFacing: true,
        acknowledgeClientChosenKeys: true,
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      });
      // Assess
      const alb = only(resourcesOfType(pub, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
      const publicSubnets = resourcesOfType(pub, 'AWS::EC2::Subnet')
        .filter((s) => s.properties['MapPublicIpOnLaunch'] === true)
        .map((s) => s.id)
        .sort();
      expect(alb.properties['Scheme']).toBe('internet-facing');
      expect((alb.properties['Subnets'] as Json[]).map((s) => refId(s)).sort()).toEqual(
        publicSubnets,
      );
      const open = ingressRules(pub).filter((r) => r.source === '0.0.0.0/0');
      expect(open.map((r) => r.from).sort()).toEqual([443, 80]);
      const listeners = resourcesOfType(pub, 'AWS::ElasticLoadBalancingV2::Listener');
      const plain = listeners.filter((l) => l.properties['Protocol'] === 'HTTP');
      expect(plain.flatMap((l) => l.properties['DefaultActions'] as { Type: string }[])).toEqual([
        expect.objectContaining({ Type: 'redirect' }),
      ]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'internet-facing with clientCidrs: the listeners take those networks only, nothing from 0.0.0.0/0',
    () => {
      // Act
      const { template: narrowed } = synth({
        internetFacing: true,
        acknowledgeClientChosenKeys: true,
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
        clientCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
      });
      // Assess
      const alb = only(resourcesOfType(narrowed, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
      const albSg = getAttId((alb.properties['SecurityGroups'] as Json[])[0]);
      expect(alb.properties['Scheme']).toBe('internet-facing');
      expect(
        ingressRules(narrowed).filter((r) => r.source === '0.0.0.0/0' || r.source === '::/0'),
      ).toEqual([]);
      expect(
        ingressRules(narrowed)
          .filter((r) => r.group === albSg)
          .map((r) => `${r.source}:${String(r.from)}`)
          .sort(),
      ).toEqual(
        [
          '198.51.100.7/32:443',
          '198.51.100.7/32:80',
          '203.0.113.0/24:443',
          '203.0.113.0/24:80',
        ].sort(),
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it.each([
    [{ clientCidrs: [] }, /clientCidrs is empty: no client could reach/],
    [
      { clientCidrs: ['10.1.0.0/16', '0.0.0.0/0'] },
      /clientCidrs 0\.0\.0\.0\/0 admits every address/,
    ],
    [
      {
        internetFacing: true,
        acknowledgeClientChosenKeys: true,
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
        clientCidrs: ['0.0.0.0/0'],
      },
      /leave clientCidrs out to open the listeners to anyone/,
    ],
  ] satisfies [GatewayStackProps, RegExp][])(
    'refuses clientCidrs that would silently mean nobody or everybody: %j',
    (props, message) => {
      // Act
      const build = (): unknown => new GatewayStack(new App(), 'Cidrs', { env: ENV, ...props });
      // Assess
      expect(build).toThrow(message);
    },
  );

  it.each([
    [{ internetFacing: true }, ['certificateArn', 'acknowledgeClientChosenKeys']],
    [{ internetFacing: true, acknowledgeClientChosenKeys: true }, ['certificateArn']],
    [
      {
        internetFacing: true,
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      },
      ['acknowledgeClientChosenKeys'],
    ],
  ] satisfies [GatewayStackProps, string[]][])(
    'refuses an internet-facing load balancer without everything it needs: %j',
    (props, named) => {
      // Act
      const build = (): unknown => new GatewayStack(new App(), 'Exposed', { env: ENV, ...props });
      // Assess: the message names what is missing and why.
      expect(build).toThrow(/^internetFacing needs/);
      for (const what of named) expect(build).toThrow(new RegExp(what));
      if (named.includes('acknowledgeClientChosenKeys')) {
        expect(build).toThrow(/whoever knows a key reaches/);
      }
    },
  );

  it.each([
    ['the default request timeout (30 s)', undefined],
    ['a 120 s request timeout', 120_000],
  ] as const)(
    'with %s: the idle timeout outlasts a silent request, and the gateway keeps connections longer',
    (_label, requestTimeoutMs) => {
      // Prepare
      const t = requestTimeoutMs === undefined ? template : synth({ requestTimeoutMs }).template;
      const alb = only(resourcesOfType(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
      const attrs = alb.properties['LoadBalancerAttributes'] as { Key: string; Value: string }[];
      const idle = Number(attrs.find((a) => a.Key === 'idle_timeout.timeout_seconds')?.Value);
      const env = environment(t);
      // Act: the keep-alive the gateway would run with, as it reads its environment.
      const keepAlive = loadConfig({
        ...env,
        WARMROUTE_SECRET: 'x'.repeat(64),
        WARMROUTE_ADMIN_TOKEN: 'y'.repeat(48),
        WARMROUTE_REDIS_PASSWORD: 'z'.repeat(64),
        REDIS_URL: 'rediss://redis.example:6379',
      }).keepAliveTimeoutMs;
      // Assess
      const timeout = Number(env['WARMROUTE_REQUEST_TIMEOUT_MS']);
      expect(timeout).toBe(requestTimeoutMs ?? defaults.requestTimeoutMs);
      expect(idle * 1000).toBeGreaterThan(timeout);
      expect(idle).toBeLessThanOrEqual(4000);
      expect(keepAlive).toBeGreaterThan(idle * 1000);
      if (requestTimeoutMs === undefined) expect(keepAlive).toBe(defaults.keepAliveTimeoutMs);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('refuses a request timeout the gateway cannot keep connections open for', () => {
    expect(
      () => new GatewayStack(new App(), 'TooSlow', { env: ENV, requestTimeoutMs: 600_000 }),
    ).toThrow(/WARMROUTE_KEEP_ALIVE_TIMEOUT_MS's maximum/);
  });
});

describe('cost exposure', () => {
  it('configures no fresh route: every proxy route is affinity, on a function of the allow-list', () => {
    // Prepare
    const env = environment(template);
    const routes = JSON.parse(env['WARMROUTE_ROUTES'] ?? '') as {
      prefix: string;
      function: string;
      mode: string;
    }[];
    const allowed = Object.keys(JSON.parse(env['WARMROUTE_FUNCTIONS'] ?? '') as object);
    // Assess
    expect(routes.length).toBeGreaterThan(0);
    expect(routes.filter((r) => r.mode !== 'affinity')).toEqual([]);
    for (const r of routes) expect(allowed).toContain(r.function);
  });

  it('reserves no concurrency by default, and no web ACL', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function').filter(
      (f) => f.properties['TenancyConfig'] !== undefined,
    );
    expect(functions).toHaveLength(3);
    for (const f of functions) expect(f.properties['ReservedConcurrentExecutions']).toBeUndefined();
    expect(resourcesOfType(template, 'AWS::WAFv2::WebACL')).toEqual([]);
  });

  it(
    'reserves the concurrency asked per function, and puts a rate-based WAF rule on the load balancer',
    () => {
      // Act
      const { template: t } = synth({
        reservedConcurrency: { 'warm-counter': 200 },
        wafRateLimitPer5Min: 1000,
      });
      // Assess
      const reserved = Object.fromEntries(
        resourcesOfType(t, 'AWS::Lambda::Function')
          .filter((f) => f.properties['TenancyConfig'] !== undefined)
          .map((f) => [
            cfnText(f.properties['FunctionName']),
            f.properties['ReservedConcurrentExecutions'],
          ]),
      );
      expect(reserved).toEqual({
        'warmroute-counter': undefined,
        'warmroute-warm-counter': 200,
        'warmroute-workspace': undefined,
      });
      const acl = only(resourcesOfType(t, 'AWS::WAFv2::WebACL')).properties;
      expect(acl['Scope']).toBe('REGIONAL');
      expect(acl['DefaultAction']).toEqual({ Allow: {} });
      expect(acl['Rules']).toEqual([
        expect.objectContaining({
          Action: { Block: {} },
          Statement: {
            RateBasedStatement: { Limit: 1000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 },
          },
        }),
      ]);
      const association = only(resourcesOfType(t, 'AWS::WAFv2::WebACLAssociation')).properties;
      const alb = only(resourcesOfType(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer'));
      expect(refId(association['ResourceArn'])).toBe(alb.id);
      expect(getAttId(association['WebACLArn'])).toBe(
        only(resourcesOfType(t, 'AWS::WAFv2::WebACL')).id,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it.each([
    [{ reservedConcurrency: { 'warm-counter': 0 } }, /reservedConcurrency.warm-counter must be/],
    [{ wafRateLimitPer5Min: 5 }, /wafRateLimitPer5Min must be an integer from 10/],
  ] satisfies [GatewayStackProps, RegExp][])('refuses %j', (props, message) => {
    expect(() => new GatewayStack(new App(), 'Bad', { env: ENV, ...props })).toThrow(message);
  });
});

describe('outputs', () => {
  it('names the cluster, the service, the VPC and every secret, so no command digs in the stack', () => {
    // Prepare
    const outputs = template['Outputs'] as Record<string, { Value: Json }>;
    const value = (key: string): string => cfnText(outputs[key]?.Value);
    const idOf = (type: string, prefix = ''): string =>
      only(resourcesOfType(template, type).filter((r) => r.id.startsWith(prefix))).id;
    // Assess
    expect(value('ClusterName')).toBe(`<${idOf('AWS::ECS::Cluster')}>`);
    expect(value('ServiceName')).toBe(`<${idOf('AWS::ECS::Service')}.Name>`);
    expect(value('VpcId')).toBe(`<${idOf('AWS::EC2::VPC')}>`);
    expect(value('HmacSecretArn')).toBe(`<${idOf('AWS::SecretsManager::Secret', 'HmacSecret')}>`);
    expect(value('AdminTokenSecretArn')).toBe(
      `<${idOf('AWS::SecretsManager::Secret', 'AdminToken')}>`,
    );
    const secretOutputs = Object.keys(outputs).filter((k) => k.endsWith('SecretArn'));
    expect(secretOutputs.map(value).sort()).toEqual(
      resourcesOfType(template, 'AWS::SecretsManager::Secret')
        .map((s) => `<${s.id}>`)
        .sort(),
    );
    const subnet = value('PrivateSubnetId').replace(/[<>]/g, '');
    const privateSubnet = resourcesOfType(template, 'AWS::EC2::Subnet').find(
      (s) => s.id === subnet,
    );
    expect(privateSubnet?.properties['MapPublicIpOnLaunch']).toBe(false);
  });
});

describe('deletion protection', () => {
  const protectedFlag = (t: Record<string, Json>): string | undefined =>
    (
      only(resourcesOfType(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer')).properties[
        'LoadBalancerAttributes'
      ] as { Key: string; Value: string }[]
    ).find((a) => a.Key === 'deletion_protection.enabled')?.Value;

  it(
    'is off by default (a trial stack must be destroyable) and on when asked',
    () => {
      expect(protectedFlag(template) ?? 'false').toBe('false');
      expect(protectedFlag(synth({ deletionProtection: true }).template)).toBe('true');
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('draining matches the gateway shutdown grace', () => {
  it('runs the container with the grace and request timeout the waits were computed from', () => {
    const env = environment(template);
    expect(env['WARMROUTE_SHUTDOWN_GRACE_MS']).toBe(String(defaults.shutdownGraceMs));
    expect(env['WARMROUTE_REQUEST_TIMEOUT_MS']).toBe(String(defaults.requestTimeoutMs));
  });

  it('stopTimeout covers the grace and the backstop, within Fargate limits', () => {
    const stop = container(template).StopTimeout;
    expect(stop * 1000).toBeGreaterThanOrEqual(defaults.shutdownGraceMs + SHUTDOWN_BACKSTOP_MS);
    expect(stop).toBeLessThanOrEqual(FARGATE_MAX_STOP_TIMEOUT_SECONDS);
  });

  it('the deregistration delay outlasts the longest request and the grace', () => {
    const delay = Number(
      tgAttribute(targetGroup(template), 'deregistration_delay.timeout_seconds'),
    );
    expect(delay * 1000).toBeGreaterThanOrEqual(defaults.requestTimeoutMs);
    expect(delay * 1000).toBeGreaterThanOrEqual(defaults.shutdownGraceMs);
  });

  it(
    'follows a longer grace into the container, stopTimeout and deregistration delay',
    () => {
      // Act
      const { template: long } = synth({ shutdownGraceMs: 60_000, requestTimeoutMs: 45_000 });
      // Assess
      const env = environment(long);
      expect(env['WARMROUTE_SHUTDOWN_GRACE_MS']).toBe('60000');
      expect(env['WARMROUTE_REQUEST_TIMEOUT_MS']).toBe('45000');
      expect(container(long).StopTimeout).toBeGreaterThanOrEqual(65);
      const delay = Number(tgAttribute(targetGroup(long), 'deregistration_delay.timeout_seconds'));
      expect(delay).toBeGreaterThanOrEqual(60);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('refuses a grace Fargate cannot wait for', () => {
    const app = new App();
    expect(() => new GatewayStack(app, 'TooLong', { env: ENV, shutdownGraceMs: 116_000 })).toThrow(
      /over Fargate's 120 s/,
    );
  });
});

describe('container settings', () => {
  it('every environment variable and secret is a gateway setting', () => {
    const known = new Set(settings.map((s) => s.env));
    const names = [
      ...container(template).Environment.map((e) => e.Name),
      ...container(template).Secrets.map((s) => s.Name),
    ];
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('the gateway loads the container environment as a production config on both ports', () => {
    // Prepare: deploy-time values as placeholders, the secrets as ECS would inject them.
    const deployTime = Object.entries(environment(template)).map(
      ([name, value]): [string, string] => [
        name,
        value.replace(/<([^>]+)>/g, (_match: string, id: string) =>
          id.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
        ),
      ],
    );
    const env: Record<string, string> = {
      ...Object.fromEntries(deployTime),
      WARMROUTE_SECRET: 'x'.repeat(64),
      WARMROUTE_ADMIN_TOKEN: 'y'.repeat(48),
      WARMROUTE_REDIS_PASSWORD: 'z'.repeat(64),
    };
    // Act
    const config = loadConfig(env);
    // Assess
    expect(config.production).toBe(true);
    expect(config.backend).toBe('aws');
    expect(config.host).toBe('0.0.0.0');
    expect(config.adminHost).toBe('0.0.0.0');
    expect(config.port).toBe(targetGroup(template).properties['Port']);
    expect(String(config.adminPort)).toBe(targetGroup(template).properties['HealthCheckPort']);
    expect(config.region).toBe(ENV.region);
    expect(config.redisUrl).toMatch(/^rediss:\/\//);
    expect(config.routes.length).toBeGreaterThan(0);
    for (const route of config.routes)
      expect(Object.keys(config.functions)).toContain(route.function);
  });

  it('exposes both ports from the container and runs with a read-only root file system', () => {
    const c = container(template);
    expect(c.PortMappings.map((p) => p.ContainerPort).sort()).toEqual(
      [defaults.port, Number(environment(template)['WARMROUTE_ADMIN_PORT'])].sort(),
    );
    expect(c.ReadonlyRootFilesystem).toBe(true);
  });

  it('logs to a CloudWatch log group with a retention', () => {
    const c = container(template);
    expect(c.LogConfiguration.LogDriver).toBe('awslogs');
    const groupId = refId(c.LogConfiguration.Options['awslogs-group']);
    const group = resourcesOfType(template, 'AWS::Logs::LogGroup').find((g) => g.id === groupId);
    expect(group?.properties['RetentionInDays']).toBeGreaterThan(0);
  });

  it('WARMROUTE_FUNCTIONS lists exactly the deployed functions with their functions.json settings', () => {
    // Prepare: the source of truth and what was deployed.
    const declared = (
      JSON.parse(readFileSync(join(packageRoot, 'lambda/examples/functions.json'), 'utf8')) as {
        functions: { name: string; timeoutSeconds: number; memoryMb: number; tenancy: string }[];
      }
    ).functions;
    const deployed = resourcesOfType(template, 'AWS::Lambda::Function').filter(
      (f) => f.properties['TenancyConfig'] !== undefined,
    );
    // Act
    const setting = JSON.parse(environment(template)['WARMROUTE_FUNCTIONS'] ?? '') as Record<
      string,
      { timeoutSeconds: number; memoryMb: number; tenancy: string }
    >;
    // Assess
    expect(Object.keys(setting).sort()).toEqual(
      deployed.map((f) => cfnText(f.properties['FunctionName'])).sort(),
    );
    for (const f of deployed) {
      const name = cfnText(f.properties['FunctionName']);
      const source = declared.find((d) => `warmroute-${d.name}` === name);
      expect(source, name).toBeDefined();
      expect(setting[name]).toEqual({
        timeoutSeconds: source?.timeoutSeconds,
        memoryMb: source?.memoryMb,
        tenancy: source?.tenancy,
      });
      expect(f.properties['MemorySize']).toBe(setting[name]?.memoryMb);
      expect(f.properties['Timeout']).toBe(setting[name]?.timeoutSeconds);
    }
  });
});

describe('secrets', () => {
  it('injects the three secrets through ECS secrets from Secrets Manager, never the environment', () => {
    const c = container(template);
    const secretIds = new Set(
      resourcesOfType(template, 'AWS::SecretsManager::Secret').map((s) => s.id),
    );
    expect(c.Secrets.map((s) => s.Name).sort()).toEqual([...SECRET_NAMES].sort());
    for (const s of c.Secrets) expect(secretIds).toContain(refId(s.ValueFrom));
    expect(c.Environment.map((e) => e.Name).filter((n) => SECRET_NAMES.includes(n))).toEqual([]);
  });

  it('secrets are generated by Secrets Manager (no SecretString), long enough for their setting', () => {
    const secrets = resourcesOfType(template, 'AWS::SecretsManager::Secret');
    // WARMROUTE_SECRET, the admin token, and the three Redis users' passwords (gateway, snapshots, admin).
    expect(secrets).toHaveLength(5);
    for (const s of secrets) {
      expect(s.properties['SecretString']).toBeUndefined();
      const generate = s.properties['GenerateSecretString'] as { PasswordLength: number };
      expect(generate.PasswordLength).toBeGreaterThanOrEqual(32);
    }
  });

  it.each(['Gateway', 'Snapshots', 'Admin'])(
    'the Redis %s user password can only hold what ElastiCache accepts (16–128 letters, digits, ! & # $ ^ < > -)',
    (role) => {
      // Prepare: the user's password reference and the secret it names.
      const user = only(
        resourcesOfType(template, 'AWS::ElastiCache::User').filter((u) =>
          u.id.startsWith(`Redis${role}User`),
        ),
      );
      const mode = user.properties['AuthenticationMode'] as { Type: string; Passwords: Json[] };
      expect(mode.Type).toBe('password');
      expect(mode.Passwords).toHaveLength(1);
      const passwordRef = cfnText(mode.Passwords[0]);
      const secret = resourcesOfType(template, 'AWS::SecretsManager::Secret').find((s) =>
        passwordRef.includes(`<${s.id}>`),
      );
      const generate = secret?.properties['GenerateSecretString'] as {
        PasswordLength: number;
        ExcludeCharacters: string;
        IncludeSpace?: boolean;
      };
      // Act: what Secrets Manager may still pick from its documented punctuation.
      const possible = Array.from(SECRETS_MANAGER_PUNCTUATION).filter(
        (c) => !generate.ExcludeCharacters.includes(c),
      );
      // Assess
      expect(generate.PasswordLength).toBeGreaterThanOrEqual(16);
      expect(generate.PasswordLength).toBeLessThanOrEqual(128);
      expect(generate.IncludeSpace).not.toBe(true);
      expect(possible.every((c) => AUTH_TOKEN_PUNCTUATION.includes(c))).toBe(true);
      for (const c of ['@', '"', '/', ' ', '%', ':', ',']) expect(possible).not.toContain(c);
    },
  );

  it('no secret-looking literal anywhere in the template', () => {
    // Prepare: a value shaped like a generated secret must be caught by the scan.
    expect(secretLooking({ Value: 'Xq3vT9rLk2PzW8mN4bYc7HdJ' }, new Set())).toHaveLength(1);
    const logicalIds = new Set(Object.keys(template['Resources'] as Record<string, Json>));
    // Act / Assess
    expect(secretLooking(template, logicalIds)).toEqual([]);
  });

  it('every secret that reaches a resource does so as a dynamic reference', () => {
    const references = stringLeaves(template).filter((l) => l.value.includes('{{resolve:'));
    const passwords = resourcesOfType(template, 'AWS::ElastiCache::User').flatMap(
      (u) =>
        (u.properties['AuthenticationMode'] as { Passwords?: Json[] } | undefined)?.Passwords ?? [],
    );
    expect(passwords).toHaveLength(3);
    for (const p of passwords) {
      expect(cfnText(p)).toMatch(/^\{\{resolve:secretsmanager:<\w+>:SecretString:::\}\}$/);
    }
    for (const r of references) expect(r.value).toMatch(/^\{\{resolve:secretsmanager:$/);
  });
});

/**
 * Strings that look like generated credentials: a run of 20+ letters and
 * digits with both cases and digits scattered through it (4 or more separate
 * digit runs), that is not a logical ID of the template. Names CDK makes
 * (`GatewayServiceTaskCountTargetCpu314A8CCF`, `ElasticLoadBalancingV2`)
 * have their digits together at the end.
 */
function secretLooking(tree: Json, logicalIds: ReadonlySet<string>): string[] {
  return stringLeaves(tree)
    .filter(({ value }) =>
      value
        .split(/[^A-Za-z0-9]+/)
        .some(
          (w) =>
            w.length >= 20 &&
            /[a-z]/.test(w) &&
            /[A-Z]/.test(w) &&
            (w.match(/\d+/g) ?? []).length >= 4 &&
            !logicalIds.has(w),
        ),
    )
    .map((l) => `${l.path}: ${l.value}`);
}

/** The replication group of one server: `Directory` (the gateway) or `Snapshots` (the functions). */
function redisGroup(t: Record<string, Json>, server: 'Directory' | 'Snapshots'): CfnResource {
  return only(
    resourcesOfType(t, 'AWS::ElastiCache::ReplicationGroup').filter((g) =>
      g.id.startsWith(`Redis${server}ReplicationGroup`),
    ),
  );
}

describe('Redis', () => {
  it('two replication groups, each encrypted in transit and at rest, Multi-AZ with failover and one replica, cluster mode off', () => {
    const groups = resourcesOfType(template, 'AWS::ElastiCache::ReplicationGroup');
    expect(groups.map((g) => g.id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'RedisDirectoryReplicationGroup',
      'RedisSnapshotsReplicationGroup',
    ]);
    for (const { properties: group } of groups) {
      expect(group['TransitEncryptionEnabled']).toBe(true);
      expect(group['AtRestEncryptionEnabled']).toBe(true);
      expect(group['MultiAZEnabled']).toBe(true);
      expect(group['AutomaticFailoverEnabled']).toBe(true);
      expect(group['NumNodeGroups']).toBe(1);
      expect(group['ReplicasPerNodeGroup']).toBe(1);
      expect(group['Engine']).toBe('redis');
      expect(cfnText(group['EngineVersion'])).toMatch(/^7\./);
    }
    expect(redisGroup(template, 'Directory').properties['CacheNodeType']).toBe(DIRECTORY_NODE_TYPE);
    expect(redisGroup(template, 'Snapshots').properties['CacheNodeType']).toBe(SNAPSHOT_NODE_TYPE);
  });

  it.each([
    ['Directory', 'noeviction'],
    ['Snapshots', 'allkeys-lru'],
  ] as const)(
    'the %s group has its own parameter group (redis7, maxmemory-policy %s) and a memory alarm on both nodes',
    (server, policy) => {
      // Prepare
      const group = redisGroup(template, server);
      const parameters = only(
        resourcesOfType(template, 'AWS::ElastiCache::ParameterGroup').filter(
          (p) => p.id === refId(group.properties['CacheParameterGroupName']),
        ),
      );
      const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter((a) =>
        a.id.startsWith(`Redis${server}MemoryAlarm`),
      );
      // Assess
      expect(parameters.properties['CacheParameterGroupFamily']).toBe(
        `redis${cfnText(group.properties['EngineVersion']).split('.')[0] ?? ''}`,
      );
      expect(parameters.properties['Properties']).toEqual({ 'maxmemory-policy': policy });
      const metrics = (only(alarms).properties['Metrics'] as { MetricStat?: Json }[])
        .flatMap((m) => (m.MetricStat === undefined ? [] : [m.MetricStat]))
        .map((m) => JSON.stringify(m));
      expect(metrics).toHaveLength(2);
      for (const [i, m] of metrics.entries()) {
        expect(m).toContain('DatabaseMemoryUsagePercentage');
        expect(m).toContain(`{"Ref":"${group.id}"},"-00${String(i + 1)}"`);
      }
    },
  );

  it('the gateway reaches the directory primary endpoint over TLS as its own user, password apart from the URL', () => {
    const group = redisGroup(template, 'Directory');
    const gatewayUser = only(
      resourcesOfType(template, 'AWS::ElastiCache::User').filter((u) =>
        u.id.startsWith('RedisGatewayUser'),
      ),
    );
    expect(environment(template)['REDIS_URL']).toBe(
      `rediss://${cfnText(gatewayUser.properties['UserName'])}@<${group.id}.PrimaryEndPoint.Address>:${cfnText(group.properties['Port'])}`,
    );
  });

  it('authenticates with one RBAC user group per server (no AUTH token): directory = default off, gateway, admin off; snapshots = default off, snapshots', () => {
    // Prepare
    const users = resourcesOfType(template, 'AWS::ElastiCache::User');
    const byRole = (role: string) => only(users.filter((u) => u.id.startsWith(`Redis${role}User`)));
    const membersOf = (server: 'Directory' | 'Snapshots'): string[] => {
      const group = redisGroup(template, server).properties;
      expect(group['AuthToken']).toBeUndefined();
      const ids = (group['UserGroupIds'] as Json[]).map((g) => refId(g));
      expect(ids).toHaveLength(1);
      const userGroup = only(
        resourcesOfType(template, 'AWS::ElastiCache::UserGroup').filter((g) => g.id === ids[0]),
      );
      expect(userGroup.properties['Engine']).toBe('redis');
      return (userGroup.properties['UserIds'] as Json[]).map((u) => refId(u) ?? '').sort();
    };
    // Assess
    expect(membersOf('Directory')).toEqual(
      [byRole('Default').id, byRole('Gateway').id, byRole('Admin').id].sort(),
    );
    expect(membersOf('Snapshots')).toEqual([byRole('Default').id, byRole('Snapshots').id].sort());
    expect(resourcesOfType(template, 'AWS::ElastiCache::UserGroup')).toHaveLength(2);
    for (const u of users) {
      expect(u.properties['Engine']).toBe('redis');
      expect(cfnText(u.properties['UserId'])).toMatch(/^[a-z][a-z0-9-]*$/);
      // ElastiCache keeps passwords out of the access string.
      expect(cfnText(u.properties['AccessString'])).not.toMatch(/(^| )[<>#]/);
    }
    expect(byRole('Default').properties['UserName']).toBe('default');
    expect(byRole('Default').properties['AccessString']).toBe(DEFAULT_USER_ACCESS_STRING);
    expect(byRole('Gateway').properties['AccessString']).toBe(GATEWAY_ACCESS_STRING);
    expect(byRole('Snapshots').properties['AccessString']).toBe(SNAPSHOT_ACCESS_STRING);
    // The break-glass user exists switched off: its password alone lets nobody in.
    expect(byRole('Admin').properties['AccessString']).toBe(ADMIN_ACCESS_STRING);
    expect(ADMIN_ACCESS_STRING.split(' ')[0]).toBe('off');
    // The functions connect to the snapshot server as the snapshot user, with its password (never the gateway's).
    const snapshots = redisGroup(template, 'Snapshots').id;
    const snapshotSecret = only(
      resourcesOfType(template, 'AWS::SecretsManager::Secret').filter((x) =>
        x.id.startsWith('RedisSnapshotsPassword'),
      ),
    ).id;
    const keepers = resourcesOfType(template, 'AWS::Lambda::Function').filter(
      (f) =>
        (f.properties['Environment'] as { Variables?: Record<string, Json> } | undefined)
          ?.Variables?.['WARMROUTE_SNAPSHOT_REDIS_URL'] !== undefined,
    );
    expect(keepers).toHaveLength(2);
    for (const f of keepers) {
      const vars = (f.properties['Environment'] as { Variables: Record<string, Json> }).Variables;
      expect(cfnText(vars['WARMROUTE_SNAPSHOT_REDIS_URL'])).toBe(
        `rediss://${cfnText(byRole('Snapshots').properties['UserName'])}@<${snapshots}.PrimaryEndPoint.Address>:6379`,
      );
      expect(cfnText(vars['WARMROUTE_SNAPSHOT_REDIS_PASSWORD'])).toContain(`<${snapshotSecret}>`);
    }
  });
});

interface IngressRule {
  readonly group: string;
  readonly from: number;
  readonly to: number;
  readonly source: string;
}

/** Every ingress rule of the template, inline or standalone; the source as a CIDR or `sg:<logical id>`. */
function ingressRules(t: Record<string, Json>): IngressRule[] {
  const source = (r: Record<string, Json>): string =>
    typeof r['CidrIp'] === 'string'
      ? r['CidrIp']
      : typeof r['CidrIpv6'] === 'string'
        ? r['CidrIpv6']
        : `sg:${getAttId(r['SourceSecurityGroupId']) ?? JSON.stringify(r)}`;
  const inline = resourcesOfType(t, 'AWS::EC2::SecurityGroup').flatMap((g) =>
    ((g.properties['SecurityGroupIngress'] ?? []) as Record<string, Json>[]).map((r) => ({
      group: g.id,
      from: Number(r['FromPort']),
      to: Number(r['ToPort']),
      source: source(r),
    })),
  );
  const standalone = resourcesOfType(t, 'AWS::EC2::SecurityGroupIngress').map((r) => ({
    group: getAttId(r.properties['GroupId']) ?? '',
    from: Number(r.properties['FromPort']),
    to: Number(r.properties['ToPort']),
    source: source(r.properties),
  }));
  return [...inline, ...standalone];
}

describe('security groups', () => {
  const sgOf = (logicalPrefix: string): string =>
    only(
      resourcesOfType(template, 'AWS::EC2::SecurityGroup').filter((g) =>
        g.id.startsWith(logicalPrefix),
      ),
    ).id;

  it('by default nothing is open to the internet; the load balancer takes its listener port from the VPC', () => {
    const open = ingressRules(template).filter(
      (r) => r.source === '0.0.0.0/0' || r.source === '::/0',
    );
    const alb = sgOf('GatewayLoadBalancerSecurityGroup');
    const vpc = cfnText(only(resourcesOfType(template, 'AWS::EC2::VPC')).properties['CidrBlock']);
    expect(open).toEqual([]);
    expect(
      ingressRules(template)
        .filter((r) => r.group === alb)
        .map((r) => ({ from: r.from, to: r.to, source: r.source })),
    ).toEqual([{ from: 80, to: 80, source: vpc }]);
  });

  it('the tasks take the public port from the load balancer only, the admin port from it and the VPC', () => {
    const tasks = sgOf('GatewayTaskSecurityGroup');
    const alb = sgOf('GatewayLoadBalancerSecurityGroup');
    const vpc = only(resourcesOfType(template, 'AWS::EC2::VPC')).properties['CidrBlock'];
    const rules = ingressRules(template).filter((r) => r.group === tasks);
    const admin = Number(environment(template)['WARMROUTE_ADMIN_PORT']);
    expect(rules.filter((r) => r.from === defaults.port).map((r) => r.source)).toEqual([
      `sg:${alb}`,
    ]);
    expect(
      rules
        .filter((r) => r.from === admin)
        .map((r) => r.source)
        .sort(),
    ).toEqual([`sg:${alb}`, cfnText(vpc)].sort());
    expect(rules.every((r) => r.from === r.to && [defaults.port, admin].includes(r.from))).toBe(
      true,
    );
  });

  it.each([
    ['Directory', 'GatewayTaskSecurityGroup'],
    ['Snapshots', 'FunctionsSecurityGroup'],
  ] as const)(
    'the %s Redis has its own security group and takes 6379 from %s only',
    (server, client) => {
      // Prepare
      const sgs = redisGroup(template, server).properties['SecurityGroupIds'] as Json[];
      expect(sgs).toHaveLength(1);
      const redisSg = getAttId(sgs[0]);
      // Act
      const rules = ingressRules(template).filter((r) => r.group === redisSg);
      // Assess
      expect(redisSg).toBe(sgOf(`Redis${server}SecurityGroup`));
      expect(rules.map((r) => r.source)).toEqual([`sg:${sgOf(client)}`]);
      expect(rules.every((r) => r.from === 6379 && r.to === 6379)).toBe(true);
    },
  );

  it("the functions' security group has no path to the directory server, the gateway's none to the snapshot server", () => {
    // Prepare: every egress rule, inline or standalone, by destination group.
    const egress = [
      ...resourcesOfType(template, 'AWS::EC2::SecurityGroup').flatMap((g) =>
        ((g.properties['SecurityGroupEgress'] ?? []) as Record<string, Json>[]).map((r) => ({
          group: g.id,
          to: getAttId(r['DestinationSecurityGroupId']),
        })),
      ),
      ...resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress').map((r) => ({
        group: getAttId(r.properties['GroupId']),
        to: getAttId(r.properties['DestinationSecurityGroupId']),
      })),
    ];
    const directory = sgOf('RedisDirectorySecurityGroup');
    const snapshots = sgOf('RedisSnapshotsSecurityGroup');
    const functions = sgOf('FunctionsSecurityGroup');
    const tasks = sgOf('GatewayTaskSecurityGroup');
    const reached = (from: string): (string | undefined)[] =>
      egress.filter((r) => r.group === from && r.to !== undefined).map((r) => r.to);
    const ingressFrom = (into: string): string[] =>
      ingressRules(template)
        .filter((r) => r.group === into)
        .map((r) => r.source);
    // Assess: neither an egress rule nor an ingress rule between them.
    expect(reached(functions)).toEqual([snapshots]);
    expect(reached(tasks)).not.toContain(snapshots);
    expect(ingressFrom(directory)).not.toContain(`sg:${functions}`);
    expect(ingressFrom(snapshots)).not.toContain(`sg:${tasks}`);
    expect(directory).not.toBe(snapshots);
  });
});

/**
 * Actions AWS authorizes only on `*` (no resource-level permission): the only
 * ones allowed with a `*` resource, each with why it is there.
 */
const STAR_ONLY_ACTIONS: Readonly<Record<string, string>> = {
  'ecr:GetAuthorizationToken':
    'the execution role logs in to ECR to pull the image; the token is not scoped to a repository',
  // The example functions' execution roles (VPC attachment, Lambda's documented set).
  'ec2:DescribeNetworkInterfaces': 'a Describe action: no resource-level permission',
  'ec2:DescribeSubnets': 'a Describe action: no resource-level permission',
  'ec2:CreateNetworkInterface':
    'Lambda creates the function ENIs in subnets and security groups it picks at run time',
  'ec2:DeleteNetworkInterface': 'the ENI IDs do not exist before Lambda creates them',
  'ec2:AssignPrivateIpAddresses': 'on the ENIs Lambda creates (IDs unknown beforehand)',
  'ec2:UnassignPrivateIpAddresses': 'on the ENIs Lambda creates (IDs unknown beforehand)',
};

/**
 * Managed policies a role may carry, each with why: none. Every role gets
 * inline statements on its own resources instead (the example functions'
 * ENI statement, the restrict-default-security-group provider's own log
 * group), because the AWS managed ones below grant logs on every log group.
 */
const MANAGED_POLICIES: Readonly<Record<string, string>> = {};
/** AWS managed policies that grant logs:CreateLogGroup/CreateLogStream/PutLogEvents on `*`: never allowed. */
const LOGS_ON_STAR_POLICIES = [
  'service-role/AWSLambdaBasicExecutionRole',
  'service-role/AWSLambdaVPCAccessExecutionRole',
  'AWSLambdaExecute',
  'CloudWatchLogsFullAccess',
];

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
}

function everyStatement(t: Record<string, Json>): { where: string; statement: Statement }[] {
  const fromDocument = (where: string, doc: Json | undefined) =>
    ((doc as { Statement?: Statement[] } | undefined)?.Statement ?? []).map((statement) => ({
      where,
      statement,
    }));
  return [
    ...resourcesOfType(t, 'AWS::IAM::Policy').flatMap((p) =>
      fromDocument(p.id, p.properties['PolicyDocument']),
    ),
    ...resourcesOfType(t, 'AWS::IAM::Role').flatMap((r) =>
      ((r.properties['Policies'] ?? []) as { PolicyDocument: Json }[]).flatMap((p) =>
        fromDocument(r.id, p.PolicyDocument),
      ),
    ),
  ];
}

const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe('IAM least privilege', () => {
  it('walks every policy of the template', () => {
    expect(everyStatement(template).length).toBeGreaterThan(5);
  });

  it('no statement has a * resource, except for actions AWS authorizes only on *', () => {
    const offending = everyStatement(template).filter(
      ({ statement }) =>
        asList(statement.Resource).some((r) => r === '*') &&
        asList(statement.Action).some((a) => !(a in STAR_ONLY_ACTIONS)),
    );
    expect(offending).toEqual([]);
  });

  it('no action is a wildcard', () => {
    const wild = everyStatement(template).filter(({ statement }) =>
      asList(statement.Action).some((a) => a.includes('*')),
    );
    expect(wild).toEqual([]);
  });

  it('roles carry only allow-listed managed policies, never one granting logs on every log group', () => {
    // Prepare: every managed policy ARN on any role (AWS::IAM::Role and standalone attachments).
    const arns = [
      ...resourcesOfType(template, 'AWS::IAM::Role').flatMap(
        (r) => (r.properties['ManagedPolicyArns'] ?? []) as Json[],
      ),
      ...resourcesOfType(template, 'AWS::IAM::ManagedPolicy').map((p) => p.id as Json),
    ];
    const names = arns.map((a) => cfnText(a).replace(/^.*:policy\//, ''));
    // Assess
    expect(names.filter((n) => !(n in MANAGED_POLICIES))).toEqual([]);
    expect(Object.keys(MANAGED_POLICIES).filter((n) => LOGS_ON_STAR_POLICIES.includes(n))).toEqual(
      [],
    );
  });

  it("the default security group's cleanup function writes only to its own log group, with a retention", () => {
    // Prepare
    const handler = only(
      resourcesOfType(template, 'AWS::Lambda::Function').filter((f) =>
        f.id.startsWith('CustomVpcRestrictDefaultSG'),
      ),
    );
    const group = resourcesOfType(template, 'AWS::Logs::LogGroup').find(
      (g) => cfnText(g.properties['LogGroupName']) === `/aws/lambda/<${handler.id}>`,
    );
    const logStatements = everyStatement(template).filter(({ statement }) =>
      asList(statement.Action).some((a) => a.startsWith('logs:')),
    );
    // Assess
    expect(group?.properties['RetentionInDays']).toBeGreaterThan(0);
    const own = logStatements.filter(({ statement }) =>
      asList(statement.Resource).some((r) => getAttId(r) === group?.id),
    );
    expect(own.flatMap(({ statement }) => asList(statement.Action)).sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  it('the task role may invoke exactly the example functions, unqualified', () => {
    // Prepare
    const taskRole = only(
      resourcesOfType(template, 'AWS::IAM::Role').filter((r) =>
        r.id.startsWith('GatewayTaskTaskRole'),
      ),
    );
    const functions = resourcesOfType(template, 'AWS::Lambda::Function')
      .filter((f) => f.properties['TenancyConfig'] !== undefined)
      .map((f) => f.id);
    // Act
    const statements = everyStatement(template).filter(({ where }) =>
      where.startsWith('GatewayTaskTaskRoleDefaultPolicy'),
    );
    // Assess
    expect(statements).toHaveLength(1);
    const statement = statements[0]!.statement;
    expect(statement.Action).toBe('lambda:InvokeFunction');
    expect(
      asList(statement.Resource)
        .map((r) => cfnText(r))
        .sort(),
    ).toEqual(functions.map((id) => `<${id}.Arn>`).sort());
    expect(taskRole.properties['ManagedPolicyArns']).toBeUndefined();
  });

  it("the execution role reads exactly the container's three secrets, never the functions' Redis password", () => {
    const read = everyStatement(template)
      .filter(({ where }) => where.startsWith('GatewayTaskExecutionRoleDefaultPolicy'))
      .filter(({ statement }) =>
        asList(statement.Action).includes('secretsmanager:GetSecretValue'),
      );
    const injected = container(template).Secrets.map((s) => refId(s.ValueFrom));
    const readIds = read.flatMap(({ statement }) => asList(statement.Resource).map(refId)).sort();
    expect(readIds).toEqual([...injected].sort());
    expect(readIds.some((id) => id?.startsWith('RedisSnapshotsPassword'))).toBe(false);
  });
});

describe('autoscaling', () => {
  it('scales on CPU between desiredCount and the maximum; the service itself has no DesiredCount (a deploy must not reset it)', () => {
    const target = only(resourcesOfType(template, 'AWS::ApplicationAutoScaling::ScalableTarget'));
    const service = only(resourcesOfType(template, 'AWS::ECS::Service'));
    const policies = resourcesOfType(template, 'AWS::ApplicationAutoScaling::ScalingPolicy');
    expect(Object.keys(service.properties)).not.toContain('DesiredCount');
    expect(target.properties['MinCapacity']).toBe(2);
    expect(target.properties['MaxCapacity']).toBe(10);
    expect(
      policies.map(
        (p) =>
          (
            p.properties['TargetTrackingScalingPolicyConfiguration'] as {
              PredefinedMetricSpecification: { PredefinedMetricType: string };
            }
          ).PredefinedMetricSpecification.PredefinedMetricType,
      ),
    ).toEqual(['ECSServiceAverageCPUUtilization']);
  });

  it(
    'follows desiredCount and maxCount, and adds request-count scaling when asked',
    () => {
      // Act
      const { template: scaled } = synth({
        desiredCount: 3,
        maxCount: 6,
        requestsPerTargetPerMinute: 600,
      });
      // Assess
      const target = only(resourcesOfType(scaled, 'AWS::ApplicationAutoScaling::ScalableTarget'));
      expect(target.properties['MinCapacity']).toBe(3);
      expect(target.properties['MaxCapacity']).toBe(6);
      expect(
        Object.keys(only(resourcesOfType(scaled, 'AWS::ECS::Service')).properties),
      ).not.toContain('DesiredCount');
      const configs = resourcesOfType(scaled, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(
        (p) =>
          p.properties['TargetTrackingScalingPolicyConfiguration'] as {
            TargetValue: number;
            PredefinedMetricSpecification: { PredefinedMetricType: string };
          },
      );
      expect(
        configs.map((c) => c.PredefinedMetricSpecification.PredefinedMetricType).sort(),
      ).toEqual(['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization']);
      expect(
        configs.find(
          (c) =>
            c.PredefinedMetricSpecification.PredefinedMetricType === 'ALBRequestCountPerTarget',
        )?.TargetValue,
      ).toBe(600);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('refuses a maximum below desiredCount', () => {
    expect(() => new GatewayStack(new App(), 'Bad', { desiredCount: 4, maxCount: 3 })).toThrow(
      /maxCount/,
    );
  });
});

describe('container image', () => {
  it('stages deploy/docker/Dockerfile with the repository as context, without Docker and without node_modules', () => {
    // Act: synthesis writes the asset manifest and stages the build context (it never runs docker).
    const assembly = gatewayApp.synth();
    const artifact = assembly.getStackByName(gatewayStack.stackName);
    const manifestFile = join(assembly.directory, `${artifact.id}.assets.json`);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      dockerImages: Record<
        string,
        { source: { directory: string; dockerFile?: string; platform?: string } }
      >;
    };
    // Assess
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    const { directory, dockerFile, platform } = images[0]!.source;
    expect(dockerFile).toBe('deploy/docker/Dockerfile');
    // Built for the tasks' architecture whatever machine deploys.
    const task = only(resourcesOfType(template, 'AWS::ECS::TaskDefinition'));
    const runtime = task.properties['RuntimePlatform'] as { CpuArchitecture: string };
    expect(runtime.CpuArchitecture).toBe('X86_64');
    expect(platform).toBe('linux/amd64');
    const context = join(assembly.directory, directory);
    expect(existsSync(join(context, 'deploy/docker/Dockerfile'))).toBe(true);
    expect(existsSync(join(context, 'package.json'))).toBe(true);
    expect(existsSync(join(context, 'node_modules'))).toBe(false);
  });
});
