import cliProgress from 'cli-progress';

/**
 * Where a long benchmark section is. Progress goes to stderr only, never to
 * stdout where the section prints its results: on a terminal a bar with an
 * ETA that redraws in place, otherwise (CI logs, pipes) one line every
 * `NON_TTY_EVERY_MS`, so a 60-minute run shows it is alive without flooding
 * the log.
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

/** No output at all: for sections run too quickly to need a bar. */
export const NO_PROGRESS: Progress = { tick() {}, phase() {}, done() {} };

export function startProgress(label: string, total: number, unit = 'requests'): Progress {
  const stream = process.stderr;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `  ${label} [{bar}] {percentage}% {value}/{total} ${unit} · ETA {eta_formatted} · {phase}`,
      barsize: 24,
      etaBuffer: 50,
      hideCursor: stream.isTTY,
      clearOnComplete: true,
      noTTYOutput: true,
      notTTYSchedule: NON_TTY_EVERY_MS,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(1, total), 0, { phase: '' });
  let ended = false;
  return {
    tick(n = 1) {
      if (!ended) bar.increment(n);
    },
    phase(text) {
      if (!ended) bar.update({ phase: text });
    },
    done() {
      if (ended) return;
      ended = true;
      bar.stop();
      // Off a terminal the last periodic line has no line end of its own.
      if (!stream.isTTY) stream.write('\n');
    },
  };
}
