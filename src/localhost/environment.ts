import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FunctionDefinition } from './function-registry.js';
import {
  endLine,
  logStreamName,
  reportLine,
  startLine,
  timedOutMessage,
  timeoutLine,
} from './log-format.js';
import { LogWindow, MarkerSplitter, type MarkerKind } from './log-window.js';
import { kbToMb, ProcessMemoryFiles } from './process-memory.js';
import { RuntimeApi, type RuntimeEvent, type RuntimeListener } from './runtime-api.js';
import { RuntimeChannel } from './runtime-channel.js';
import { OUTPUT_ENV, RUNTIME_FD, RUNTIME_FD_ENV } from './runtime-frames.js';
import { RuntimeHeader, TMPDIR_PREFIX } from './runtime-protocol.js';

export const FUNCTION_VERSION = '$LATEST';
/** Lambda limits the init phase of on-demand functions to 10 s. */
const INIT_TIMEOUT_MS = 10_000;
/** How long a tail waits for the runtime's end-of-invocation markers. */
const MARKER_WAIT_MS = 100;
/** How long a crashed runtime's output may take to arrive after its exit. */
const STDIO_DRAIN_MS = 100;
/**
 * How often a busy environment's resident memory is checked against the
 * function's memory size. The check also reads the kernel's high-water mark
 * (VmHWM, reset when each invocation begins), so a spike between two samples
 * is still seen at the next one.
 */
const MEMORY_SAMPLE_MS = 25;

export interface EnvironmentOptions {
  readonly fn: FunctionDefinition;
  readonly tenantId: string | undefined;
  readonly region: string;
  readonly functionArn: string;
  /** Compiled bootstrap (dist/src/localhost/bootstrap.js). */
  readonly bootstrapPath: string;
  /** Variables every environment gets besides Lambda's own (PATH, LANG, credentials). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Every chunk of function output, for the host's own log. */
  readonly onOutput?: ((env: Environment, text: string) => void) | undefined;
  /** The process died on its own while idle; the pool forgets it. */
  readonly onGone: (env: Environment) => void;
  /** Something went wrong that only the host's log needs to know about. */
  readonly onProblem?: ((env: Environment, err: unknown, what: string) => void) | undefined;
}

export interface InvokeInput {
  readonly requestId: string;
  /** The event, JSON bytes. */
  readonly payload: Buffer;
  /** Decoded client context JSON, passed to the runtime as Lambda-Runtime-Client-Context. */
  readonly clientContext: string | undefined;
  readonly traceId: string;
  readonly invokedFunctionArn: string;
  /** Build the base64 log tail (X-Amz-Log-Type: Tail). */
  readonly tail: boolean;
}

export type OutcomeKind = 'success' | 'error' | 'timeout' | 'crash' | 'init-error';

export interface InvokeOutcome {
  readonly kind: OutcomeKind;
  /** Response body: the function's result, or its error object. */
  readonly payload: Buffer;
  /** The environment must not serve again (timeout, crash, init failure). */
  readonly discard: boolean;
  /** First invocation of this environment. */
  readonly cold: boolean;
  readonly durationMs: number;
  readonly initDurationMs: number | undefined;
  readonly logResult: string | undefined;
}

interface Invocation {
  readonly input: InvokeInput;
  readonly resolve: (outcome: InvokeOutcome) => void;
  /** The runtime writes marker N after invocation N (marker 0 ends init). */
  readonly index: number;
  /** Output before START: init output, background output of earlier invocations. */
  pre: LogWindow;
  /** Output between START and END. */
  readonly log: LogWindow;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The outcome is decided. */
  done: boolean;
  /** The log is cut (the tail was built, or none was asked): later output goes elsewhere. */
  logClosed: boolean;
}

type StreamName = 'stdout' | 'stderr';

function errorPayload(errorType: string, errorMessage: string): Buffer {
  return Buffer.from(JSON.stringify({ errorType, errorMessage }));
}

/**
 * An error body as the runtime posted it when that is JSON; otherwise (a
 * runtime writing garbage) Lambda's shape around the text, so callers can
 * always parse a function error.
 */
function errorJson(payload: Buffer, errorType: string): Buffer {
  const text = payload.toString('utf8');
  try {
    JSON.parse(text);
    return payload;
  } catch {
    return errorPayload(errorType === '' ? 'Runtime.Unknown' : errorType, text);
  }
}

