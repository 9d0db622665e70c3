import { describe, expect, it } from 'vitest';
import { Poller, type PollerOptions } from '../../status-page/src/poller.js';

/**
 * The status page's poller (status-page/src/poller.ts) run in Node: it takes
 * its timers and the tab's visibility as parameters, so these fakes drive it
 * step by step.
 */

const PERIOD_MS = 2_000;
const MAX_BACKOFF_MS = 30_000;

class FakeTimers {
  readonly pending = new Map<number, { callback: () => void; ms: number }>();
  #next = 1;
  readonly setTimeout = (callback: () => void, ms: number): number => {
    const id = this.#next++;
    this.pending.set(id, { callback, ms });
    return id;
  };
  readonly clearTimeout = (id: number): void => {
    this.pending.delete(id);
  };
  /** The delays of the timers now set. */
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }
  /** Fires the one pending timer (the poller never has two). */
  fire(): void {
    expect(this.pending.size).toBe(1);
    const [id, timer] = [...this.pending][0] ?? [];
    if (id === undefined || timer === undefined) throw new Error('no timer');
    this.pending.delete(id);
    timer.callback();
  }
}

class FakeVisibility {
  hidden = false;
  readonly #listeners: (() => void)[] = [];
  readonly isHidden = (): boolean => this.hidden;
  readonly onChange = (listener: () => void): void => {
    this.#listeners.push(listener);
  };
  set(hidden: boolean): void {
    this.hidden = hidden;
    for (const listener of this.#listeners) listener();
  }
}

/** Each poll is a promise the test settles. */
class Polls {
  readonly calls: { resolve: () => void; reject: (err: Error) => void }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly poll = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const done = (): void => {
        this.inFlight -= 1;
      };
      this.calls.push({
        resolve: () => {
          done();
          resolve();
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
    });
  /** Settles the latest poll and lets the poller's callbacks run. */
  async settle(ok: boolean): Promise<void> {
    const call = this.calls[this.calls.length - 1];
    if (call === undefined) throw new Error('no poll');
    if (ok) call.resolve();
    else call.reject(new Error('HTTP 503'));
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function setup(hidden = false) {
  const timers = new FakeTimers();
  const visibility = new FakeVisibility();
  visibility.hidden = hidden;
  const polls = new Polls();
  const failures: { message: string; retryInMs: number }[] = [];
  let recoveries = 0;
  const options: PollerOptions = {
    periodMs: PERIOD_MS,
    maxBackoffMs: MAX_BACKOFF_MS,
    poll: polls.poll,
    onFailure: (error, retryInMs) => {
      failures.push({ message: error instanceof Error ? error.message : '?', retryInMs });
    },
    onRecovery: () => {
      recoveries += 1;
    },
    visibility,
    timers,
  };
  const poller = new Poller(options);
  return { poller, timers, visibility, polls, failures, recoveries: () => recoveries };
}

describe('status page poller', () => {
  it('polls at once, then once per period after each answer, never two requests in flight', async () => {
    // Prepare
    const { poller, timers, visibility, polls } = setup();

    // Act
    poller.start();
    poller.start(); // idempotent
    visibility.set(false); // a visibility event while a poll is in flight starts no second one
    const whileInFlight = timers.delays();
    await polls.settle(true);
    const afterAnswer = timers.delays();
    timers.fire();
    await polls.settle(true);

    // Assess
    expect(polls.calls).toHaveLength(2);
    expect(polls.maxInFlight).toBe(1);
    expect(whileInFlight).toEqual([]); // the next poll is timed from the answer, not the request
    expect(afterAnswer).toEqual([PERIOD_MS]);
    expect(timers.delays()).toEqual([PERIOD_MS]);
  });

  it('backs off exponentially on failures up to the cap, reports each, and returns to the period on recovery', async () => {
    // Prepare
    const { poller, timers, polls, failures, recoveries } = setup();
    poller.start();

    // Act: six failures in a row, then a success.
    for (let i = 0; i < 6; i++) {
      await polls.settle(false);
      timers.fire();
    }
    await polls.settle(true);

    // Assess
    expect(failures.map((f) => f.retryInMs)).toEqual([
      4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(failures.every((f) => f.message === 'HTTP 503')).toBe(true);
    expect(recoveries()).toBe(1);
    expect(timers.delays()).toEqual([PERIOD_MS]);
    expect(Poller.delayAfter(0, PERIOD_MS, MAX_BACKOFF_MS)).toBe(PERIOD_MS);
  });

  it('does not poll while hidden, and polls at once when shown', async () => {
    // Prepare: a page opened in a background tab.
    const { poller, timers, visibility, polls } = setup(true);

    // Act
    poller.start();
    const whileHidden = polls.calls.length;
    visibility.set(false);

    // Assess
    expect(whileHidden).toBe(0);
    expect(timers.delays()).toEqual([]);
    expect(polls.calls).toHaveLength(1);
    await polls.settle(true);
    expect(timers.delays()).toEqual([PERIOD_MS]);
  });

  it('drops the waiting timer when hidden, and after a poll that answers while hidden sets none', async () => {
    // Prepare
    const { poller, timers, visibility, polls } = setup();
    poller.start();
    await polls.settle(true);

    // Act: hidden with a timer set; shown; hidden again while that poll is in flight.
    visibility.set(true);
    const timersWhileHidden = timers.delays();
    visibility.set(false);
    const pollsWhenShown = polls.calls.length;
    visibility.set(true);
    await polls.settle(true);
    const timersAfterHiddenAnswer = timers.delays();
    visibility.set(false);

    // Assess
    expect(timersWhileHidden).toEqual([]);
    expect(pollsWhenShown).toBe(2);
    expect(timersAfterHiddenAnswer).toEqual([]);
    expect(polls.calls).toHaveLength(3);
    expect(polls.maxInFlight).toBe(1);
  });
});
