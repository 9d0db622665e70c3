/**
 * The runtime inside one execution environment (a child process of the local
 * host). It behaves like AWS's Node.js runtime: loads `_HANDLER` from
 * `LAMBDA_TASK_ROOT` (ESM or CommonJS), then loops on the Runtime API served
 * by the host at `AWS_LAMBDA_RUNTIME_API`: `GET /invocation/next`, run the
 * handler, `POST /invocation/{id}/response` or `/error`. Load failures go to
 * `/init/error`. Kept to node: built-ins so a cold start stays short.
 */
import { existsSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Socket } from 'node:net';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { moduleInside, parseHandlerSpec } from './handler-spec.js';
import {
  BACKGROUND_OUTPUT,
  END_OF_INVOCATION,
  START_OF_INVOCATION,
  escapeNonAscii,
  RUNTIME_PREFIX,
  RuntimeHeader,
  TMPDIR_PREFIX,
} from './runtime-protocol.js';
import {
  encodeFrame,
  FrameReader,
  FrameType,
  OUTPUT_ENV,
  RUNTIME_FD_ENV,
} from './runtime-frames.js';

type Handler = (event: unknown, context: LambdaContext, callback: Callback) => unknown;
type Callback = (error?: unknown, result?: unknown) => void;

interface LambdaContext {
  callbackWaitsForEmptyEventLoop: boolean;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly clientContext: unknown;
  readonly identity: unknown;
  readonly tenantId?: string;
  getRemainingTimeInMillis(): number;
  succeed(result?: unknown): void;
  fail(error: unknown): void;
  done(error?: unknown, result?: unknown): void;
}

interface ErrorBody {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

class RuntimeError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const env = process.env;
const runtimeApi = env.AWS_LAMBDA_RUNTIME_API ?? '127.0.0.1:9001';
const colon = runtimeApi.lastIndexOf(':');
const apiHost = runtimeApi.slice(0, colon);
const apiPort = Number(runtimeApi.slice(colon + 1));
// One keep-alive socket carries next/response in turn. Free sockets are
// unref'd by the agent, so they do not hold the event loop open while a
// callback-style handler waits for it to empty.
const agent = new Agent({ keepAlive: true, maxSockets: 2 });

let currentRequestId: string | undefined;

function hostGone(err: unknown): never {
  // The host closed our Runtime API: it stopped or discarded us. Nothing to
  // report to. If it died without cleaning up, remove our private TMPDIR.
  const tmp = env.TMPDIR;
  if (tmp !== undefined && basename(tmp).startsWith(TMPDIR_PREFIX))
    rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(
    `bootstrap: runtime API unreachable (${err instanceof Error ? err.message : String(err)})\n`,
  );
  process.exit(0);
}

function call(
  method: 'GET' | 'POST',
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: apiHost, port: apiPort, method, path: RUNTIME_PREFIX + path, agent, headers },
      (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ headers: res.headers, body: text });
        });
        res.on('error', hostGone);
      },
    );
    req.on('error', hostGone);
    req.end(body);
  });
}

/** An invocation as the runtime receives it: `Lambda-Runtime-*` headers and the event. */
interface NextInvocation {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** How the runtime talks to the host: the HTTP Runtime API, or the host's private channel. */
interface RuntimeTransport {
  next(): Promise<NextInvocation>;
  /** A result (`ok`) or an error body, then (unless `last`) ready for the next invocation. */
  answer(
    requestId: string,
    kind: 'response' | 'error',
    body: string,
    errorType: string,
    last: boolean,
  ): Promise<void>;
  initError(body: string, errorType: string): Promise<void>;
}

/** The Lambda Runtime API over HTTP, as any runtime speaks it. */
const httpTransport: RuntimeTransport = {
  next: () => call('GET', '/invocation/next'),
  answer: async (requestId, kind, body, errorType) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [RuntimeHeader.maxMemoryMb]: maxMemoryMb(),
    };
    if (kind === 'error') headers[RuntimeHeader.errorType] = errorTypeHeader(errorType);
    await call('POST', `/invocation/${requestId}/${kind}`, body, headers);
  },
  initError: async (body, errorType) => {
    await call('POST', '/init/error', body, {
      'content-type': 'application/json',
      [RuntimeHeader.errorType]: errorTypeHeader(errorType),
      [RuntimeHeader.maxMemoryMb]: maxMemoryMb(),
    });
  },
};