/** The errorType of an error body the host built (for the REPORT line). */
function errorTypeOf(payload: Buffer): string | undefined {
  try {
    const body = JSON.parse(payload.toString('utf8')) as { errorType?: unknown };
    return typeof body.errorType === 'string' ? body.errorType : undefined;
  } catch {
    return undefined;
  }
}

let sequence = 0;

/**
 * A connected pair of Unix sockets (Node has no socketpair()): the child
 * gets one end as both stdout and stderr, the host reads the other. The
 * socket file exists only until the connection is accepted.
 */
async function outputPair(dir: string): Promise<{ parentEnd: Socket; childEnd: Socket }> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(join(dir, '.output.sock'), () => {
        server.off('error', reject);
        resolve();
      });
    });
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const childEnd = connect(join(dir, '.output.sock'));
    await new Promise<void>((resolve, reject) => {
      childEnd.once('error', reject);
      childEnd.once('connect', () => {
        childEnd.off('error', reject);
        resolve();
      });
    });
    return { parentEnd: await accepted, childEnd };
  } finally {
    server.close();
  }
}

/**
 * One execution environment: a child process running the bootstrap, its own
 * Runtime API endpoint and private temp directory. It serves one invocation
 * at a time and never changes tenant; the pool decides which invocation it
 * gets. After a timeout, crash or failed init it is dead and must be
 * discarded.
 */
export class Environment implements RuntimeListener {
  readonly id: string;
  readonly fn: FunctionDefinition;
  readonly tenantId: string | undefined;
  readonly createdAt = Date.now();
  /** Pool bookkeeping. */
  state: 'busy' | 'idle' = 'busy';
  lastUsedAt = Date.now();
  invocations = 0;
  /** Evicted while busy: leave after the current invocation. */
  retiring = false;

  private readonly options: EnvironmentOptions;
  private readonly started: Promise<void>;
  private child: ChildProcess | undefined;
  private runtime: RuntimeApi | undefined;
  /** warmroute's bootstrap's private channel (fd 3); the HTTP Runtime API serves any other client. */
  private channel: RuntimeChannel | undefined;
  private tmpDir: string | undefined;
  private spawnedAt = 0;
  private initDurationMs: number | undefined;
  private initTimer: NodeJS.Timeout | undefined;
  private current: Invocation | undefined;
  private lastInvocation: Invocation | undefined;
  private begun = 0;
  private readonly markers: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  /** Between a stream's background and start markers: output of no invocation. */
  private readonly background: Record<StreamName, boolean> = { stdout: false, stderr: false };
  /** The output streams read (stdout alone when stderr shares its socket): each carries the markers. */
  private outputStreams: readonly StreamName[] = ['stdout', 'stderr'];
  private markerWaiter: (() => void) | undefined;
  /** Output between invocations (init logs, late background logs): printed before the next START. */
  private carry = new LogWindow();
  private alive = true;
  private exited: Promise<void> | undefined;
  private stdioClosed: Promise<void> | undefined;
  /** The host's ends of the environment's output (one socket, or two pipes). */
  private outputs: readonly Readable[] = [];
  private destroying: Promise<void> | undefined;
  /**
   * Highest resident memory (KiB) of the current invocation, from procfs (of
   * init, before the first one begins); 0 where there is none.
   */
  private peakKb = 0;
  /**
   * VmHWM counts nothing from before the last reset: true from the process's
   * start (init is its whole life) and after each successful reset. When a
   * reset fails, VmHWM may hold an earlier invocation's peak, so only VmRSS
   * counts. Invocations without a tail are not reset (see begin()).
   */
  private peakIsCurrent = true;
  /** The runtime's own peak RSS report (MB): the process's lifetime peak, the fallback without procfs. */
  private reportedPeakMb = 0;
  private sampler: NodeJS.Timeout | undefined;
  private procFiles: ProcessMemoryFiles | undefined;
  /** The host killed the process for using more than the function's memory. */
  private outOfMemory = false;

