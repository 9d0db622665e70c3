import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { startCliBanner } from '../helpers/cli-banner.js';

/**
 * The commands `warmroute local` prints must work as printed for the host
 * it started: the control API's curl with the token where it came from, and
 * the AWS CLI line with a function the host serves, `--tenant-id` only where
 * the function takes one, and the region and credentials every AWS client
 * needs. Each test starts the built CLI (dist/) on port 0 and runs the
 * printed lines through bash: curl for real, `aws` as a bash function that
 * records its arguments and environment (no AWS CLI needed), whose call is
 * then made with the unmodified AWS SDK.
 */

const TOKEN = 'local-banner-control-token-0123';

async function startLocal(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<string[]> {
  // Ends at the banner's last line.
  const out = await startCliBanner(
    ['local', '--port', '0', ...args],
    env,
    /_local\/environments'?\n/,
  );
  return out
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim());
}

function printed(lines: readonly string[], command: 'curl' | 'aws'): string {
  const line = lines.find((l) => new RegExp(`(^| )${command} `).test(l));
  if (line === undefined) throw new Error(`no ${command} line in:\n${lines.join('\n')}`);
  return line;
}

/** Runs a printed line with bash, as a user would paste it, in `env` only. */
function bash(line: string, env: Readonly<Record<string, string>>): string {
  const result = spawnSync('bash', ['-c', line], {
    env: { PATH: process.env.PATH ?? '', ...env },
    // stdin not a socket (Node's pipes are), or bash takes itself for a remote
    // shell and reads the user's ~/.bashrc first.
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0 || result.stderr !== '') {
    throw new Error(`bash failed (${String(result.status)}): ${line}\n${result.stderr}`);
  }
  return result.stdout;
}

interface AwsCall {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** What the printed `aws …` line hands the AWS CLI: its arguments and its environment. */
function awsCall(line: string): AwsCall {
  const dir = mkdtempSync(join(tmpdir(), 'wr-local-banner-'));
  onTestFinished(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const argsFile = join(dir, 'aws-args');
  const envFile = join(dir, 'aws-env');
  const stub = `aws() { printf '%s\\0' "$@" > "$AWS_ARGS_FILE"; env -0 > "$AWS_ENV_FILE"; }`;
  bash(`${stub}\n${line}`, { AWS_ARGS_FILE: argsFile, AWS_ENV_FILE: envFile });
  if (!existsSync(argsFile)) throw new Error(`no aws ran: ${line}`);
  const argText = readFileSync(argsFile, 'utf8');
  const env: Record<string, string> = {};
  for (const entry of readFileSync(envFile, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { args: argText.split('\0').slice(0, -1), env };
}

function option(call: AwsCall, name: string): string | undefined {
  const i = call.args.indexOf(name);
  return i === -1 ? undefined : call.args[i + 1];
}

/** The call the printed line makes, made with the AWS SDK from what bash gave the CLI. */
async function invokeAsPrinted(call: AwsCall): Promise<{ status: number; payload: string }> {
  const client = new LambdaClient({
    endpoint: option(call, '--endpoint-url'),
    region: call.env['AWS_DEFAULT_REGION'],
    credentials: {
      accessKeyId: call.env['AWS_ACCESS_KEY_ID'] ?? '',
      secretAccessKey: call.env['AWS_SECRET_ACCESS_KEY'] ?? '',
    },
  });
  onTestFinished(() => {
    client.destroy();
  });
  const tenantId = option(call, '--tenant-id');
  const out = await client.send(
    new InvokeCommand({
      FunctionName: option(call, '--function-name'),
      ...(tenantId === undefined ? {} : { TenantId: tenantId }),
    }),
  );
  return {
    status: out.StatusCode ?? 0,
    payload: Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8'),
  };
}

describe('warmroute local banner', () => {
  it('with WARMROUTE_LOCAL_CONTROL_TOKEN set, the printed curl sends the variable and is let in', async () => {
    // Prepare
    const env = { WARMROUTE_LOCAL_CONTROL_TOKEN: TOKEN };

    // Act
    const lines = await startLocal([], env);
    const curl = printed(lines, 'curl');

    // Assess: named, not printed; bash expands it and the control API answers.
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(curl).toContain('$WARMROUTE_LOCAL_CONTROL_TOKEN');
    const answer = JSON.parse(bash(curl, env)) as unknown;
    expect(answer).toEqual({ environments: expect.any(Array) as unknown });
  });

  it('with --control-token, the printed curl works without any variable', async () => {
    // Act
    const lines = await startLocal(['--control-token', TOKEN]);
    const curl = printed(lines, 'curl');

    // Assess: no variable holds the token, so the line carries it.
    expect(curl).not.toContain('$WARMROUTE_LOCAL_CONTROL_TOKEN');
    const answer = JSON.parse(bash(curl, {})) as unknown;
    expect(answer).toEqual({ environments: expect.any(Array) as unknown });
  });

  it('the aws line names the first declared function, --tenant-id only for PER_TENANT, and the region and dummy credentials', async () => {
    // Prepare: no `counter`; the first function has no tenancy.
    const dir = mkdtempSync(join(tmpdir(), 'wr-local-banner-fns-'));
    onTestFinished(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, 'functions.json');
    const code = join(packageRoot, 'lambda/examples/counter');
    writeFileSync(
      file,
      JSON.stringify({
        functions: [
          { name: 'shared-doc', codeDir: code, tenancy: 'NONE' },
          { name: 'doc', codeDir: code, tenancy: 'PER_TENANT' },
        ],
      }),
    );

    // Act
    const call = awsCall(printed(await startLocal(['--functions', file]), 'aws'));

    // Assess
    expect(call.args.slice(0, 2)).toEqual(['lambda', 'invoke']);
    expect(option(call, '--function-name')).toBe('shared-doc');
    expect(call.args).not.toContain('--tenant-id');
    expect(call.env).toMatchObject({
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const answer = await invokeAsPrinted(call);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.payload)).toMatchObject({ statusCode: 200 });
  });

  it('with the shipped functions, the aws line invokes counter for a tenant', async () => {
    // Act
    const call = awsCall(printed(await startLocal([]), 'aws'));

    // Assess
    expect(option(call, '--function-name')).toBe('counter');
    expect(option(call, '--tenant-id')).toBe('BlueTenant');
    const answer = await invokeAsPrinted(call);
    expect(answer.status).toBe(200);
    const body = (JSON.parse(answer.payload) as { body: string }).body;
    expect(JSON.parse(body)).toMatchObject({ counter: 0, tenantId: 'BlueTenant' });
  });
});
