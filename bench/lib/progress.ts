import cliProgress from 'cli-progress';

/**
 * Where a long benchmark section is. Progress goes to stderr only, never to
 * stdout where the section prints its results: on a terminal a bar with an
 * ETA that redraws in place, otherwise (CI logs, pipes) one line every
 * `NON_TTY_EVERY_MS`, so a 60-minute run shows it is alive without flooding
 * the log (a section done within the first interval prints nothing).
 */
export interface Progress {
  /** Counts `n` more units of work done (requests, sessions, rounds…). */
  tick(n?: number): void;
  /** Replaces the label after the bar (e.g. the round or phase now running). */
  phase(text: string): void;
  /** Ends the bar; call it in `finally` so a failed section leaves the terminal clean. */
  done(): void;
}

const NON_TTY_EVERY_MS = 10_000;
const BAR_WIDTH = 24;

/** No output at all: for sections run too quickly to need a bar. */
export const NO_PROGRESS: Progress = { tick() {}, phase() {}, done() {} };

/** What the bar and the periodic lines show. */
export interface ProgressState {
  readonly label: string;
  readonly unit: string;
  readonly total: number;
  readonly value: number;
  readonly phase: string;
  readonly elapsedMs: number;
  /** From `estimateRemainingMs`; undefined until there is a rate to go by. */
  readonly remainingMs: number | undefined;
}

/** `8 s`, `4m05s`, `1h02m`: short enough for a bar line, exact enough for an ETA. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${pad(m % 60)}m`;
}

/**
 * Time left at the rate measured since the first tick (not since the start:
 * sections spend their first seconds starting servers and processes, which
 * a rate over the whole run would spread over every remaining unit). An
 * average over the run rather than over the last few ticks, because the long
 * sections alternate fast and slow stretches (hits and cold starts, one
 * variant and the next) and a short window would swing with each.
 */
export function estimateRemainingMs(
  first: { readonly atMs: number; readonly value: number } | undefined,
  nowMs: number,
  value: number,
  total: number,
): number | undefined {
  if (first === undefined) return undefined;
  const spent = nowMs - first.atMs;
  const doneSince = value - first.value;
  if (doneSince <= 0 || spent <= 0) return undefined;
  return (Math.max(0, total - value) * spent) / doneSince;
}

function percentOf(value: number, total: number): number {
  return total <= 0 ? 100 : Math.min(100, Math.floor((value / total) * 100));
}

/** One line of text, bar excluded: the same on a terminal and in a log. */
export function describeProgress(s: ProgressState): string {
  const parts = [
    `${percentOf(s.value, s.total)}% ${s.value}/${s.total} ${s.unit}`,
    `${formatDuration(s.elapsedMs)} elapsed`,
    `ETA ${s.remainingMs === undefined ? '--' : formatDuration(s.remainingMs)}`,
  ];
  if (s.phase !== '') parts.push(s.phase);
  return parts.join(' · ');
}

function barOf(value: number, total: number): string {
  const filled = Math.round((percentOf(value, total) / 100) * BAR_WIDTH);
  return '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
}

/** What `startProgress` writes to; a test passes its own. */
export interface ProgressOptions {
  /** Default process.stderr. A stream whose `isTTY` is true gets the bar. */
  readonly stream?: Pick<NodeJS.WriteStream, 'write'> & { readonly isTTY?: boolean };
  /** Off a terminal: a line every this many ms. Default 10 s. */
  readonly everyMs?: number;
  /** Monotonic ms; default performance.now. */
  readonly now?: () => number;
}

export function startProgress(
  label: string,
  total: number,
  unit = 'requests',
  options: ProgressOptions = {},
): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const startedAt = now();
  let value = 0;
  let phaseText = '';
  let first: { atMs: number; value: number } | undefined;
  let ended = false;
  const state = (): ProgressState => {
    const at = now();
    return {
      label,
      unit,
      total,
      value,
      phase: phaseText,
      elapsedMs: at - startedAt,
      remainingMs: estimateRemainingMs(first, at, value, total),
    };
  };

  const draw =
    stream.isTTY === true
      ? ttyBar(stream, label, state)
      : logLines(stream, options.everyMs ?? NON_TTY_EVERY_MS, label, state, now);
  return {
    tick(n = 1) {
      if (ended) return;
      value += n;
      // The rate is counted from the end of the first tick, when the section is past its set-up.
      first ??= { atMs: now(), value };
      draw.poke();
    },
    phase(text) {
      if (ended) return;
      phaseText = text;
      draw.poke();
    },
    done() {
      if (ended) return;
      ended = true;
      draw.stop();
    },
  };
}

interface Drawer {
  /**
   * Draws now if a draw is due. Timers alone are not enough: a section
   * awaiting only settled promises (the scheduler's loops) never lets a
   * timer run until it ends.
   */
  poke(): void;
  stop(): void;
}

/** On a terminal: cli-progress redraws our line in place, at most 5 times a second. */
function ttyBar(
  stream: NonNullable<ProgressOptions['stream']>,
  label: string,
  state: () => ProgressState,
): Drawer {
  const bar = new cliProgress.SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: () => {
      const s = state();
      return `  ${label} [${barOf(s.value, s.total)}] ${describeProgress(s)}`;
    },
    // Not gracefulExit: its SIGINT listener would stop Ctrl-C from ending the run.
    hideCursor: false,
    clearOnComplete: true,
    fps: 5,
  });
  bar.start(1, 0);
  return {
    poke() {
      // A payload-only update: cli-progress redraws at once if its last draw is old enough.
      bar.update({});
    },
    stop() {
      bar.stop();
    },
  };
}

/** Off a terminal: a full line every `everyMs`, and a closing line if any was written. */
function logLines(
  stream: NonNullable<ProgressOptions['stream']>,
  everyMs: number,
  label: string,
  state: () => ProgressState,
  now: () => number,
): Drawer {
  let wrote = false;
  let lastAt = now();
  const writeIfDue = (): void => {
    if (now() - lastAt < everyMs) return;
    lastAt = now();
    wrote = true;
    stream.write(`  ${label}: ${describeProgress(state())}\n`);
  };
  const timer = setInterval(writeIfDue, Math.min(everyMs, 1_000));
  // A section that forgets done() must not keep the process alive for its progress.
  timer.unref();
  return {
    poke: writeIfDue,
    stop() {
      clearInterval(timer);
      if (!wrote) return;
      const s = state();
      stream.write(`  ${label}: done, ${s.value} ${s.unit} in ${formatDuration(s.elapsedMs)}\n`);
    },
  };
}
