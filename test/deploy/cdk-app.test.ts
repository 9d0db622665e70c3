import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_REGION, createWarmrouteApp } from '../../deploy/cdk/lib/warmroute-app.js';
import { packageRoot } from '../../src/paths.js';
import { cfnText, resourcesOfType } from './helpers/cfn-template.js';

/**
 * The real CDK CLI on the real app (deploy/cdk/cdk.json): `cdk synth` after
 * a root `npm install`, with no AWS account, no Docker and no network. The
 * CLI's version check and notices are turned off so it never phones home;
 * no AWS profile is visible, so the app's region comes from cdk.json.
 */

const CDK_DIR = join(packageRoot, 'deploy', 'cdk');
const CLI = join(packageRoot, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const outdir = mkdtempSync(join(tmpdir(), 'cdk-app-'));
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('cdk synth with the CLI', () => {
  it('compiles the app, synthesizes both stacks and their asset manifests', () => {
    // Prepare: an environment with no AWS configuration (and a HOME without ~/.aws).
    const home = mkdtempSync(join(tmpdir(), 'cdk-app-home-'));
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      CDK_DISABLE_VERSION_CHECK: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    // Act
    const run = spawnSync(
      process.execPath,
      [CLI, 'synth', '--quiet', '--no-notices', '-o', outdir],
      {
        cwd: CDK_DIR,
        env,
        encoding: 'utf8',
        timeout: 480_000,
      },
    );
    rmSync(home, { recursive: true, force: true });
    // Assess
    expect(run.error, String(run.error)).toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    for (const stack of ['warmroute-gateway', 'warmroute-tenant-api']) {
      const template = JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8')) as {
        Resources: Record<string, unknown>;
      };
      expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
      expect(existsSync(join(outdir, `${stack}.assets.json`))).toBe(true);
    }
    const assets = JSON.parse(
      readFileSync(join(outdir, 'warmroute-gateway.assets.json'), 'utf8'),
    ) as { dockerImages: Record<string, { source: { dockerFile: string } }> };
    expect(Object.values(assets.dockerImages).map((i) => i.source.dockerFile)).toEqual([
      'deploy/docker/Dockerfile',
    ]);
  }, 600_000);
});

describe('context keys', () => {
  it('reads the exposure, reservation and WAF keys as the CLI passes them (strings)', () => {
    // Prepare: `-c key=value` arrives as text.
    const dir = mkdtempSync(join(tmpdir(), 'cdk-app-context-'));
    try {
      const built = createWarmrouteApp(
        {
          outdir: dir,
          context: {
            internetFacing: 'true',
            acknowledgeClientChosenKeys: 'true',
            certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
            reservedConcurrency: '{"workspace":50}',
            wafRateLimitPer5Min: '2000',
          },
        },
        { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' },
      );
      // Act
      const t = Template.fromStack(built.gateway).toJSON();
      // Assess
      const alb = resourcesOfType(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0];
      expect(alb?.properties['Scheme']).toBe('internet-facing');
      const workspace = resourcesOfType(t, 'AWS::Lambda::Function').find(
        (f) => cfnText(f.properties['FunctionName'] ?? '') === 'warmroute-workspace',
      );
      expect(workspace?.properties['ReservedConcurrentExecutions']).toBe(50);
      const acl = resourcesOfType(t, 'AWS::WAFv2::WebACL')[0];
      expect(JSON.stringify(acl?.properties['Rules'])).toContain('"Limit":2000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('refuses an internet-facing context without the acknowledgement, and a malformed reservation', () => {
    const env = { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' };
    expect(() =>
      createWarmrouteApp(
        {
          context: {
            internetFacing: 'true',
            certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
          },
        },
        env,
      ),
    ).toThrow(/acknowledgeClientChosenKeys/);
    expect(() => createWarmrouteApp({ context: { internetFacing: 'yes' } }, env)).toThrow(
      /internetFacing must be true or false/,
    );
    expect(() =>
      createWarmrouteApp({ context: { reservedConcurrency: 'warm-counter=5' } }, env),
    ).toThrow(/must be a JSON object/);
    expect(() =>
      createWarmrouteApp({ context: { reservedConcurrency: '{"nosuch":5}' } }, env),
    ).toThrow(/no example function "nosuch"/);
  });

  it('takes the region from -c region= before the CLI-set CDK_DEFAULT_REGION', () => {
    // Prepare: the CLI always sets CDK_DEFAULT_REGION (us-east-1 with no AWS configuration).
    const cli = { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'us-east-1' };
    // Act
    const explicit = createWarmrouteApp({ context: { region: 'eu-west-1' } }, cli);
    const fromProfile = createWarmrouteApp({}, { ...cli, CDK_DEFAULT_REGION: 'ap-south-1' });
    const bare = createWarmrouteApp({}, {});
    // Assess
    expect(explicit.gateway.region).toBe('eu-west-1');
    expect(explicit.tenantApi.region).toBe('eu-west-1');
    expect(fromProfile.gateway.region).toBe('ap-south-1');
    expect(bare.gateway.region).toBe(DEFAULT_REGION);
  }, 240_000);

  it('refuses a misspelled context key and a certificateArn that is not an ACM ARN', () => {
    // Prepare
    const env = { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' };
    // Act / Assess: a near miss would otherwise deploy the default silently.
    expect(() => createWarmrouteApp({ context: { internetfacing: 'true' } }, env)).toThrow(
      'unknown context key internetfacing: did you mean internetFacing?',
    );
    expect(() => createWarmrouteApp({ context: { desiredCont: '3' } }, env)).toThrow(
      /did you mean desiredCount\?/,
    );
    for (const bad of [
      'arn:aws:acm:…',
      'arn:aws:acm:eu-west-1:1234:certificate/abc',
      'arn:aws:iam::123456789012:server-certificate/abc',
    ]) {
      expect(() => createWarmrouteApp({ context: { certificateArn: bad } }, env), bad).toThrow(
        /certificateArn must be an ACM certificate ARN/,
      );
    }
  });
});
