import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

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
