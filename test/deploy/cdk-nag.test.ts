import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayStack } from '../../deploy/cdk/lib/gateway-stack.js';
import { createWarmrouteApp, type WarmrouteApp } from '../../deploy/cdk/lib/warmroute-app.js';

/**
 * cdk-nag's AwsSolutions pack (cdk-nag 3: a policy-validation plugin;
 * `validateScope` runs the same rules synth would) over every stack of the
 * CDK app: nothing left unacknowledged, and every acknowledgement
 * (`Validations.of(x).acknowledge`) carries its own specific reason.
 */

const SYNTH_TIMEOUT_MS = 240_000;
const MIN_REASON_LENGTH = 40;

let built: WarmrouteApp;
let outdir: string;
let probeDir: string;
beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'cdk-nag-'));
  probeDir = mkdtempSync(join(tmpdir(), 'cdk-nag-probe-'));
  built = createWarmrouteApp(
    { outdir },
    { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'eu-west-1' },
  );
}, SYNTH_TIMEOUT_MS);
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  rmSync(probeDir, { recursive: true, force: true });
});

/** Every acknowledgement recorded in the tree: where, which rule, why. */
function acknowledgements(root: IConstruct): { path: string; rule: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([rule, reason]) => ({
          path: c.node.path,
          rule,
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('the app has the stacks it promises', () => {
    const stacks = built.app.node.children.filter((c): c is Stack => c instanceof Stack);
    expect(stacks.map((s) => s.stackName).sort()).toEqual([
      'warmroute-gateway',
      'warmroute-tenant-api',
    ]);
  });

  it.each(['gateway', 'tenantApi'] as const)(
    '%s stack: no unacknowledged error or warning',
    (which) => {
      // Act
      const report = new AwsSolutionsChecks(built.app).validateScope(built[which]);
      // Assess: the findings themselves in the message, not just a count.
      const findings = report.violations.map(
        (v) =>
          `${v.ruleName} (${v.severity}) ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`,
      );
      expect(findings).toEqual([]);
    },
  );

  it(
    'the internet-facing opt-in leaves no finding either, and only it acknowledges the open listener (EC23)',
    () => {
      // Prepare
      const app = new App({ outdir: probeDir });
      const exposed = new GatewayStack(app, 'Exposed', {
        env: { account: '123456789012', region: 'eu-west-1' },
        internetFacing: true,
        acknowledgeClientChosenKeys: true,
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
        wafRateLimitPer5Min: 1000,
      });
      // Act
      const report = new AwsSolutionsChecks(app).validateScope(exposed);
      // Assess
      expect(report.violations.map((v) => v.ruleName)).toEqual([]);
      const ec23 = (root: IConstruct) =>
        acknowledgements(root).filter((a) => a.rule.endsWith('AwsSolutions-EC23'));
      expect(ec23(exposed)).toHaveLength(1);
      expect(ec23(built.gateway)).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('the pack reports what is not acknowledged, and an acknowledgement silences exactly its rule', () => {
    // Prepare: the same pack on a probe stack with one secret left alone, one acknowledged.
    const app = new App({ outdir: probeDir });
    const probe = new Stack(app, 'Probe');
    new secretsmanager.Secret(probe, 'Unrotated');
    const acknowledged = new secretsmanager.Secret(probe, 'Acknowledged');
    Validations.of(acknowledged).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'probe: an acknowledged finding must not be reported by the pack',
    });
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(probe);
    // Assess
    const smg4 = report.violations.find((v) => v.ruleName === 'AwsSolutions-SMG4');
    expect(smg4?.violatingResources.map((r) => r.constructPath)).toEqual([
      'Probe/Unrotated/Resource',
    ]);
  });

  it('every acknowledgement has a specific reason of at least 40 characters, none repeated as boilerplate', () => {
    // Prepare: ours (cdk-nag rules, recorded as `Annotation::AwsSolutions-…`);
    // aws-cdk-lib records a few of its own (CloudFormation-Validate::…).
    const acks = acknowledgements(built.app).filter((a) =>
      /^(Annotation::)?AwsSolutions-/.test(a.rule),
    );
    // Assess
    expect(acks.length).toBeGreaterThan(0);
    const short = acks.filter((a) => a.reason.trim().length < MIN_REASON_LENGTH);
    expect(short).toEqual([]);
    // One reason may cover one rule on several resources built by the same
    // code (each example function's role), never two different rules.
    const rulesByReason = new Map<string, Set<string>>();
    for (const a of acks) {
      rulesByReason.set(a.reason, (rulesByReason.get(a.reason) ?? new Set()).add(a.rule));
    }
    const boilerplate = [...rulesByReason.entries()]
      .filter(([, rules]) => rules.size > 1)
      .map(([reason, rules]) => `${[...rules].join(', ')}: ${reason}`);
    expect(boilerplate).toEqual([]);
  });
});