  constructor(options: EnvironmentOptions) {
    this.options = options;
    this.fn = options.fn;
    this.tenantId = options.tenantId;
    this.id = `${(++sequence).toString(36)}-${randomBytes(4).toString('hex')}`;
    this.started = this.start();
    // Failures surface through the first invocation; never unhandled.
    this.started.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get initialized(): boolean {
    return this.initDurationMs !== undefined;
  }

  get isAlive(): boolean {
    return this.alive;
  }

  private async start(): Promise<void> {
    const { fn } = this.options;
    this.tmpDir = await mkdtemp(join(tmpdir(), TMPDIR_PREFIX));
    this.runtime = await RuntimeApi.start(this);
    // One stream for stdout and stderr where possible: one end-of-invocation
    // marker to write and to read per invocation instead of two.
    const pair = await outputPair(this.tmpDir).catch((err: unknown) => {
      // Still works on two pipes, with a marker on each: say why the one-stream saving is lost.
      this.problem(err, 'output socket pair unavailable; using two pipes');
      return undefined;
    });
    if (!this.alive) {
      pair?.parentEnd.destroy();
      pair?.childEnd.destroy();
      throw new Error('environment stopped while starting');
    }
    const env: Record<string, string> = {
      ...this.options.baseEnv,
      ...fn.environment,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: FUNCTION_VERSION,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(
        new Date(),
        FUNCTION_VERSION,
        randomBytes(16).toString('hex'),
      ),
      AWS_LAMBDA_RUNTIME_API: this.runtime.address,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      _HANDLER: fn.handler,
      LAMBDA_TASK_ROOT: fn.codeDir,
      LAMBDA_RUNTIME_DIR: join(this.options.bootstrapPath, '..'),
      TZ: ':UTC',
      TMPDIR: this.tmpDir,
      [RUNTIME_FD_ENV]: String(RUNTIME_FD),
    };
    if (pair !== undefined) env[OUTPUT_ENV] = 'merged';
    this.spawnedAt = performance.now();
    // V8's heap gets most of the configured memory; the rest is the process's own.
    const heapMb = Math.max(64, Math.floor(fn.memoryMb * 0.9));
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${heapMb}`, this.options.bootstrapPath],
      {
        cwd: fn.codeDir,
        env,
        stdio:
          pair === undefined
            ? ['ignore', 'pipe', 'pipe', 'pipe']
            : ['ignore', pair.childEnd, pair.childEnd, 'pipe'],
        // Its own process group, so stopping the environment also stops whatever the function spawned.
        detached: true,
      },
    );
    this.child = child;
    // The child has its own copy; the host's would keep the stream from ever ending.
    pair?.childEnd.destroy();
    const outputs: readonly (readonly [StreamName, Readable | null])[] =
      pair === undefined
        ? [
            ['stdout', child.stdout],
            ['stderr', child.stderr],
          ]
        : [['stdout', pair.parentEnd]];
    this.outputStreams = outputs.map(([name]) => name);
    this.outputs = outputs.flatMap(([, stream]) => (stream === null ? [] : [stream]));
    const channelSocket = child.stdio[RUNTIME_FD];
    if (channelSocket instanceof Socket)
      this.channel = new RuntimeChannel(channelSocket, this.runtime, this);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    const closed = (emitter: Readable | ChildProcess): Promise<void> =>
      new Promise((resolve) =>
        emitter.once('close', () => {
          resolve();
        }),
      );
    this.stdioClosed = Promise.all([
      closed(child),
      ...(pair === undefined ? [] : [closed(pair.parentEnd)]),
    ]).then(() => undefined);
    // `on`, not `once`: a second 'error' event without a listener would be
    // thrown by the emitter and end the host.
    child.on('error', (err) => {
      this.failInit(errorPayload('Runtime.StartError', `cannot start the runtime: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      this.onExit(code, signal);
    });
    for (const [name, stream] of outputs) {
      // Null only if spawn failed ('error' then ends the environment).
      if (stream === null) continue;
      stream.setEncoding('utf8');
      const splitter = new MarkerSplitter(
        (text) => {
          this.onText(name, text);
        },
        (kind) => {
          this.onMarker(name, kind);
        },
      );
      stream.on('data', (chunk: string) => {
        splitter.push(chunk);
      });
      stream.on('end', () => {
        splitter.flush();
      });
      stream.on('error', (err) => {
        this.problem(err, `environment ${name} failed`);
      });
    }
    this.initTimer = setTimeout(() => {
      this.failInit(
        errorPayload(
          'Runtime.InitTimeout',
          `INIT phase timed out after ${(INIT_TIMEOUT_MS / 1000).toFixed(2)} seconds`,
        ),
      );
    }, INIT_TIMEOUT_MS);
  }

  /** Runs one invocation. The pool guarantees one at a time. */
  invoke(input: InvokeInput): Promise<InvokeOutcome> {
    return new Promise<InvokeOutcome>((resolve) => {
      const inv: Invocation = {
        input,
        resolve,
        index: this.begun + 1,
        pre: new LogWindow(),
        log: new LogWindow(),
        startedAt: 0,
        timer: undefined,
        done: false,
        logClosed: false,
      };
      this.current = inv;
      if (this.alive) this.startSampling();
      if (!this.alive) {
        this.finish(
          inv,
          'crash',
          errorPayload('Runtime.ExitError', 'environment is stopped'),
          true,
        );
        return;
      }
      if (this.channel?.waiting === true) {
        this.channel.deliver(this.begin(inv));
      } else if (this.runtime?.waiting === true) {
        this.runtime.deliver(this.begin(inv));
      } else if (this.initDurationMs === undefined) {
        // Still initialising: the runtime's first `next` picks it up. Start
        // failures (spawn, temp dir) end the invocation here.
        this.started.catch((err: unknown) => {
          this.failInit(
            errorPayload('Runtime.StartError', `cannot start the environment: ${String(err)}`),
          );
        });
      }
    });
  }

  /** Builds the runtime event and starts the invocation's clock. */
  private begin(inv: Invocation): RuntimeEvent {
    const { fn } = this.options;
    this.begun++;
    inv.startedAt = performance.now();
    const timeoutMs = fn.timeoutSeconds * 1000;
    inv.timer = setTimeout(() => {
      this.onTimeout(inv);
    }, timeoutMs);
    inv.pre = this.carry;
    this.carry = new LogWindow();
    this.lastInvocation = inv;
    // The first invocation's peak includes init, as its REPORT (with Init Duration) does on Lambda.
    // Only a tail shows this invocation's own peak; without one VmHWM since the
    // last reset bounds it from above, which is all the limit check needs (an
    // earlier peak over the limit was killed when it was measured).
    if (inv.index > 1 && inv.input.tail) this.resetPeak();
    const headers: Record<string, string> = {
      [RuntimeHeader.requestId]: inv.input.requestId,
      [RuntimeHeader.deadlineMs]: String(Date.now() + timeoutMs),
      [RuntimeHeader.functionArn]: inv.input.invokedFunctionArn,
      [RuntimeHeader.traceId]: inv.input.traceId,
    };
    if (inv.input.clientContext !== undefined)
      headers[RuntimeHeader.clientContext] = inv.input.clientContext;
    if (this.tenantId !== undefined) headers[RuntimeHeader.tenantId] = this.tenantId;
    return { requestId: inv.input.requestId, payload: inv.input.payload, headers };
  }

  // Runtime API callbacks.

  onNext(): RuntimeEvent | undefined {
    if (this.initDurationMs === undefined) {
      this.initDurationMs = performance.now() - this.spawnedAt;
      clearTimeout(this.initTimer);
    }
    const inv = this.current;
    if (inv !== undefined && inv.startedAt === 0 && !inv.done) return this.begin(inv);
    return undefined;
  }

  onResponse(requestId: string, payload: Buffer, maxMemoryMb: number): void {
    const inv = this.current;
    if (inv?.input.requestId !== requestId) return;
    this.noteReportedPeak(maxMemoryMb);
    // Over the limit at any point of the invocation: Lambda would have killed
    // it before it could answer. The exit then fails the invocation.
    if (this.overMemoryAtAnswer(inv, maxMemoryMb)) return;
    this.finish(inv, 'success', payload, false);
  }

  onError(requestId: string, payload: Buffer, errorType: string, maxMemoryMb: number): void {
    const inv = this.current;
    if (inv?.input.requestId !== requestId) return;
    this.noteReportedPeak(maxMemoryMb);
    if (this.overMemoryAtAnswer(inv, maxMemoryMb)) return;
    // `Runtime.*` errors (uncaught exception, unhandled rejection) mean the
    // runtime is exiting, as AWS's does: never hand it another invocation.
    this.finish(inv, 'error', errorJson(payload, errorType), errorType.startsWith('Runtime.'));
  }

  onProblem(err: unknown, what: string): void {
    this.problem(err, what);
  }

  private problem(err: unknown, what: string): void {
    try {
      this.options.onProblem?.(this, err, what);
    } catch {
      // Logging must never be what fails.
    }
  }

  /**
   * Whether the environment went over its memory before it answered (it is
   * then killed, and its exit fails the invocation). A procfs reading is taken
   * only when something needs it: a tail's REPORT line shows the measured peak,
   * and a runtime that reported no peak, or one over the limit, must be
   * measured. Otherwise its own report settles it: getrusage's ru_maxrss is the
   * same kernel counter as VmHWM (reset with it), read when the runtime
   * answered, and at or under the limit it cannot have gone over. That skips
   * the host's largest per-invoke cost on the warm path. A function that lies
   * in its report is still caught by the sampler during a long invocation.
   */
  private overMemoryAtAnswer(inv: Invocation, reportedMb: number): boolean {
    if (this.outOfMemory) return true;
    if (!inv.input.tail && Number.isFinite(reportedMb) && reportedMb <= this.fn.memoryMb)
      return false;
    return this.checkMemory();
  }

  private noteReportedPeak(mb: number): void {
    if (Number.isFinite(mb) && mb > this.reportedPeakMb) this.reportedPeakMb = Math.ceil(mb);
  }

  // Memory: Lambda limits the whole environment's memory, not V8's heap, so
  // the process's resident set is what counts (Buffers, native code, all).

  private startSampling(): void {
    if (this.sampler !== undefined) return;
    this.sampler = setInterval(() => {
      this.checkMemory();
    }, MEMORY_SAMPLE_MS);
    this.sampler.unref();
  }

  private stopSampling(): void {
    clearInterval(this.sampler);
    this.sampler = undefined;
  }

  /**
   * Starts measuring a new invocation. VmHWM is the process's lifetime peak:
   * without a reset, one invocation's spike (a burst of garbage, a buffer
   * since freed) would be reported by every later one and kill the first
   * that is sampled, although that memory is no longer held. Lambda limits
   * the memory an environment holds, never a past peak.
   */
  private resetPeak(): void {
    const pid = this.child?.pid;
    this.peakKb = 0;
    this.reportedPeakMb = 0;
    if (pid === undefined || !this.alive) {
      this.peakIsCurrent = false;
      return;
    }
    const files = this.memoryFiles(pid);
    // A reset sets VmHWM to VmRSS. When they are already equal it changes
    // nothing (and VmHWM means "since now" even where a reset is refused),
    // so the write is skipped: the kernel walks the process's page tables
    // for it, the host's largest single cost per warm invoke.
    const now = files.read();
    this.peakIsCurrent = (now !== undefined && now.peakKb === now.rssKb) || files.resetPeak();
  }

  /** Reads the process's memory and records its peak. */
  private sampleMemory(): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.alive || this.outOfMemory) return;
    const m = this.memoryFiles(pid).read();
    if (m === undefined) return;
    const kb = this.peakIsCurrent ? m.peakKb : m.rssKb;
    if (kb > this.peakKb) this.peakKb = kb;
  }

  private memoryFiles(pid: number): ProcessMemoryFiles {
    this.procFiles ??= new ProcessMemoryFiles(pid);
    return this.procFiles;
  }

  /** Samples, and kills the process if it ever went over its memory size; true if it did. */
  private checkMemory(): boolean {
    if (this.outOfMemory) return true;
    this.sampleMemory();
    if (this.peakKb <= this.fn.memoryMb * 1024) return false;
    this.outOfMemory = true;
    this.stopSampling();
    const pid = this.child?.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        this.child?.kill('SIGKILL');
      }
    }
    return true;
  }

  /**
   * Max Memory Used for the REPORT line: the invocation's measured peak; the
   * runtime's own report (a lifetime peak) only where procfs measured nothing.
   */
  private memoryUsedMb(): number {
    return this.peakKb > 0 ? kbToMb(this.peakKb) : this.reportedPeakMb;
  }

  onInitError(payload: Buffer, errorType: string): void {
    this.failInit(errorJson(payload, errorType));
  }

  private failInit(payload: Buffer): void {
    clearTimeout(this.initTimer);
    const inv = this.current;
    if (inv !== undefined && !inv.done) {
      if (inv.startedAt === 0) {
        this.begun++;
        inv.startedAt = performance.now();
        inv.pre = this.carry;
        this.carry = new LogWindow();
      }
      this.finish(inv, 'init-error', payload, true);
    }
    void this.destroy();
  }

  // Output routing: text between a stream's markers N-1 and N belongs to
  // invocation N (marker 0 ends init), whatever order pipes and sockets deliver in;
  // text between a background and a start marker inside that span was written
  // before invocation N reached the runtime, so it goes before N's START.

  private onText(stream: StreamName, text: string): void {
    try {
      this.options.onOutput?.(this, text);
    } catch (err) {
      // A failing output sink must not turn into an exception on the pipe.
      this.problem(err, 'function output handler failed');
    }
    const index = this.markers[stream];
    const last = this.lastInvocation;
    if (this.background[stream]) {
      // Written after invocation index-1 ended and before invocation index
      // reached the runtime: before its START, whether or not it has begun here.
      if (last !== undefined && index === last.index && !last.logClosed) last.pre.append(text);
      else this.carry.append(text);
    } else if (last !== undefined && index === last.index) {
      // Output of an invocation answered before its marker arrived (no tail
      // was asked) is dropped rather than shown in the next one's log.
      if (!last.logClosed) last.log.append(text);
    } else if (index === 0 && last?.index === 1 && !last.logClosed) {
      // Init output that arrived after the first invocation began.
      last.pre.append(text);
    } else if (last !== undefined && index > 0 && index < last.index) {
      // Output of an earlier invocation, read after the next one began: it
      // is no part of the new one's log (the old one's is cut).
    } else {
      // Init output, or background work after an invocation ended: as on
      // Lambda it shows up before the next START.
      this.carry.append(text);
    }
  }

  private onMarker(stream: StreamName, kind: MarkerKind): void {
    if (kind !== 'end') {
      this.background[stream] = kind === 'background';
      return;
    }
    this.background[stream] = false;
    this.markers[stream]++;
    const waiter = this.markerWaiter;
    if (waiter !== undefined) waiter();
  }

  private onTimeout(inv: Invocation): void {
    if (inv.done) return;
    inv.log.append(timeoutLine(inv.input.requestId, this.fn.timeoutSeconds, new Date()));
    const message = `RequestId: ${inv.input.requestId} Error: ${timedOutMessage(this.fn.timeoutSeconds)}`;
    // The process is still alive: its peak is what the REPORT line shows.
    this.sampleMemory();
    this.finish(inv, 'timeout', errorPayload('Sandbox.Timedout', message), true);
    void this.destroy();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const wasAlive = this.alive;
    this.alive = false;
    this.stopSampling();
    this.procFiles?.close();
    clearTimeout(this.initTimer);
    const inv = this.current;
    if (inv !== undefined && !inv.done) {
      const status =
        signal === null
          ? `exit status ${code ?? 0}`
          : `signal: ${signal === 'SIGKILL' ? 'killed' : signal}`;
      const message = `RequestId: ${inv.input.requestId} Error: Runtime exited with error: ${status}`;
      // Let the dying process's last output arrive before the log is cut.
      const drained = this.stdioClosed ?? Promise.resolve();
      const cap = new Promise<void>((resolve) => setTimeout(resolve, STDIO_DRAIN_MS));
      // Killed for its memory: Lambda's Node runtimes report Runtime.OutOfMemory
      // (older ones Runtime.ExitError) with the same "signal: killed" message.
      const errorType = this.outOfMemory ? 'Runtime.OutOfMemory' : 'Runtime.ExitError';
      void Promise.race([drained, cap])
        .then(() => {
          if (inv.startedAt === 0) {
            this.finish(inv, 'init-error', errorPayload(errorType, message), true);
          } else {
            inv.log.append(
              this.outOfMemory
                ? // Lambda's platform line for it: no timestamp, the error type on its own line.
                  `${message}\n${errorType}\n`
                : `${new Date().toISOString()} ${inv.input.requestId} ${message}\n`,
            );
            this.finish(inv, 'crash', errorPayload(errorType, message), true);
          }
          void this.destroy();
        })
        .catch((err: unknown) => {
          this.problem(err, 'reporting the runtime exit failed');
        });
      return;
    }
    if (wasAlive && this.destroying === undefined) this.options.onGone(this);
    void this.destroy();
  }

  private finish(inv: Invocation, kind: OutcomeKind, payload: Buffer, discard: boolean): void {
    if (inv.done) return;
    inv.done = true;
    clearTimeout(inv.timer);
    this.stopSampling();
    const maxMemoryMb = this.memoryUsedMb();
    if (this.current === inv) this.current = undefined;
    const first = this.invocations === 0;
    this.invocations++;
    const durationMs = inv.startedAt === 0 ? 0 : performance.now() - inv.startedAt;
    const initDurationMs = first ? this.initDurationMs : undefined;
    const complete = (): void => {
      this.markerWaiter = undefined;
      inv.logClosed = true;
      let logResult: string | undefined;
      if (inv.input.tail) {
        const full = new LogWindow();
        full.append(inv.pre.text());
        full.append(startLine(inv.input.requestId, FUNCTION_VERSION));
        full.append(inv.log.text());
        full.append(endLine(inv.input.requestId));
        full.append(
          reportLine({
            requestId: inv.input.requestId,
            durationMs,
            memorySizeMb: this.fn.memoryMb,
            maxMemoryUsedMb: maxMemoryMb,
            initDurationMs: first ? (this.initDurationMs ?? durationMs) : undefined,
            status:
              kind === 'timeout'
                ? 'timeout'
                : kind === 'success' || kind === 'error'
                  ? undefined
                  : 'error',
            errorType: kind === 'crash' || kind === 'init-error' ? errorTypeOf(payload) : undefined,
          }),
        );
        logResult = full.tailBase64();
      }
      inv.resolve({ kind, payload, discard, cold: first, durationMs, initDurationMs, logResult });
    };
    const markersIn = (): boolean =>
      this.outputStreams.every((name) => this.markers[name] > inv.index);
    if (!inv.input.tail || discard || markersIn()) {
      complete();
      return;
    }
    // The runtime wrote its markers before posting the result, but pipes and
    // the socket race: wait (briefly) until the output is all in.
    const cap = setTimeout(complete, MARKER_WAIT_MS);
    this.markerWaiter = () => {
      if (markersIn()) {
        clearTimeout(cap);
        complete();
      }
    };
  }

  /**
   * Stops the process (and its process group), closes the Runtime API,
   * removes the temp dir. Never rejects: callers fire and forget it, and a
   * rejected promise nobody handles would end the host.
   */
  destroy(): Promise<void> {
    this.destroying ??= this.teardown().catch((err: unknown) => {
      this.problem(err, 'environment teardown failed');
    });
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    this.alive = false;
    this.stopSampling();
    this.procFiles?.close();
    clearTimeout(this.initTimer);
    await this.started.catch(() => undefined);
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      await this.exited;
    }
    const inv = this.current;
    if (inv !== undefined && !inv.done) {
      this.finish(inv, 'crash', errorPayload('Runtime.ExitError', 'environment stopped'), true);
    }
    this.channel?.close();
    await this.releaseOutput();
    await this.runtime?.close();
    if (this.tmpDir !== undefined) await rm(this.tmpDir, { recursive: true, force: true });
  }

  /**
   * Lets go of the environment's output once the process is gone. A process
   * the function started in a session of its own survives the process
   * group's kill and keeps the output open, so it would never end on its
   * own: the host would hold a descriptor (and a handle keeping its event
   * loop alive) per such environment until that process exits. What is
   * already written is read first (briefly).
   */
  private async releaseOutput(): Promise<void> {
    let cap: NodeJS.Timeout | undefined;
    await Promise.race([
      this.stdioClosed ?? Promise.resolve(),
      new Promise<void>((resolve) => {
        cap = setTimeout(resolve, STDIO_DRAIN_MS);
        cap.unref();
      }),
    ]);
    clearTimeout(cap);
    for (const stream of this.outputs) stream.destroy();
  }

  /** Synchronous last resort when the host process exits: kill the process group. */
  killNow(): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
