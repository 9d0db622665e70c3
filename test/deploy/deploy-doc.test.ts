import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_SECRET_ENV } from '../../deploy/cdk/lib/tenant-authorizer/index.js';
import { ADMIN_PORT } from '../../deploy/cdk/lib/gateway-service.js';
import { CONTEXT_KEYS, createWarmrouteApp } from '../../deploy/cdk/lib/warmroute-app.js';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import { INVOCATION_STATES } from '../../lambda/protocol.js';
import { defaults, settings } from '../../src/config/schema.js';
import { packageRoot } from '../../src/paths.js';
import { cfnText, resourcesOfType, type Json } from './helpers/cfn-template.js';
import { parseCfnYaml } from './helpers/cfn-yaml.js';
import { envReferences, referenceProblem } from './helpers/env-references.js';
import { sourceLines } from './helpers/template-sources.js';

/**
 * docs/deploy.md against what it describes, so a rename in the CDK app or the
 * SAM template breaks the build instead of a user's deploy: the stack names
 * of its `cdk deploy`/`destroy` commands, its `-c` context keys, the outputs,
 * resources and secrets its commands look up, the function names it calls,
 * the sizes and removal policies it states, the SAM parameters, every
 * warmroute variable and every repository path or link. The CDK app is
 * built once, the way the CLI builds it (createWarmrouteApp), and
 * synthesized once.
 */

const DOC = 'docs/deploy.md';
const doc = readFileSync(join(packageRoot, DOC), 'utf8');
/**
 * The page names the functions and Redis users of a prefixed stack as
 * "$PREFIX-…" (PREFIX derived from STACK, default warmroute-gateway): the
 * names they take with the default prefix, which the app is built with here.
 */
const withDefaultPrefix = doc.replace(/"\$PREFIX-([\w-]+)"/g, 'warmroute-$1');
const SYNTH_TIMEOUT_MS = 240_000;

interface Stack {
  readonly name: string;
  readonly template: Record<string, Json>;
}

let outdir: string;
let stacks: Map<string, Stack>;
beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'deploy-doc-'));
  const built = createWarmrouteApp(
    { outdir },
    { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'us-east-1' },
  );
  const assembly = built.app.synth();
  stacks = new Map(
    assembly.stacks.map((s: CloudFormationStackArtifact) => [
      s.stackName,
      { name: s.stackName, template: s.template as Record<string, Json> },
    ]),
  );
}, SYNTH_TIMEOUT_MS);
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function stack(name: string): Stack {
  const found = stacks.get(name);
  if (found === undefined) {
    throw new Error(`${DOC} names stack ${name}; the app defines ${[...stacks.keys()].join(', ')}`);
  }
  return found;
}

// --- reading the page ----------------------------------------------------

/** The fenced code blocks, in order, each as its lines. */
function codeBlocks(text: string): string[][] {
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      if (current === undefined) current = [];
      else {
        blocks.push(current);
        current = undefined;
      }
    } else if (current !== undefined) current.push(line);
  }
  return blocks;
}

/** Shell commands of the code blocks: continuation lines (`\` at the end) joined. */
function commands(text: string): string[] {
  return codeBlocks(text).flatMap((lines) => {
    const joined: string[] = [];
    let pending = '';
    for (const line of lines) {
      if (line.endsWith('\\')) pending += `${line.slice(0, -1)} `;
      else {
        joined.push(pending + line);
        pending = '';
      }
    }
    return joined;
  });
}

/** The text under a `##`/`###` heading, up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const match = new RegExp(
    `^(#{2,3}) ${heading.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}\\s*$`,
    'm',
  ).exec(doc);
  if (match === null) throw new Error(`${DOC} has no section "${heading}"`);
  const level = match[1]?.length ?? 2;
  const rest = doc.slice(match.index + match[0].length);
  const end = rest.search(new RegExp(`^#{2,${level}} `, 'm'));
  return end === -1 ? rest : rest.slice(0, end);
}

/** First-column values of the rows of the Markdown table whose header starts with `| <first> `. */
function tableColumn(text: string, first: string): string[] {
  const start = text.search(new RegExp(`^\\| ${first}\\s+\\|`, 'm'));
  if (start === -1) throw new Error(`no table with first column "${first}"`);
  const rows: string[] = [];
  for (const line of text.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|')[1]?.trim() ?? '');
  }
  return rows;
}