/**
 * The local host's private channel (a socket on the fd it names): one frame
 * each way per invocation, the result and the request for the next one in
 * one write. The socket is unref'd while a handler runs, as the HTTP
 * agent's free socket is, so a callback handler's `beforeExit` still comes.
 */
function channelTransport(fd: number): RuntimeTransport {
  const socket = new Socket({ fd, readable: true, writable: true });
  socket.unref();
  const queued: NextInvocation[] = [];
  let waiter: ((next: NextInvocation) => void) | undefined;
  const reader = new FrameReader(
    Number.MAX_SAFE_INTEGER,
    (frame) => {
      if (frame.type !== FrameType.invoke) return;
      const headers = (frame.meta.headers ?? {}) as Record<string, string>;
      const next = { headers, body: frame.payload?.toString('utf8') ?? '' };
      const w = waiter;
      waiter = undefined;
      if (w === undefined) queued.push(next);
      else w(next);
    },
    (reason) => {
      hostGone(new Error(reason));
    },
  );
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
  });
  socket.on('error', hostGone);
  socket.on('end', () => {
    hostGone(new Error('runtime channel closed'));
  });
  const write = (frame: Buffer): Promise<void> =>
    new Promise((resolve) => {
      socket.write(frame, (err) => {
        if (err) hostGone(err);
        resolve();
      });
    });
  const ready = (): Promise<NextInvocation> => {
    const first = queued.shift();
    if (first !== undefined) return Promise.resolve(first);
    socket.ref();
    return new Promise((resolve) => {
      waiter = (next) => {
        socket.unref();
        resolve(next);
      };
    });
  };
  let asked = false;
  return {
    next: async () => {
      if (!asked) await write(encodeFrame(FrameType.next, {}));
      asked = false;
      return ready();
    },
    answer: async (requestId, kind, body, errorType, last) => {
      const meta =
        kind === 'error'
          ? { id: requestId, type: errorType, mem: maxMemoryMb() }
          : { id: requestId, mem: maxMemoryMb() };
      const result = encodeFrame(
        kind === 'error' ? FrameType.error : FrameType.response,
        meta,
        body,
      );
      asked = !last;
      await write(last ? result : Buffer.concat([result, encodeFrame(FrameType.next, {})]));
    },
    initError: async (body, errorType) => {
      await write(encodeFrame(FrameType.initError, { type: errorType }, body));
    },
  };
}

function chooseTransport(): RuntimeTransport {
  const fd = Number(env[RUNTIME_FD_ENV]);
  // The function must not see (or pass on) the host's plumbing.
  Reflect.deleteProperty(env, RUNTIME_FD_ENV);
  return Number.isInteger(fd) && fd > 2 ? channelTransport(fd) : httpTransport;
}

const transport = chooseTransport();

function toErrorBody(error: unknown): ErrorBody {
  try {
    return errorBodyOf(error);
  } catch {
    // An error whose name, message or stack getter throws.
    return { errorType: 'Runtime.UnknownError', errorMessage: 'unreadable error', trace: [] };
  }
}

