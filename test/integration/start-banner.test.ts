import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { startCliBanner } from '../helpers/cli-banner.js';
import { freePort } from '../helpers/ports.js';

/**
 * The banner `warmroute start` prints (npm start) must show commands that
 * work for the configuration it started with: its key header, its routes and
 * where each reads its key, a configured function on the RPC route, the
 * admin listener and token. Each test starts the built CLI (dist/), reads the
 * banner, runs every printed curl line through bash (a stub curl records
 * what the shell passes it) and sends that request with fetch.
 */

interface Started {
  readonly banner: string;
}

async function startCli(env: Record<string, string>): Promise<Started> {
  const banner = await startCliBanner(
    ['start'],
    { PORT: String(await freePort()), WARMROUTE_LOCAL_PORT: String(await freePort()), ...env },
    // The banner's last command.
    /\/metrics' \| grep \S+\n/,
  );
  return { banner };
}

/**
 * The arguments bash passes to curl for one printed line, run as printed
 * (comment included) with `curl` replaced by a function that records its
 * arguments. A bash error (a quote left open, `&` or `;` splitting the
 * command) fails the test, and so does a line that never calls curl.
 */
function curlArguments(line: string, env: Readonly<Record<string, string>>): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'wr-banner-')), 'curl-args');
  onTestFinished(() => {
    rmSync(dirname(file), { recursive: true, force: true });
  });
  const script = `curl() { printf '%s\\0' "$@" > "$CURL_ARGS_FILE"; }\n${line}\nwait\n`;
  const result = spawnSync('bash', ['-c', script], {
    // A HOME of its own, so a `$HOME` bash expanded in a URL shows.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: '/nonexistent-banner-home',
      ...env,
      CURL_ARGS_FILE: file,
    },
    encoding: 'utf8',
  });
  if (result.stderr !== '') throw new Error(`bash refused: ${line}\n${result.stderr}`);
  if (!existsSync(file)) throw new Error(`no curl ran: ${line}`);
  return readFileSync(file, 'utf8').split('\0').slice(0, -1);
}

interface PrintedRequest {
  readonly line: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /** `| grep X`: the answer must contain X. */
  readonly grep: string | undefined;
}

/** The printed curl commands, as bash hands them to curl. */
function printedRequests(banner: string, env: Readonly<Record<string, string>>): PrintedRequest[] {
  return banner
    .split('\n')
    .filter((line) => /^\s+curl /.test(line))
    .map((line) => {
      const grepPart = / \| grep (\S+)/.exec(line)?.[1];
      const words = ['curl', ...curlArguments(line, env)];
      let method: string | undefined;
      let body: string | undefined;
      let url = '';
      const headers: Record<string, string> = {};
      for (let i = 1; i < words.length; i++) {
        const word = words[i] ?? '';
        const next = (): string => words[++i] ?? '';
        if (word === '-s') continue;
        if (word === '-X') method = next();
        else if (word === '-H') {
          const header = next();
          const colon = header.indexOf(':');
          headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
        } else if (word === '-b') headers['cookie'] = next();
        else if (word === '-d') body = next();
        else if (word.startsWith('-'))
          throw new Error(`unexpected curl option ${word} in: ${line}`);
        else url = word;
      }
      return {
        line,
        method: method ?? (body === undefined ? 'GET' : 'POST'),
        url,
        headers,
        body,
        grep: grepPart,
      };
    });
}

/** The status page's URL the banner prints, opened as a browser would: the page, then its JSON. */
async function openStatusPage(
  banner: string,
): Promise<{ url: string; page: Response; json: Response }> {
  const url =
    /^status page: (\S+) /m.exec(banner)?.[1] ?? expect.fail(`no status page line in ${banner}`);
  const page = await fetch(url);
  const json = await fetch(new URL('/v1/status.json', url));
  return { url, page, json };
}

async function run(request: PrintedRequest): Promise<{ status: number; text: string }> {
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  return { status: res.status, text: await res.text() };
}

