/**
 * TenantApiStack (deploy/cdk/lib/tenant-api-stack.ts) synthesized offline,
 * and its example authorizer (deploy/cdk/lib/tenant-authorizer/) run
 * in-process: the tenant ID reaches Lambda's X-Amz-Tenant-Id from the
 * authorizer's verified context by default, from a client header only with
 * the explicit acknowledgement, and every method is behind the authorizer.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { EXAMPLE_FUNCTION_NAMES } from '../../deploy/cdk/lib/example-functions.js';
import {
  DEFAULT_THROTTLE,
  TenantApiStack,
  type TenantApiStackProps,
} from '../../deploy/cdk/lib/tenant-api-stack.js';
import {
  createTenantAuthorizer,
  SECRET_CACHE_TTL_MS,
  type TokenAuthorizerEvent,
} from '../../deploy/cdk/lib/tenant-authorizer/authorizer.js';
import {
  SECRETS_MANAGER_MAX_ATTEMPTS,
  TOKEN_SECRET_ENV,
} from '../../deploy/cdk/lib/tenant-authorizer/index.js';
import {
  MAX_TOKEN_LIFETIME_SECONDS,
  signTenantToken,
  verifyTenantToken,
} from '../../deploy/cdk/lib/tenant-authorizer/tenant-token.js';
import { nonCanonicalSpellings } from './helpers/token-spellings.js';

type Resource = { Type: string; Properties: Record<string, unknown> };

interface Synthesized {
  readonly stack: TenantApiStack;
  readonly template: Template;
  /** The cloud assembly folder (staged assets are `asset.<hash>` in it). */
  readonly assemblyDir: string;
}

/** Synthesized with no env and with Docker unreachable (local bundling only). */
function synth(props: TenantApiStackProps): Synthesized {
  const saved = process.env['CDK_DOCKER'];
  process.env['CDK_DOCKER'] = '/nonexistent/docker-must-not-be-used';
  try {
    const app = new App();
    const stack = new TenantApiStack(app, 'TenantApi', props);
    const assemblyDir = app.synth().directory;
    return { stack, template: Template.fromStack(stack), assemblyDir };
  } finally {
    if (saved === undefined) delete process.env['CDK_DOCKER'];
    else process.env['CDK_DOCKER'] = saved;
  }
}

function resources(s: Synthesized, type: string): [string, Resource][] {
  return Object.entries(s.template.findResources(type)) as [string, Resource][];
}