/** A function can set an error's name or message to anything; the body needs strings. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : format('%s', value);
}

function errorBodyOf(error: unknown): ErrorBody {
  if (error instanceof RuntimeError) {
    return {
      errorType: error.errorType,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  if (error instanceof Error) {
    return {
      errorType: asText(error.name),
      errorMessage: asText(error.message),
      trace: asText(error.stack ?? '').split('\n'),
    };
  }
  // As AWS's runtime: a thrown string reports errorType "string".
  return { errorType: typeof error, errorMessage: format('%s', error), trace: [] };
}

function maxMemoryMb(): string {
  return String(Math.ceil(process.resourceUsage().maxRSS / 1024));
}

/**
 * Makes writes to stdout and stderr wait for the host to read them. Both are
 * pipes to the host, and Node writes to pipes asynchronously on Linux: a
 * handler that logs in a loop without yielding queued every line in its own
 * memory (100 MB of logs, about 100 MB more resident) and the queue drained
 * only after it returned, so the host counted log volume as the function's
 * memory, and killed the next invocation for it. On Lambda logs stream out
 * of the environment as they are written; a blocking pipe does that here:
 * the writer waits for the host, and output in flight never exceeds the
 * pipe's buffer (64 KiB on Linux). Node has no public switch for this; its
 * own stdio setup uses the same handle method for pipes on Windows.
 */
function streamStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const handle = (stream as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })
      ._handle;
    handle?.setBlocking?.(true);
  }
}

/** Lambda's log line format: timestamp, request id (undefined during init), level, message. */
function patchConsole(): void {
  const write =
    (level: string) =>
    (...args: unknown[]) => {
      process.stdout.write(
        `${new Date().toISOString()}\t${String(currentRequestId)}\t${level}\t${format(...args)}\n`,
      );
    };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
}