describe('warmroute start banner', () => {
  it('with a custom key header and custom routes, every printed command works', async () => {
    // Prepare: a key header of its own, routes reading the key from the header, a cookie,
    // the path and a JSON field, an admin port, and no admin token (one is generated).
    const env = {
      WARMROUTE_KEY_HEADER: 'x-workspace',
      WARMROUTE_ADMIN_PORT: String(await freePort()),
      WARMROUTE_ROUTES: JSON.stringify([
        { prefix: '/api', function: 'counter', mode: 'affinity' },
        {
          prefix: '/by-cookie',
          function: 'counter',
          mode: 'affinity',
          key: { from: 'cookie', name: 'session' },
        },
        {
          prefix: '/notebooks',
          function: 'counter',
          mode: 'affinity',
          key: { from: 'path', name: 'notebook' },
          pathTemplate: '/{notebook}/{proxy+}',
        },
        {
          prefix: '/by-json',
          function: 'counter',
          mode: 'fresh',
          key: { from: 'json', name: 'user.id' },
        },
      ]),
    };

    // Act
    const { banner } = await startCli(env);
    const requests = printedRequests(banner, env);

    // Assess: the configuration's header, routes and admin listener, nothing of the demo's.
    expect(banner).not.toContain('x-affinity-key');
    expect(banner).not.toMatch(/\/fresh\b/);
    expect(banner).toMatch(/WARMROUTE_ADMIN_TOKEN/);
    expect(banner).toMatch(/generated/);
    expect(banner).toContain(
      `admin, health, status and metrics on http://127.0.0.1:${env.WARMROUTE_ADMIN_PORT}`,
    );
    // The status page is on the admin listener, served (the build wrote it), its JSON beside it.
    const status = await openStatusPage(banner);
    expect(status.url).toBe(`http://127.0.0.1:${env.WARMROUTE_ADMIN_PORT}/v1/status`);
    expect(status.page.status, await status.page.clone().text()).toBe(200);
    expect(status.page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(status.page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    expect(status.json.status).toBe(200);
    expect(((await status.json.json()) as { v: unknown }).v).toBe(1);
    const urls = requests.map((r) => r.url).join('\n');
    for (const prefix of ['/api/', '/by-cookie/', '/notebooks/blue/', '/by-json/']) {
      expect(urls).toContain(prefix);
    }
    expect(requests.some((r) => r.headers['cookie'] === 'session=blue')).toBe(true);
    expect(requests.some((r) => r.body === '{"user":{"id":"blue"}}')).toBe(true);
    expect(requests.some((r) => r.url.endsWith('/v1/functions/counter/invoke'))).toBe(true);
    expect(requests.some((r) => r.url.endsWith('/v1/keys/blue/rotate'))).toBe(true);
    // Every printed command answers 2xx (and what it greps for is there).
    for (const request of requests) {
      const answer = await run(request);
      expect(answer.status, `${request.line}\n→ ${answer.text}`).toBeGreaterThanOrEqual(200);
      expect(answer.status, `${request.line}\n→ ${answer.text}`).toBeLessThan(300);
      if (request.grep !== undefined) expect(answer.text, request.line).toContain(request.grep);
    }
  });

  it('with the demo routes and WARMROUTE_ADMIN_TOKEN set, the commands work and name the variable', async () => {
    // Prepare
    const env = { WARMROUTE_ADMIN_TOKEN: 'banner-test-admin-token-0123' };

    // Act
    const { banner } = await startCli(env);
    const requests = printedRequests(banner, env);

    // Assess: the token is named, not printed; the demo's routes are shown and work.
    expect(banner).not.toContain(env.WARMROUTE_ADMIN_TOKEN);
    expect(banner).toContain('$WARMROUTE_ADMIN_TOKEN');
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual(
      expect.arrayContaining(['/fresh/demo', '/demo', '/v1/keys/blue/rotate']),
    );
    // Without an admin port the status page is on the gateway's own port.
    const status = await openStatusPage(banner);
    expect(new URL(status.url).origin).toBe(new URL(requests[0]?.url ?? '').origin);
    expect(status.page.status).toBe(200);
    expect(status.json.status).toBe(200);
    for (const request of requests) {
      const answer = await run(request);
      expect(answer.status, `${request.line}\n→ ${answer.text}`).toBeGreaterThanOrEqual(200);
      expect(answer.status, `${request.line}\n→ ${answer.text}`).toBeLessThan(300);
      if (request.grep !== undefined) expect(answer.text, request.line).toContain(request.grep);
    }
  });

  it("quotes what a shell would read (prefixes with ' $ & ;, a template literal with a space) and reads a config-file admin token", async () => {
    // Prepare: prefixes the schema allows that a shell would split, expand or
    // background unquoted; key names with a quote; the admin token only in
    // the WARMROUTE_CONFIG file.
    const dir = mkdtempSync(join(tmpdir(), 'wr-banner-config-'));
    onTestFinished(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const configFile = join(dir, 'config.json');
    const fileToken = 'banner-file-admin-token-0123';
    writeFileSync(
      configFile,
      JSON.stringify({
        adminToken: fileToken,
        routes: [
          { prefix: "/it's", function: 'counter', mode: 'affinity' },
          {
            prefix: '/a&b',
            function: 'counter',
            mode: 'affinity',
            key: { from: 'cookie', name: "s'id" },
          },
          {
            prefix: '/$HOME',
            function: 'counter',
            mode: 'fresh',
            key: { from: 'header', name: 'x-k' },
          },
          {
            prefix: '/p',
            function: 'counter',
            mode: 'affinity',
            pathTemplate: '/{k}/a b/{proxy+}',
            key: { from: 'path', name: 'k' },
          },
          {
            prefix: '/j;x',
            function: 'counter',
            mode: 'affinity',
            key: { from: 'json', name: "a.b'c" },
          },
        ],
      }),
    );
    const env = { WARMROUTE_CONFIG: configFile };

    // Act
    const { banner } = await startCli(env);
    const requests = printedRequests(banner, env);

    // Assess: bash passes each URL as printed, the path key and the template's literal encoded.
    const paths = requests.map((r) => r.url.replace(/^http:\/\/[^/]+/, ''));
    expect(paths).toEqual(
      expect.arrayContaining([
        "/it's/demo",
        '/a&b/demo',
        '/$HOME/demo',
        '/p/blue/a%20b/demo',
        '/j;x/demo',
        '/v1/keys/blue/rotate',
      ]),
    );
    expect(requests.some((r) => r.headers['cookie'] === "s'id=blue")).toBe(true);
    expect(requests.some((r) => r.body === '{"a":{"b\'c":"blue"}}')).toBe(true);
    // The token is named by its file and read from it when the command runs, never printed.
    expect(banner).toContain(`adminToken in ${configFile}`);
    expect(banner).not.toContain(fileToken);
    const rotate = requests.find((r) => r.url.endsWith('/v1/keys/blue/rotate'));
    expect(rotate?.headers['authorization']).toBe(`Bearer ${fileToken}`);
    for (const request of requests) {
      const answer = await run(request);
      expect(answer.status, `${request.line}\n→ ${answer.text}`).toBeGreaterThanOrEqual(200);
      expect(answer.status, `${request.line}\n→ ${answer.text}`).toBeLessThan(300);
      if (request.grep !== undefined) expect(answer.text, request.line).toContain(request.grep);
    }
  });

  it('the RPC line calls counter when the gateway can, else the first routed function with a payload it accepts', async () => {
    // Prepare: `workspace` routed first. (a) The shipped functions: counter is
    // there too. (b) A functions file with workspace alone, which refuses `{}`.
    const dir = mkdtempSync(join(tmpdir(), 'wr-banner-rpc-'));
    onTestFinished(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const functionsFile = join(dir, 'functions.json');
    writeFileSync(
      functionsFile,
      JSON.stringify({
        functions: [
          {
            name: 'workspace',
            codeDir: join(packageRoot, 'lambda/examples/workspace'),
            tenancy: 'PER_TENANT',
            memoryMb: 256,
            timeoutSeconds: 10,
          },
        ],
      }),
    );
    const routes = JSON.stringify([{ prefix: '/ws', function: 'workspace', mode: 'affinity' }]);
    const cases: { env: Record<string, string>; expected: string }[] = [
      { env: { WARMROUTE_ROUTES: routes }, expected: 'counter' },
      {
        env: { WARMROUTE_ROUTES: routes, WARMROUTE_FUNCTIONS_FILE: functionsFile },
        expected: 'workspace',
      },
    ];

    for (const { env, expected } of cases) {
      // Act
      const { banner } = await startCli(env);
      const rpc = printedRequests(banner, env).find((r) => r.url.includes('/v1/functions/'));

      // Assess: the function answers without an application error.
      expect(rpc?.url, banner).toMatch(new RegExp(`/v1/functions/${expected}/invoke$`));
      const answer = await run(rpc ?? expect.fail(`no RPC line in ${banner}`));
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).not.toMatch(/error|unknown op/i);
    }
  });
});