/** Rows (cells) of the same table. */
function tableRows(text: string, first: string): string[][] {
  const start = text.search(new RegExp(`^\\| ${first}\\s+\\|`, 'm'));
  if (start === -1) throw new Error(`no table with first column "${first}"`);
  const rows: string[][] = [];
  for (const line of text.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const unticked = (cell: string): string => cell.replace(/^`|`$/g, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      (m[1] ?? '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

function outputs(s: Stack): string[] {
  return Object.keys((s.template['Outputs'] ?? {}) as Record<string, Json>);
}

/** A variable of the gateway container's environment, as the text it holds at run time. */
function gatewaySetting(name: string): string {
  const task = resourcesOfType(stack('warmroute-gateway').template, 'AWS::ECS::TaskDefinition')[0];
  const containers = task?.properties['ContainerDefinitions'] as
    { Environment: { Name: string; Value: Json }[] }[] | undefined;
  return cfnText(containers?.[0]?.Environment.find((e) => e.Name === name)?.Value);
}

function resources(s: Stack): [string, Record<string, Json>][] {
  return Object.entries((s.template['Resources'] ?? {}) as Record<string, Record<string, Json>>);
}

// --- the checks ------------------------------------------------------------

describe('docs/deploy.md and the CDK app', () => {
  it('deploys and destroys only stacks the app defines, and names every one of them', () => {
    // Prepare: in code blocks and in inline code (`npx cdk deploy --all` in a sentence).
    const inline = [...doc.matchAll(/`(npx cdk [^`]+)`/g)].map((m) => m[1] ?? '');
    const cdk = [...commands(doc), ...inline]
      .map((c) => /\bnpx cdk (deploy|destroy|diff)\b(.*)$/.exec(c))
      .filter((m): m is RegExpExecArray => m !== null);
    // Act: the non-flag arguments (a `-c` takes the next word).
    const named = cdk.flatMap((m) => {
      const words = (m[2] ?? '').split('#')[0]!.trim().split(/\s+/).filter(Boolean);
      return words.filter((w, i) => !w.startsWith('-') && words[i - 1] !== '-c');
    });
    // Assess
    expect(cdk.map((m) => m[1])).toEqual(expect.arrayContaining(['deploy', 'destroy']));
    for (const name of named) expect([...stacks.keys()], `npx cdk … ${name}`).toContain(name);
    expect(new Set(named)).toEqual(new Set(stacks.keys()));
  });

  it('passes only context keys the app reads, and documents each of them with its default', () => {
    // Prepare
    const passed = [...doc.matchAll(/(?:^|\s)-c ([A-Za-z]+)=/gm)].map((m) => m[1] ?? '');
    const cdkJson = JSON.parse(
      readFileSync(join(packageRoot, 'deploy', 'cdk', 'cdk.json'), 'utf8'),
    ) as { context: Record<string, string | number> };
    // Act
    const table = tableRows(section('3. Deploy'), 'context');
    // Assess
    expect(passed.length).toBeGreaterThan(0);
    for (const key of passed) expect(CONTEXT_KEYS, `-c ${key}=…`).toContain(key);
    expect(table.map((r) => unticked(r[0] ?? '')).sort()).toEqual([...CONTEXT_KEYS].sort());
    for (const [key, value] of Object.entries(cdkJson.context)) {
      const row = table.find((r) => unticked(r[0] ?? '') === key);
      expect(row?.[1], `default of ${key}`).toBe(`\`${String(value)}\``);
    }
  });

  it('reads only outputs the stacks have, and documents every output of the gateway stack', () => {
    // Prepare: `--stack-name S … OutputKey=='X'`, `S.X = …` lines, the outputs table.
    const lookups = commands(doc).flatMap((c) => {
      const stackName = /--stack-name (\S+)/.exec(c)?.[1];
      return [...c.matchAll(/OutputKey=='(\w+)'/g)].map((m) => ({ stackName, output: m[1] ?? '' }));
    });
    const printed = [...doc.matchAll(/^([a-z][\w-]*)\.(\w+) = /gm)].map((m) => ({
      stackName: m[1],
      output: m[2] ?? '',
    }));
    const table = tableColumn(section('4. Read the outputs'), 'output').map(unticked);
    const every = [...stacks.values()].flatMap(outputs);
    // Assess
    expect(lookups.length).toBeGreaterThan(0);
    for (const { stackName, output } of [...lookups, ...printed]) {
      expect(stackName, `the stack of ${output}`).toBeDefined();
      expect(outputs(stack(stackName ?? '')), `${stackName}.${output}`).toContain(output);
    }
    for (const output of table) expect(every, `outputs table: ${output}`).toContain(output);
    for (const output of outputs(stack('warmroute-gateway'))) expect(table).toContain(output);
  });

  it("reads every stack value from an output: no command digs in the stacks' resources", () => {
    // Prepare: outputs are the stacks' contract (tested above); logical IDs and resource types
    // are not, so a lookup by them breaks silently when the CDK code is refactored.
    const digging = commands(doc).filter((c) =>
      /describe-stack-resources|\$\((resource|secret) |LogicalResourceId/.test(c),
    );

    // Assess
    expect(commands(doc).some((c) => c.includes('describe-stacks'))).toBe(true);
    expect(digging).toEqual([]);
  });

  it('reads the gateway stack through its outputs (the out helper), never by digging in its resources', () => {
    // Prepare: the `out` helper's definition and every `$(out X)`.
    const helper = commands(doc).find((c) => /^out\(\)/.test(c.trim()));
    const helperBody = commands(doc).find((c) => c.includes("OutputKey=='$1'"));
    const used = [...doc.matchAll(/\$\(out (\w+)\)/g)].map((m) => m[1] ?? '');
    let current: string | undefined;
    const digging: string[] = [];
    for (const c of commands(doc)) {
      current = /^STACK=(\S+)/.exec(c.trim())?.[1] ?? current;
      if (current === 'warmroute-gateway' && /\$\((resource|secret) /.test(c)) digging.push(c);
    }
    // Assess
    expect(helper).toBeDefined();
    // A -c prefix=staging stack is read by setting STACK; PREFIX follows it.
    expect(helperBody).toContain('--stack-name "${STACK:-warmroute-gateway}"');
    expect(commands(doc)).toContain(
      'STACK=warmroute-gateway   # <prefix>-gateway if you deployed with -c prefix=…',
    );
    expect(doc).toContain('PREFIX=${STACK%-gateway}');
    expect(used).toEqual(
      expect.arrayContaining(['GatewayUrl', 'ClusterName', 'ServiceName', 'HmacSecretArn']),
    );
    for (const name of used) expect(outputs(stack('warmroute-gateway')), name).toContain(name);
    expect(digging).toEqual([]);
  });

  it('calls functions the stacks deploy, by the names the gateway allows', () => {
    // Prepare
    const allowed = Object.keys(
      JSON.parse(gatewaySetting('WARMROUTE_FUNCTIONS')) as Record<string, unknown>,
    );
    const deployed = [...stacks.values()].flatMap((s) =>
      resourcesOfType(s.template, 'AWS::Lambda::Function').flatMap((f) => {
        const name = f.properties['FunctionName'];
        return typeof name === 'string' ? [name] : [];
      }),
    );
    // Act
    const invoked = [...doc.matchAll(/\/v1\/functions\/([\w-]+)\/invoke/g)].map((m) => m[1] ?? '');
    const named = [...withDefaultPrefix.matchAll(/--function-name (warmroute-[\w-]+)/g)].map(
      (m) => m[1] ?? '',
    );
    const looped = [...withDefaultPrefix.matchAll(/for fn in ((?:warmroute-[\w-]+ ?)+)/g)].flatMap(
      (m) => (m[1] ?? '').trim().split(' '),
    );
    // Assess
    expect(invoked).not.toHaveLength(0);
    for (const name of invoked) expect(allowed, `invoke ${name}`).toContain(name);
    expect(looped).not.toHaveLength(0);
    for (const name of [...named, ...looped]) expect(deployed, name).toContain(name);
  });

  it('uses the gateway key header, its state values and the admin port as the code defines them', () => {
    // Prepare
    const headers = [...doc.matchAll(/-H '(x-affinity-[a-z-]+):/g)].map((m) => m[1]);
    const states = [...doc.matchAll(/x-affinity-state: `?(\w+)/g)].map((m) => m[1] ?? '');
    const listed = /`x-affinity-state` is one of ((?:`\w+`(?:, | and )?)+)/.exec(doc)?.[1] ?? '';
    // The admin sessions forward a task's port (host=$TASK_IP); the admin calls use it.
    const ports = [
      ...[...doc.matchAll(/host=\$TASK_IP,portNumber=(\d+)/g)].map((m) => m[1]),
      ...[...doc.matchAll(/127\.0\.0\.1:(\d+)\/(?:readyz|v1\/keys|metrics)/g)].map((m) => m[1]),
    ];
    // Assess
    expect(headers).not.toHaveLength(0);
    for (const header of headers) expect(header).toBe(defaults.keyHeader);
    for (const state of states) expect(INVOCATION_STATES, state).toContain(state);
    expect([...listed.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort()).toEqual(
      [...INVOCATION_STATES].sort(),
    );
    expect(ports).not.toHaveLength(0);
    for (const port of ports) expect(Number(port)).toBe(ADMIN_PORT);
  });

  it('rolls only Redis users the gateway stack creates, and names every user with a password', () => {
    // Prepare
    const users = resourcesOfType(stack('warmroute-gateway').template, 'AWS::ElastiCache::User');
    const withPassword = users
      .filter((u) => (u.properties['AuthenticationMode'] as { Type?: string }).Type === 'password')
      .map((u) => cfnText(u.properties['UserId']));
    // "$ADMIN" is the AdminRedisUserId output (`ADMIN=$(out AdminRedisUserId)`); the
    // helper's own "$1" names no user.
    const outputsOf = stack('warmroute-gateway').template['Outputs'] as Record<
      string,
      { Value: Json }
    >;
    const admin = cfnText(outputsOf['AdminRedisUserId']?.Value);
    // Act
    const named = [...withDefaultPrefix.matchAll(/--user-id (\S+)/g)]
      .map((m) => m[1] ?? '')
      .map((id) => (id === '"$ADMIN"' ? admin : id))
      .filter((id) => !id.startsWith('"$'));
    // Assess
    // The gateway, the snapshots and the break-glass admin.
    expect(doc).toContain('ADMIN=$(out AdminRedisUserId)');
    expect(withPassword).toHaveLength(3);
    for (const id of named)
      expect(
        users.map((u) => cfnText(u.properties['UserId'])),
        id,
      ).toContain(id);
    expect(new Set(named)).toEqual(new Set(withPassword));
  });

  it(
    'the walkthrough calls the internal load balancer through a port forwarding of its listener port',
    () => {
      // Prepare
      const gateway = stack('warmroute-gateway').template;
      const alb = resourcesOfType(gateway, 'AWS::ElasticLoadBalancingV2::LoadBalancer')[0];
      const listenerPorts = resourcesOfType(gateway, 'AWS::ElasticLoadBalancingV2::Listener').map(
        (l) => Number(l.properties['Port']),
      );
      // The certificate variant forwards the HTTPS listener of a stack with a certificate.
      const withCertificate = createWarmrouteApp(
        { context: { certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' } },
        { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'us-east-1' },
      );
      const httpsPorts = resourcesOfType(
        Template.fromStack(withCertificate.gateway).toJSON(),
        'AWS::ElasticLoadBalancingV2::Listener',
      )
        .filter((l) => l.properties['Protocol'] === 'HTTPS')
        .map((l) => Number(l.properties['Port']));
      const gw = /^GW=http:\/\/127\.0\.0\.1:(\d+)/m.exec(doc)?.[1];
      const gwHttps = /^GW=https:\/\/([\w.-]+):(\d+)$/m.exec(doc);
      const forward = [
        ...doc.matchAll(/host=\$\{URL#\*:\/\/\},portNumber=(\d+),localPortNumber=(\d+)/g),
      ];
      const plain = forward.filter((m) => m[2] === gw);
      const tls = forward.filter((m) => m[2] === gwHttps?.[2]);
      const calls = [...doc.matchAll(/curl [^\n]*"\$(\w+)\/v1\/functions\//g)].map((m) => m[1]);
      // Assess: internal by default, so the calls cannot use $URL from outside the VPC.
      expect(alb?.properties['Scheme']).toBe('internal');
      expect(gw).toBeDefined();
      expect(plain).not.toHaveLength(0);
      for (const m of plain) expect(listenerPorts).toContain(Number(m[1]));
      // With a certificate: the HTTPS listener, and curl sent to it under the certificate's name.
      expect(tls).not.toHaveLength(0);
      expect(plain.length + tls.length).toBe(forward.length);
      for (const m of tls) expect(httpsPorts).toContain(Number(m[1]));
      expect(doc).toContain(
        `--connect-to ${gwHttps?.[1] ?? '?'}:${gwHttps?.[2] ?? '?'}:127.0.0.1:${gwHttps?.[2] ?? '?'}`,
      );
      expect(calls).not.toHaveLength(0);
      for (const variable of calls) expect(variable).toBe('GW');
    },
    SYNTH_TIMEOUT_MS,
  );

  it('describes the default routes the gateway gets: affinity only, `/` catching the rest', () => {
    // Prepare
    const routes = JSON.parse(gatewaySetting('WARMROUTE_ROUTES')) as {
      prefix: string;
      function: string;
      mode: string;
    }[];
    // Act
    // Sentences compared across the page's line breaks.
    const own = section('Deploying your own functions').replace(/\s+/g, ' ');
    // Assess
    expect(routes.map((r) => r.mode)).toEqual(routes.map(() => 'affinity'));
    expect(own).toContain('**affinity only**');
    expect(routes.map((r) => r.prefix)).toContain('/');
    expect(own).toContain('`/fresh` included, reaches `counter`');
    expect(routes.find((r) => r.prefix === '/')?.function).toBe('warmroute-counter');
    for (const r of routes) {
      const short = r.function.replace(/^warmroute-/, '');
      expect(own, r.prefix).toContain(`\`${r.prefix}\` (${short})`);
    }
    for (const path of ['deploy/cdk/lib/example-functions.ts', 'deploy/cdk/lib/gateway-stack.ts']) {
      expect(own).toContain(path);
    }
  });

  it('documents the trust model the internet-facing opt-in refers to', () => {
    const trust = section('Trust model');
    expect(trust).toContain('**key decides the tenant**');
    expect(trust).toMatch(/internal by default/i);
    expect(trust).toContain('-c internetFacing=true -c acknowledgeClientChosenKeys=true');
    for (const way of ['authenticate-oidc', 'authorizer', 'backend']) expect(trust).toContain(way);
  });

  it('states the sizes the templates configure', () => {
    // Prepare
    const gateway = stack('warmroute-gateway').template;
    const task = resourcesOfType(gateway, 'AWS::ECS::TaskDefinition')[0]?.properties;
    const redisGroups = resourcesOfType(gateway, 'AWS::ElastiCache::ReplicationGroup');
    const scaling = resourcesOfType(gateway, 'AWS::ApplicationAutoScaling::ScalableTarget')[0]
      ?.properties;
    const costs = section('What it costs');
    const memory = (t: Record<string, Json>): number[] =>
      resourcesOfType(t, 'AWS::Lambda::Function')
        .filter((f) => typeof f.properties['FunctionName'] === 'string')
        .map((f) => Number(f.properties['MemorySize']));
    // Act: the claims as the templates would have them.
    const vcpu = Number(task?.['Cpu']) / 1024;
    const gib = Number(task?.['Memory']) / 1024;
    const redisRows = redisGroups.map((g) => {
      const server = /^Redis(Directory|Snapshots)/.exec(g.id)?.[1]?.toLowerCase() ?? g.id;
      const nodes =
        Number(g.properties['NumNodeGroups']) * (1 + Number(g.properties['ReplicasPerNodeGroup']));
      return `| ElastiCache: ${server} | ${nodes} nodes \`${cfnText(g.properties['CacheNodeType'])}\``;
    });
    const alarms = resourcesOfType(gateway, 'AWS::CloudWatch::Alarm');
    const claims = [
      `${alarms.length}: each Redis group's memory`,
      `${vcpu} vCPU, ${gib} GiB`,
      `\`cpu: ${cfnText(task?.['Cpu'])}\`, \`memoryLimitMiB: ${cfnText(task?.['Memory'])}\``,
      `${cfnText(scaling?.['MinCapacity'])} at rest, up to ${cfnText(scaling?.['MaxCapacity'])}`,
      `${resourcesOfType(gateway, 'AWS::SecretsManager::Secret').length} secrets`,
      `${resourcesOfType(stack('warmroute-tenant-api').template, 'AWS::SecretsManager::Secret').length} secret (the token secret)`,
      `${memory(gateway)
        .join(', ')
        .replace(/, (\d+)$/, ' and $1')} MB`,
    ];
    const natRow = costs.split('\n').find((l) => l.startsWith('| NAT gateway'));
    // Secrets Manager: 0.40 USD per secret-month, times the secrets each template creates.
    const secretRows = costs.split('\n').filter((l) => l.startsWith('| Secrets Manager'));
    const secretCosts = [gateway, stack('warmroute-tenant-api').template].map(
      (t) =>
        `~${String(Math.round(resourcesOfType(t, 'AWS::SecretsManager::Secret').length * 40) / 100)} USD`,
    );
    // Assess: one cost row per Redis group (cells compared without the table's padding).
    const rows = costs.split('\n').map((l) => l.replace(/ {2,}/g, ' '));
    expect(redisGroups).toHaveLength(2);
    for (const row of redisRows)
      expect(
        rows.some((r) => r.startsWith(row)),
        row,
      ).toBe(true);
    for (const claim of claims) expect(costs, claim).toContain(claim);
    expect(secretRows).toHaveLength(2);
    for (const [i, row] of secretRows.entries()) expect(row, row).toContain(secretCosts[i]);
    expect(natRow).toContain(
      `| ${resourcesOfType(gateway, 'AWS::EC2::NatGateway').length} (\`natGateways\``,
    );
  });

  it('says what teardown leaves behind, as the removal policies decide', () => {
    // Prepare: what each retained resource type is called in the teardown table.
    const phrase: Record<string, string> = {
      'AWS::S3::Bucket': 'access-log bucket',
      'AWS::Logs::LogGroup': 'log group',
      'AWS::IAM::Role': 'CloudWatch role',
      'AWS::ApiGateway::Account': 'CloudWatch role',
    };
    const teardown = section('Tearing down');
    const leftBehind = tableColumn(teardown, 'left behind').join('\n');
    const all = [...stacks.values()].flatMap((s) => resources(s).map(([id, r]) => ({ id, r })));
    // Act
    const retained = all.filter(({ r }) => r['DeletionPolicy'] === 'Retain');
    const snapshotted = all.filter(({ r }) => r['DeletionPolicy'] === 'Snapshot');
    const secrets = all.filter(({ r }) => r['Type'] === 'AWS::SecretsManager::Secret');
    // Assess
    expect(retained).not.toHaveLength(0);
    for (const { id, r } of retained) {
      const type = cfnText(r['Type']);
      expect(phrase[type], `${id} (${type}) is retained: document how to delete it`).toBeDefined();
      expect(leftBehind, `${id} (${type})`).toContain(phrase[type]);
    }
    // The page says ElastiCache leaves no final snapshot and the secrets go with the stacks.
    expect(snapshotted).toEqual([]);
    expect(teardown).toContain('no final snapshot');
    expect(secrets).not.toHaveLength(0);
    for (const { id, r } of secrets) expect(r['DeletionPolicy'] ?? 'Delete', id).toBe('Delete');
    expect(teardown).toContain('**without a recovery window**');
  });
});

describe('docs/deploy.md and the rest of the repository', () => {
  it('names only SAM parameters and outputs the template has, and every required parameter', () => {
    // Prepare
    const template = parseCfnYaml(
      readFileSync(join(packageRoot, 'deploy', 'sam', 'template.yaml'), 'utf8'),
    ) as { Parameters: Record<string, { Default?: unknown }>; Outputs: Record<string, unknown> };
    const known = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Outputs)]);
    const sam = section('SAM');
    // Act
    const overrides = commands(sam)
      .filter((c) => c.includes('--parameter-overrides'))
      .flatMap((c) => [...c.matchAll(/\b([A-Z]\w+)=/g)].map((m) => m[1] ?? ''));
    const named = [...sam.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1] ?? '');
    const required = Object.entries(template.Parameters)
      .filter(([, p]) => p.Default === undefined)
      .map(([name]) => name);
    // Assess
    expect(overrides).not.toHaveLength(0);
    for (const name of [...overrides, ...named]) expect([...known], name).toContain(name);
    for (const name of required) expect(overrides, `required parameter ${name}`).toContain(name);
  });

  it('names only variables the gateway, the function library or the authorizer reads', () => {
    // Prepare
    const known = new Set([
      ...settings.map((s) => s.env),
      ...Object.values(FUNCTION_ENVIRONMENT).map((v) => v.env),
      TOKEN_SECRET_ENV,
    ]);
    const bare = new Set([...known].filter((n) => !n.includes('_')));
    // Act: every WARMROUTE_ name in the page, and near misses of known names in its commands.
    const ours = [...doc.matchAll(/(?<![A-Za-z0-9_])WARMROUTE_[A-Z0-9_]*[A-Z0-9]/g)].map(
      (m) => m[0],
    );
    const problems = envReferences(sourceLines(DOC, doc), bare).flatMap((ref) => {
      const problem = referenceProblem(ref.name, known);
      return problem === undefined ? [] : [`${DOC}:${String(ref.line)}: ${problem}`];
    });
    // Assess
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.filter((name) => !known.has(name))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('links and names only repository paths and anchors that exist', () => {
    // Prepare
    const docDir = dirname(join(packageRoot, DOC));
    const links = [...doc.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1] ?? '')
      .filter((l) => !/^[a-z]+:/.test(l));
    const ticked = [
      ...doc.matchAll(/`((?:deploy|src|lambda|test|docs|dashboards)\/[\w./-]+)`/g),
    ].map((m) => m[1] ?? '');
    const bareCdkFiles = [...doc.matchAll(/`([a-z][\w-]*\.ts)`/g)].map((m) => m[1] ?? '');
    // Act
    const missing: string[] = [];
    for (const link of links) {
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? join(packageRoot, DOC) : resolve(docDir, path);
      if (!existsSync(target)) missing.push(`link ${link}`);
      else if (anchor !== undefined && !anchors(readFileSync(target, 'utf8')).has(anchor)) {
        missing.push(`anchor ${link}`);
      }
    }
    for (const path of ticked) {
      if (!existsSync(join(packageRoot, path))) missing.push(`path ${path}`);
    }
    for (const file of bareCdkFiles) {
      if (!existsSync(join(packageRoot, 'deploy', 'cdk', 'lib', file))) {
        missing.push(`deploy/cdk/lib/${file}`);
      }
    }
    // Assess
    expect(links.length + ticked.length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });
});