async function loadHandler(): Promise<Handler> {
  const root = env.LAMBDA_TASK_ROOT ?? process.cwd();
  const spec = env._HANDLER ?? 'index.handler';
  const parsed = parseHandlerSpec(spec);
  const modulePath = parsed?.modulePath ?? spec;
  // The registry refuses such handlers; checked again here because functions
  // can also be given to the host as definitions, without a functions file.
  const inside = parsed === undefined ? undefined : moduleInside(root, parsed.modulePath);
  const file =
    inside === undefined
      ? undefined
      : ['.js', '.mjs', '.cjs'].map((ext) => inside + ext).find((f) => existsSync(f));
  if (parsed !== undefined && inside === undefined) {
    throw new RuntimeError(
      'Runtime.ImportModuleError',
      `Error: handler module '${modulePath}' is outside LAMBDA_TASK_ROOT`,
    );
  }
  if (parsed === undefined || file === undefined) {
    throw new RuntimeError(
      'Runtime.ImportModuleError',
      `Error: Cannot find module '${modulePath}'`,
    );
  }
  const { exportPath } = parsed;
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new RuntimeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`);
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', `Error: ${(err as Error).message}`);
    }
    throw err;
  }
  const resolvePath = (root: unknown): unknown =>
    exportPath.reduce<unknown>(
      (obj, key) =>
        obj === null || obj === undefined ? undefined : (obj as Record<string, unknown>)[key],
      root,
    );
  let handler = resolvePath(mod);
  // CommonJS modules whose exports the ESM loader could not name statically.
  if (handler === undefined) handler = resolvePath((mod as { default?: unknown }).default);
  if (handler === undefined)
    throw new RuntimeError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  if (typeof handler !== 'function')
    throw new RuntimeError('Runtime.HandlerNotFound', `${spec} is not a function`);
  return handler as Handler;
}

function runHandler(handler: Handler, event: unknown, context: LambdaContext): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const callback: Callback = (error, value) => {
      const outcome: Outcome =
        error === undefined || error === null ? { ok: true, value } : { ok: false, error };
      // As Lambda: a callback result is sent once the event loop is empty,
      // unless the handler opted out.
      if (context.callbackWaitsForEmptyEventLoop)
        process.once('beforeExit', () => {
          finish(outcome);
        });
      else finish(outcome);
    };
    context.succeed = (value) => {
      finish({ ok: true, value });
    };
    context.fail = (error) => {
      finish({ ok: false, error });
    };
    context.done = (error, value) => {
      finish(error == null ? { ok: true, value } : { ok: false, error });
    };
    try {
      const returned = handler(event, context, callback);
      if (typeof (returned as { then?: unknown } | null)?.then === 'function') {
        (returned as Promise<unknown>).then(
          (value) => {
            finish({ ok: true, value });
          },
          (error: unknown) => {
            finish({ ok: false, error });
          },
        );
      } else if (handler.length < 3) {
        finish({ ok: true, value: returned });
      }
    } catch (error) {
      finish({ ok: false, error });
    }
  });
}

function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The error type as a header value. A function names its errors freely
 * (any Unicode, newlines), and Node refuses such header values; the body
 * keeps the exact name, the header gets it with non-ASCII escaped.
 */
function errorTypeHeader(errorType: string): string {
  const text = escapeNonAscii(errorType);
  return text.length > 1024 ? text.slice(0, 1024) : text;
}

/** JSON of an error body; a message or trace that cannot be serialised is replaced, never thrown. */
function serializeErrorBody(body: ErrorBody): string {
  try {
    return JSON.stringify(body);
  } catch {
    return JSON.stringify({
      errorType: asText(body.errorType),
      errorMessage: 'error could not be serialised',
      trace: [],
    });
  }
}

/**
 * What AWS's Node.js runtime logs for a failed invocation, after `Invoke
 * Error `: a tab and the error as JSON (its name, message, enumerable
 * properties, and the stack as an array of lines); a thrown non-Error is
 * logged as JSON of itself.
 */
function formatInvokeError(error: unknown): string {
  const withProperties = (_key: string, value: unknown): unknown => {
    if (!(value instanceof Error)) return value;
    const out: Record<string, unknown> = {
      errorType: value.name,
      errorMessage: value.message,
      code: (value as { code?: unknown }).code,
      ...Object.fromEntries(Object.entries(value)),
    };
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
    return out;
  };
  try {
    const text = JSON.stringify(error, withProperties) as string | undefined;
    return `\t${text ?? asText(error)}`;
  } catch {
    return `\t${JSON.stringify(toErrorBody(error))}`;
  }
}

/** stdout and stderr are one stream (the local host merged them): one marker marks both. */
const mergedOutput = env[OUTPUT_ENV] === 'merged';
Reflect.deleteProperty(env, OUTPUT_ENV);

/** Between an end-of-invocation marker and the next invocation's arrival. */
let between = false;
/** Background output came in that time (its marker is written). */
let backgroundMarked = false;

function writeMarker(marker: string): void {
  stdoutWrite(marker);
  if (!mergedOutput) stderrWrite(marker);
}

function endOfInvocation(): void {
  writeMarker(END_OF_INVOCATION);
  between = true;
  backgroundMarked = false;
}

/** The next invocation arrived: output from now on is its own. */
function startOfInvocation(): void {
  if (backgroundMarked) writeMarker(START_OF_INVOCATION);
  between = false;
  backgroundMarked = false;
}

const stdoutWrite = markBackground(process.stdout);
const stderrWrite = markBackground(process.stderr);

/**
 * Wraps a stream's `write` so that the first output after an invocation
 * ended is preceded by the background marker (console, process.stdout and
 * process.stderr, worker threads' output all pass here); returns the
 * unwrapped write for the markers themselves.
 */
function markBackground(stream: NodeJS.WriteStream): (text: string) => void {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  const wrapped = (...args: unknown[]): boolean => {
    if (between && !backgroundMarked) {
      backgroundMarked = true;
      writeMarker(BACKGROUND_OUTPUT);
    }
    return original(...args);
  };
  stream.write = wrapped;
  return (text) => {
    original(text);
  };
}

async function fatal(error: unknown, errorType: string): Promise<never> {
  const id = currentRequestId;
  const err = error instanceof Error ? error : new RuntimeError(errorType, format('%s', error));
  console.error(
    errorType === 'Runtime.UnhandledPromiseRejection'
      ? 'Unhandled Promise Rejection'
      : 'Uncaught Exception',
    formatInvokeError(err),
  );
  if (id !== undefined) {
    endOfInvocation();
    await transport.answer(
      id,
      'error',
      serializeErrorBody({ ...toErrorBody(err), errorType }),
      errorType,
      true,
    );
  }
  // AWS's runtime exits after an uncaught error; the host discards the environment.
  process.exit(129);
}

async function main(): Promise<void> {
  streamStdio();
  patchConsole();
  process.on('uncaughtException', (err) => void fatal(err, 'Runtime.UncaughtException'));
  process.on(
    'unhandledRejection',
    (reason) => void fatal(reason, 'Runtime.UnhandledPromiseRejection'),
  );

  let handler: Handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    console.error(err);
    const body = toErrorBody(err);
    await transport.initError(serializeErrorBody(body), body.errorType);
    process.exit(1);
  }
  // Marker 0: init output ends here, so the host can put it before the first START.
  endOfInvocation();

  const functionName = env.AWS_LAMBDA_FUNCTION_NAME ?? '';
  const functionVersion = env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST';
  const memoryLimitInMB = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128';
  const logGroupName = env.AWS_LAMBDA_LOG_GROUP_NAME ?? '';
  const logStreamName = env.AWS_LAMBDA_LOG_STREAM_NAME ?? '';

  for (;;) {
    const next = await transport.next();
    startOfInvocation();
    const h = next.headers;
    const requestId = header(h, RuntimeHeader.requestId) ?? '';
    const deadline = Number(header(h, RuntimeHeader.deadlineMs));
    const traceId = header(h, RuntimeHeader.traceId);
    const clientContext = header(h, RuntimeHeader.clientContext);
    const tenantId = header(h, RuntimeHeader.tenantId);
    if (traceId === undefined) delete env._X_AMZN_TRACE_ID;
    else env._X_AMZN_TRACE_ID = traceId;
    currentRequestId = requestId;

    let outcome: Outcome;
    try {
      const context: LambdaContext = {
        callbackWaitsForEmptyEventLoop: true,
        functionName,
        functionVersion,
        invokedFunctionArn: header(h, RuntimeHeader.functionArn) ?? '',
        memoryLimitInMB,
        awsRequestId: requestId,
        logGroupName,
        logStreamName,
        clientContext:
          clientContext === undefined ? undefined : (JSON.parse(clientContext) as unknown),
        identity: undefined,
        ...(tenantId === undefined ? {} : { tenantId }),
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        succeed: () => undefined,
        fail: () => undefined,
        done: () => undefined,
      };
      const event = next.body === '' ? {} : (JSON.parse(next.body) as unknown);
      outcome = await runHandler(handler, event, context);
    } catch (error) {
      outcome = { ok: false, error };
    }

    let payload: string | undefined;
    if (outcome.ok) {
      try {
        payload = JSON.stringify(outcome.value);
      } catch (error) {
        outcome = { ok: false, error };
      }
    }
    // As AWS's runtime, the failure goes to the log (inside this invocation's
    // output, so before the end marker) as well as to the caller.
    if (!outcome.ok) console.error('Invoke Error', formatInvokeError(outcome.error));
    // The result goes first, then the end marker: the host answers the
    // caller on the result, and reads the marker after (a tail waits for it).
    // Routing does not depend on the order: the marker is in the output stream.
    let answered: Promise<void>;
    if (outcome.ok) {
      answered = transport.answer(requestId, 'response', payload ?? 'null', '', false);
    } else {
      const body = toErrorBody(outcome.error);
      answered = transport.answer(
        requestId,
        'error',
        serializeErrorBody(body),
        body.errorType,
        false,
      );
    }
    endOfInvocation();
    await answered;
    currentRequestId = undefined;
  }
}

await main();