function logicalId(s: Synthesized, construct: IConstruct): string {
  return s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** AWS managed policies the stack may attach, by name (after `policy/`), each with its reason. */
const MANAGED_POLICY_ALLOW_LIST: Readonly<Record<string, string>> = {
  'service-role/AmazonAPIGatewayPushToCloudWatchLogs':
    "API Gateway's account-level CloudWatch Logs role (apiGatewayCloudWatchRole, opt-out): AWS " +
    'documents this policy for it; the role serves every API in the account and region, so it ' +
    "cannot be scoped to this stack's log groups",
};

let byAuthorizer: Synthesized;
let byHeader: Synthesized;

beforeAll(() => {
  byAuthorizer = synth({});
  byHeader = synth({ tenantFrom: 'client-header', acknowledgeClientChosenTenant: true });
}, 240_000);

describe('TenantApiStack', () => {
  it('is environment-agnostic and its functions are PER_TENANT on nodejs22.x', () => {
    // Prepare / Act: synthesized in beforeAll.
    // Assess
    expect(Token.isUnresolved(byAuthorizer.stack.account)).toBe(true);
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      byAuthorizer.template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `warmroute-api-${name}`,
        Runtime: 'nodejs22.x',
        TenancyConfig: { TenantIsolationMode: 'PER_TENANT' },
      });
    }
  });

  it('by default maps X-Amz-Tenant-Id from the authorizer context on every method, behind the authorizer', () => {
    // Prepare
    const authorizers = resources(byAuthorizer, 'AWS::ApiGateway::Authorizer');
    const methods = resources(byAuthorizer, 'AWS::ApiGateway::Method');
    // Act: synthesized in beforeAll.
    // Assess: one TOKEN authorizer, on the Authorization header, never cached.
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0] ?? ['', undefined];
    expect(authorizer?.Properties).toMatchObject({
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 0,
    });
    // ANY /<fn> and ANY /<fn>/{proxy+} for each function, nothing else (no unauthenticated OPTIONS).
    expect(methods).toHaveLength(EXAMPLE_FUNCTION_NAMES.length * 2);
    for (const [id, method] of methods) {
      expect(method.Properties, id).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
        Integration: {
          Type: 'AWS_PROXY',
          RequestParameters: {
            'integration.request.header.X-Amz-Tenant-Id': 'context.authorizer.tenantId',
          },
        },
      });
      // Nothing the client sends is mapped.
      expect(method.Properties['RequestParameters'], id).toBeUndefined();
    }
  });

  it('has API Gateway refuse anything not shaped like a token, before the authorizer runs', () => {
    // Prepare
    const [, authorizer] = resources(byAuthorizer, 'AWS::ApiGateway::Authorizer')[0] ?? [];
    const pattern = new RegExp(String(authorizer?.Properties['IdentityValidationExpression']));
    const token = signTenantToken('s'.repeat(32), 'BlueTenant', 1_800_000_000);
    const sig = token.split('.')[3] ?? '';
    // Act
    const verdicts = [
      `Bearer ${token}`,
      `Bearer ${token.replace(sig, `${sig.slice(0, 5)}~${sig.slice(5)}`)}`,
      `Bearer ${token}=`,
      `Basic ${token}`,
      'Bearer not-a-token',
    ].map((header) => pattern.test(header));
    // Assess
    expect(verdicts).toEqual([true, false, false, false, false]);
  });

  it('maps each function behind its own two methods', () => {
    // Prepare
    const methods = resources(byAuthorizer, 'AWS::ApiGateway::Method');
    // Act / Assess
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      const fnId = logicalId(byAuthorizer, byAuthorizer.stack.functions.functions[name]);
      const uses = methods.filter(([, m]) =>
        JSON.stringify(m.Properties['Integration']).includes(`"${fnId}"`),
      );
      expect(uses, name).toHaveLength(2);
    }
  });

  it('takes the tenant from a client header only with the acknowledgement', () => {
    // Prepare
    const unacknowledged = {
      tenantFrom: 'client-header',
    } as unknown as TenantApiStackProps;
    // Act / Assess: refused without it (a JavaScript caller gets past the type).
    expect(() => new TenantApiStack(new App(), 'Refused', unacknowledged)).toThrow(
      /acknowledgeClientChosenTenant/,
    );
    // With it: mapped from the declared, required header; the authorizer still guards every method.
    const methods = resources(byHeader, 'AWS::ApiGateway::Method');
    expect(methods).toHaveLength(EXAMPLE_FUNCTION_NAMES.length * 2);
    for (const [id, method] of methods) {
      expect(method.Properties, id).toMatchObject({
        AuthorizationType: 'CUSTOM',
        RequestParameters: { 'method.request.header.x-tenant-id': true },
        RequestValidatorId: expect.anything() as unknown,
        Integration: {
          RequestParameters: {
            'integration.request.header.X-Amz-Tenant-Id': 'method.request.header.x-tenant-id',
          },
        },
      });
    }
    byHeader.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestParameters: true,
    });
  });

  it('lets API Gateway invoke each function and the authorizer, from this API only', () => {
    // Prepare
    const permissions = resources(byAuthorizer, 'AWS::Lambda::Permission').map(
      ([, p]) => p.Properties,
    );
    const apiId = logicalId(byAuthorizer, byAuthorizer.stack.api);
    const targets = [
      ...EXAMPLE_FUNCTION_NAMES.map((n) => byAuthorizer.stack.functions.functions[n]),
      byAuthorizer.stack.authorizerFunction,
    ];
    // Act / Assess
    for (const target of targets) {
      const fnId = logicalId(byAuthorizer, target);
      const own = permissions.filter(
        (p) =>
          JSON.stringify(p['FunctionName']) === JSON.stringify({ 'Fn::GetAtt': [fnId, 'Arn'] }),
      );
      expect(own.length, fnId).toBeGreaterThan(0);
      for (const p of own) {
        expect(p['Action']).toBe('lambda:InvokeFunction');
        expect(p['Principal']).toBe('apigateway.amazonaws.com');
        const source = JSON.stringify(p['SourceArn']);
        expect(source).toContain(`{"Ref":"${apiId}"}`);
        // The deployed stage only: no console test-invoke permission.
        expect(source).not.toContain('test-invoke-stage');
      }
    }
  });

  it("gives the authorizer the token secret's ARN only, never its value or a dynamic reference", () => {
    // Prepare
    const fnId = logicalId(byAuthorizer, byAuthorizer.stack.authorizerFunction);
    const secretArn = byAuthorizer.stack.resolve(
      byAuthorizer.stack.tokenSecret.secretArn,
    ) as unknown;
    // Act
    const fn = byAuthorizer.template.toJSON() as {
      Resources: Record<string, { Properties: { Environment?: { Variables: unknown } } }>;
    };
    const variables = fn.Resources[fnId]?.Properties.Environment?.Variables;
    // Assess: exactly one variable, the ARN; nothing that CloudFormation would resolve to the value.
    expect(variables).toEqual({ [TOKEN_SECRET_ENV]: secretArn });
    expect(JSON.stringify(byAuthorizer.template.toJSON())).not.toContain('resolve:secretsmanager');
    byAuthorizer.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64 },
    });
  });

  it("lets the authorizer's role read exactly the token secret, and nothing else read it", () => {
    // Prepare
    const stack = byAuthorizer.stack;
    const roleId = stack.getLogicalId(
      stack.authorizerFunction.role?.node.defaultChild as CfnElement,
    );
    const secretArn = JSON.stringify(stack.resolve(stack.tokenSecret.secretArn));
    type Statement = { Action: string | string[]; Resource: unknown };
    const policies = resources(byAuthorizer, 'AWS::IAM::Policy').map(([, p]) => ({
      roles: JSON.stringify(p.Properties['Roles']),
      statements: (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement,
    }));
    // Act
    const secretStatements = policies.flatMap((p) =>
      p.statements
        .filter((st) => [st.Action].flat().some((a) => a.startsWith('secretsmanager:')))
        .map((st) => ({ roles: p.roles, actions: [st.Action].flat(), resource: st.Resource })),
    );
    // Assess
    expect(secretStatements.length).toBeGreaterThan(0);
    for (const st of secretStatements) {
      expect(st.roles).toBe(JSON.stringify([{ Ref: roleId }]));
      expect(JSON.stringify(st.resource)).toBe(secretArn);
    }
    expect(secretStatements.flatMap((st) => st.actions)).toContain('secretsmanager:GetSecretValue');
  });

  it('attaches no managed policy but the allow-listed ones (each with its reason)', () => {
    // Prepare
    const withoutAccountRole = synth({ apiGatewayCloudWatchRole: false });
    const managed = (s: Synthesized): string[] =>
      resources(s, 'AWS::IAM::Role')
        .flatMap(([, r]) => [r.Properties['ManagedPolicyArns'] ?? []].flat())
        .map((arn) => JSON.stringify(arn))
        .map((arn) => /:policy\/([^"]+)"/.exec(arn)?.[1] ?? arn);
    // Act
    const granted = [...managed(byAuthorizer), ...managed(byHeader)];
    const grantedWithoutAccountRole = managed(withoutAccountRole);
    // Assess
    expect(granted.filter((name) => !(name in MANAGED_POLICY_ALLOW_LIST))).toEqual([]);
    expect(grantedWithoutAccountRole).toEqual([]);
    for (const reason of Object.values(MANAGED_POLICY_ALLOW_LIST)) {
      expect(reason.length).toBeGreaterThan(60);
    }
  }, 120_000);

  it('lets each function (and the authorizer) write only to its own log group, which has a retention', () => {
    // Prepare
    const policies = resources(byAuthorizer, 'AWS::IAM::Policy').map(([, p]) => p.Properties);
    const roles = Object.fromEntries(resources(byAuthorizer, 'AWS::IAM::Role'));
    const logGroups = Object.fromEntries(resources(byAuthorizer, 'AWS::Logs::LogGroup'));
    const functions = resources(byAuthorizer, 'AWS::Lambda::Function');
    // Act
    const checks = functions.map(([id, fn]) => {
      const logGroupId = String(
        (fn.Properties['LoggingConfig'] as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup
          ?.Ref,
      );
      const roleId = String((fn.Properties['Role'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]);
      const logResources = policies
        .filter((p) => JSON.stringify(p['Roles']).includes(`{"Ref":"${roleId}"}`))
        .flatMap(
          (p) =>
            (
              p['PolicyDocument'] as {
                Statement: { Action: string | string[]; Resource: unknown }[];
              }
            ).Statement,
        )
        .filter((st) => [st.Action].flat().some((a) => a.startsWith('logs:')))
        .map((st) => st.Resource);
      return { id, logGroupId, roleId, logResources };
    });
    // Assess: the three example functions and the authorizer.
    expect(checks).toHaveLength(EXAMPLE_FUNCTION_NAMES.length + 1);
    for (const c of checks) {
      expect(logGroups[c.logGroupId]?.Properties['RetentionInDays'], c.id).toBeGreaterThan(0);
      expect(c.logResources, c.id).toEqual([{ 'Fn::GetAtt': [c.logGroupId, 'Arn'] }]);
      expect(roles[c.roleId]?.Properties['ManagedPolicyArns'], c.id).toBeUndefined();
    }
    expect(new Set(checks.map((c) => c.roleId)).size).toBe(checks.length);
  });

  it('throttles the stage at DEFAULT_THROTTLE unless told otherwise', () => {
    // Prepare
    const expected = (rate: number, burst: number): unknown => ({
      MethodSettings: [
        Match.objectLike({
          ResourcePath: '/*',
          HttpMethod: '*',
          ThrottlingRateLimit: rate,
          ThrottlingBurstLimit: burst,
        }),
      ],
    });
    // Act
    const custom = synth({ throttle: { rateLimit: 7, burstLimit: 9 } });
    // Assess
    byAuthorizer.template.hasResourceProperties(
      'AWS::ApiGateway::Stage',
      expected(DEFAULT_THROTTLE.rateLimit, DEFAULT_THROTTLE.burstLimit),
    );
    custom.template.hasResourceProperties('AWS::ApiGateway::Stage', expected(7, 9));
  }, 120_000);

  it('creates no IAM statement on a * resource', () => {
    // Prepare
    const statements = [
      ...resources(byAuthorizer, 'AWS::IAM::Policy'),
      ...resources(byHeader, 'AWS::IAM::Policy'),
    ].flatMap(
      ([, p]) =>
        (p.Properties['PolicyDocument'] as { Statement: { Resource: unknown }[] }).Statement,
    );
    // Act / Assess
    expect(statements.length).toBeGreaterThan(0);
    for (const st of statements) {
      const listed: unknown[] = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
      expect(listed).not.toContain('*');
    }
  });

  it('passes cdk-nag AwsSolutions with every acknowledgement explained', () => {
    // Prepare
    const stacks: Stack[] = [byAuthorizer.stack, byHeader.stack];
    // Act
    const violations = stacks.flatMap((stack) =>
      new AwsSolutionsChecks()
        .validateScope(stack)
        .violations.map(
          (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
        ),
    );
    // Validations.of(x).acknowledge records { [ruleId]: reason } metadata on x.
    const acknowledged = stacks.flatMap((stack) =>
      stack.node
        .findAll()
        .flatMap((c) =>
          c.node.metadata
            .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
            .flatMap((m) => Object.entries(m.data as Record<string, string>)),
        ),
    );
    // Assess: errors and warnings alike.
    expect(violations).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) expect(reason.length, id).toBeGreaterThan(60);
  });
});

describe('tenant authorizer (example)', () => {
  /**
   * A stand-in for the AWS SDK the Lambda runtime ships, found the way the
   * runtime's copy is found (NODE_PATH): it answers GetSecretValue with
   * STUB_SECRET and records each SecretId it is asked for.
   */
  const SDK_STUB = `
class GetSecretValueCommand { constructor(input) { this.input = input; } }
class SecretsManagerClient {
  constructor(config) { (globalThis.secretsManagerConfigs ??= []).push(config); }
  async send(command, options) {
    (globalThis.secretsManagerCalls ??= []).push(command.input);
    (globalThis.secretsManagerSignals ??= []).push(options?.abortSignal instanceof AbortSignal);
    return { SecretString: process.env.STUB_SECRET };
  }
}
module.exports = { GetSecretValueCommand, SecretsManagerClient };
`;

  it('runs from its staged bundle in a child node, fetching the secret by ARN once, junk refused without a fetch', async () => {
    // Prepare: the authorizer's asset as synthesized; the SDK only on NODE_PATH, as on Lambda.
    const fn = byAuthorizer.stack.authorizerFunction;
    const props = (
      byAuthorizer.template.toJSON() as {
        Resources: Record<string, { Properties: { Code: { S3Key: string }; Handler: string } }>;
      }
    ).Resources[logicalId(byAuthorizer, fn)]?.Properties;
    if (props === undefined) throw new Error('no authorizer function');
    const dir = join(byAuthorizer.assemblyDir, `asset.${props.Code.S3Key.replace(/\.zip$/, '')}`);
    const [file, exportName] = props.Handler.split('.');
    const runtimeModules = mkdtempSync(join(tmpdir(), 'wr-cdk-sdk-'));
    onTestFinished(() => {
      rmSync(runtimeModules, { recursive: true, force: true });
    });
    const sdkDir = join(runtimeModules, '@aws-sdk', 'client-secrets-manager');
    mkdirSync(sdkDir, { recursive: true });
    writeFileSync(join(sdkDir, 'package.json'), '{"name":"@aws-sdk/client-secrets-manager"}\n');
    writeFileSync(join(sdkDir, 'index.js'), SDK_STUB);
    const childSecret = randomBytes(32).toString('hex');
    const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wr-token-AbCdEf';
    const token = signTenantToken(childSecret, 'GreenTenant', Math.floor(Date.now() / 1000) + 60);
    const forged = signTenantToken(
      randomBytes(32).toString('hex'),
      'GreenTenant',
      Math.floor(Date.now() / 1000) + 60,
    );
    const call = (authorizationToken: string): string =>
      `await m[${JSON.stringify(exportName)}](${JSON.stringify({
        type: 'TOKEN',
        authorizationToken,
        methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc/v1/GET/counter',
      })}).then((r) => r, (e) => ({ error: e.message }))`;
    const script =
      `const m = await import(${JSON.stringify(pathToFileURL(join(dir, `${file ?? ''}.mjs`)).href)});` +
      `const junk = ${call('Bearer not-a-token')};` +
      'const callsAfterJunk = (globalThis.secretsManagerCalls ?? []).length;' +
      `const good = ${call(`Bearer ${token}`)};` +
      `const bad = ${call(`Bearer ${forged}`)};` +
      `const again = ${call(`Bearer ${token}`)};` +
      'process.stdout.write(JSON.stringify({ junk, callsAfterJunk, good, bad, again, calls: globalThis.secretsManagerCalls,' +
      ' configs: globalThis.secretsManagerConfigs, signals: globalThis.secretsManagerSignals }));';
    // Act
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        {
          cwd: dir,
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            NODE_PATH: runtimeModules,
            [TOKEN_SECRET_ENV]: secretArn,
            STUB_SECRET: childSecret,
          },
          timeout: 20_000,
        },
        (err, stdout, stderr) => {
          if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
    // Assess: the SDK is not in the bundle (the runtime's copy is used) ...
    expect(readdirSync(dir)).toEqual(['index.mjs']);
    expect(readFileSync(join(dir, 'index.mjs'), 'utf8')).not.toMatch(
      /class SecretsManagerClient\b/,
    );
    // ... junk is refused before any call, the signed tenant is granted, a forged token refused,
    // and the secret is fetched once, by the ARN in the environment, with a bounded retry and
    // the authorizer's deadline as the request's abort signal.
    expect(JSON.parse(out)).toEqual({
      junk: { error: 'Unauthorized' },
      callsAfterJunk: 0,
      good: expect.objectContaining({ context: { tenantId: 'GreenTenant' } }) as unknown,
      bad: { error: 'Unauthorized' },
      again: expect.objectContaining({ context: { tenantId: 'GreenTenant' } }) as unknown,
      calls: [{ SecretId: secretArn }],
      configs: [{ maxAttempts: SECRETS_MANAGER_MAX_ATTEMPTS }],
      signals: [true],
    });
  });

  const secret = 'x'.repeat(16) + 'a-test-secret-of-some-length';
  const nowMs = 1_800_000_000_000;
  const now = nowMs / 1000;
  const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/counter';

  function event(authorizationToken: string): TokenAuthorizerEvent {
    return { type: 'TOKEN', authorizationToken, methodArn };
  }

  /**
   * An authorizer on a settable clock whose fetcher returns `current.secret`
   * (or throws `current.error`, or never answers while `current.hang`).
   */
  function authorizerWith(
    current: { secret: string; error?: Error; hang?: boolean; clock: number },
    fetchTimeoutMs?: number,
  ): {
    authorize: ReturnType<typeof createTenantAuthorizer>;
    fetches: () => number;
    signals: AbortSignal[];
  } {
    let fetches = 0;
    const signals: AbortSignal[] = [];
    const authorize = createTenantAuthorizer({
      fetchSecret: (signal) => {
        fetches += 1;
        signals.push(signal);
        if (current.hang === true) return new Promise<string>(() => undefined);
        return current.error === undefined
          ? Promise.resolve(current.secret)
          : Promise.reject(current.error);
      },
      nowMs: () => current.clock,
      ...(fetchTimeoutMs === undefined ? {} : { fetchTimeoutMs }),
    });
    return { authorize, fetches: () => fetches, signals };
  }

  it('allows exactly the called method and puts the signed tenant in the context', async () => {
    // Prepare
    const { authorize } = authorizerWith({ secret, clock: nowMs });
    const token = signTenantToken(secret, 'BlueTenant', now + 600);
    // Act
    const result = await authorize(event(`Bearer ${token}`));
    // Assess
    expect(result.context).toEqual({ tenantId: 'BlueTenant' });
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn },
    ]);
  });

  it('answers Unauthorized to a forged, altered, expired or missing token', async () => {
    // Prepare
    const { authorize } = authorizerWith({ secret, clock: nowMs });
    const good = signTenantToken(secret, 'BlueTenant', now + 600);
    const [v, , exp, sig] = good.split('.');
    const otherTenant = `${v ?? ''}.${Buffer.from('RedTenant').toString('base64url')}.${exp ?? ''}.${sig ?? ''}`;
    const forged = signTenantToken(`${secret}-not-the-same`, 'BlueTenant', now + 600);
    const expired = signTenantToken(secret, 'BlueTenant', now - 1);
    // Act / Assess
    for (const bad of [
      `Bearer ${otherTenant}`,
      `Bearer ${forged}`,
      `Bearer ${expired}`,
      `Basic ${good}`,
      '',
    ]) {
      await expect(authorize(event(bad)), bad).rejects.toThrow(/^Unauthorized$/);
    }
  });

  it('keeps the fetched secret for the TTL, then fetches again (a rotated secret is in use within the TTL)', async () => {
    // Prepare
    const current = { secret, clock: nowMs };
    const { authorize, fetches } = authorizerWith(current);
    const rotated = `${secret}-rotated`;
    const oldToken = `Bearer ${signTenantToken(secret, 'BlueTenant', now + 3600)}`;
    const newToken = `Bearer ${signTenantToken(rotated, 'BlueTenant', now + 3600)}`;
    // Act
    const first = await authorize(event(oldToken));
    current.secret = rotated;
    current.clock = nowMs + SECRET_CACHE_TTL_MS - 1;
    const stillOld = await authorize(event(oldToken));
    const newTooEarly = authorize(event(newToken));
    await expect(newTooEarly).rejects.toThrow(/^Unauthorized$/);
    const fetchesWithinTtl = fetches();
    current.clock = nowMs + SECRET_CACHE_TTL_MS;
    const afterTtl = await authorize(event(newToken));
    const oldAfterTtl = authorize(event(oldToken));
    // Assess
    expect(first.context).toEqual({ tenantId: 'BlueTenant' });
    expect(stillOld.context).toEqual({ tenantId: 'BlueTenant' });
    expect(fetchesWithinTtl).toBe(1);
    expect(afterTtl.context).toEqual({ tenantId: 'BlueTenant' });
    await expect(oldAfterTtl).rejects.toThrow(/^Unauthorized$/);
    expect(fetches()).toBe(2);
  });

  it('fails closed when the secret cannot be fetched, and tries again on the next request', async () => {
    // Prepare
    const current: { secret: string; error?: Error; clock: number } = {
      secret,
      error: new Error('AccessDeniedException'),
      clock: nowMs,
    };
    const { authorize, fetches } = authorizerWith(current);
    const token = `Bearer ${signTenantToken(secret, 'BlueTenant', now + 600)}`;
    // Act
    const refused = authorize(event(token));
    await expect(refused).rejects.toThrow('AccessDeniedException');
    delete current.error;
    const granted = await authorize(event(token));
    // Assess: the failure was not cached (a second fetch), and nothing was granted without a secret.
    expect(fetches()).toBe(2);
    expect(granted.context).toEqual({ tenantId: 'BlueTenant' });
  });

  it('refuses to run with a short secret (a 500, not a grant) and does not keep it: fixed, the next request works', async () => {
    // Prepare: a botched rotation put a short secret in Secrets Manager.
    const current = { secret: 'short', clock: nowMs };
    const { authorize, fetches } = authorizerWith(current);
    const token = `Bearer ${signTenantToken(secret, 'BlueTenant', now + 600)}`;
    // Act: one request with the short secret, then the secret is fixed, well within the TTL.
    const refused = authorize(event(token));
    await expect(refused).rejects.toThrow(/at least 32/);
    current.secret = secret;
    current.clock = nowMs + 1000;
    const granted = await authorize(event(token));
    // Assess: the short secret was not cached (a second fetch), and the fixed one is in use at once.
    expect(fetches()).toBe(2);
    expect(granted.context).toEqual({ tenantId: 'BlueTenant' });
  });

  it('refuses a request whose secret fetch hangs, within the fetch timeout, and does not keep the hung fetch', async () => {
    // Prepare: GetSecretValue never answers (a network black hole).
    const fetchTimeoutMs = 50;
    const current: { secret: string; hang?: boolean; clock: number } = {
      secret,
      hang: true,
      clock: nowMs,
    };
    const { authorize, fetches, signals } = authorizerWith(current, fetchTimeoutMs);
    const token = `Bearer ${signTenantToken(secret, 'BlueTenant', now + 600)}`;
    // Act
    const started = performance.now();
    const refused = await authorize(event(token)).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsedMs = performance.now() - started;
    delete current.hang;
    const granted = await authorize(event(token));
    // Assess: a 500 (not Unauthorized, not a grant) at the deadline, the SDK request aborted,
    // and the next request fetched again instead of waiting on the hung one.
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/took over 50 ms/);
    expect(elapsedMs).toBeGreaterThanOrEqual(fetchTimeoutMs - 5);
    expect(elapsedMs).toBeLessThan(fetchTimeoutMs + 1000);
    expect(signals[0]?.aborted).toBe(true);
    expect(fetches()).toBe(2);
    expect(granted.context).toEqual({ tenantId: 'BlueTenant' });
  });

  it('refuses every other spelling of a valid token: the last character\'s unused bits, "~", "=" padding', async () => {
    // Prepare: Node's decoder ignores the low 2 bits of a 32-byte signature's last character and
    // skips characters outside the alphabet, so each variant decodes to the valid signature.
    const { authorize } = authorizerWith({ secret, clock: nowMs });
    const good = signTenantToken(secret, 'BlueTenant', now + 600);
    const variants = nonCanonicalSpellings(good);
    const decodesToSame = variants.map((t) =>
      Buffer.from(t.split('.')[3] ?? '', 'base64url').equals(
        Buffer.from(good.split('.')[3] ?? '', 'base64url'),
      ),
    );
    // Act
    const verdicts = variants.map((t) => verifyTenantToken(secret, t, now));
    const answers = await Promise.allSettled(variants.map((t) => authorize(event(`Bearer ${t}`))));
    // Assess
    expect(verifyTenantToken(secret, good, now)).toEqual({ tenantId: 'BlueTenant' });
    expect(decodesToSame).toEqual(variants.map(() => true));
    expect(verdicts).toEqual(variants.map(() => ({ refused: 'malformed' })));
    expect(answers.map((a) => a.status)).toEqual(variants.map(() => 'rejected'));
  });

  it('refuses tokens that live longer than the maximum lifetime, and short secrets', () => {
    // Prepare
    const long = signTenantToken(secret, 'BlueTenant', now + MAX_TOKEN_LIFETIME_SECONDS + 60);
    // Act / Assess
    expect(verifyTenantToken(secret, long, now)).toEqual({ refused: 'lifetime' });
    expect(() => signTenantToken('short', 'BlueTenant', now + 60)).toThrow(/at least 32/);
    expect(() => signTenantToken(secret, 'bad tenant id', now + 60)).toThrow(/not allowed/);
  });
});
