import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  StatusPollError,
  pollStatusRepeatedly,
  startStatusPoller,
  type StatusAnswer,
  type StatusGet,
} from '../../bench/lib/status-poller.js';
import { STATUS_JSON_PATH, STATUS_POLL_MS } from '../../src/status/status-document.js';

const ORIGIN = 'http://127.0.0.1:4000';
const DOCUMENT = JSON.stringify({ v: 1, series: [] });

/** A GET that answers each call from `answers` in turn (the last one repeats) and records the paths. */
function fakeGet(...answers: StatusAnswer[]): { get: StatusGet; paths: string[] } {
  const paths: string[] = [];
  const get: StatusGet = (path) => {
    paths.push(path);
    const answer = answers[Math.min(paths.length, answers.length) - 1];
    return answer === undefined ? Promise.reject(new Error('no answer')) : Promise.resolve(answer);
  };
  return { get, paths };
}

describe('startStatusPoller', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('polls /v1/status.json once at the start and then every STATUS_POLL_MS, as the open page does', async () => {
    // Prepare
    const { get, paths } = fakeGet({ status: 200, body: DOCUMENT });

    // Act
    const poller = startStatusPoller({ origin: ORIGIN, get });
    await vi.advanceTimersByTimeAsync(STATUS_POLL_MS * 3 - 1);
    const report = await poller.stop();
    await vi.advanceTimersByTimeAsync(STATUS_POLL_MS * 3);

    // Assess: at 0, 1×, 2× the interval (3× not reached), and none after stop()
    expect(paths).toEqual([STATUS_JSON_PATH, STATUS_JSON_PATH, STATUS_JSON_PATH]);
    expect(report.polls).toBe(3);
    expect(report.bytes).toBe(Buffer.byteLength(DOCUMENT));
  });

  it('stop() waits for the poll in flight, so its cost stays inside the measured run', async () => {
    // Prepare
    let answer: ((a: StatusAnswer) => void) | undefined;
    const get: StatusGet = () =>
      new Promise((resolve) => {
        answer = resolve;
      });
    const poller = startStatusPoller({ origin: ORIGIN, get });

    // Act
    let settled = false;
    const stopping = poller.stop().then((r) => {
      settled = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(0);
    const settledBeforeAnswer = settled;
    answer?.({ status: 200, body: DOCUMENT });

    // Assess
    expect(settledBeforeAnswer).toBe(false);
    await expect(stopping).resolves.toMatchObject({ polls: 1 });
  });

  it('fails the run when a poll answers other than 200, naming the URL and the status', async () => {
    // Prepare: the second poll is refused
    const { get } = fakeGet(
      { status: 200, body: DOCUMENT },
      { status: 404, body: '{"error":{"code":"WR_ERR_NOT_FOUND"}}' },
    );

    // Act
    const poller = startStatusPoller({ origin: ORIGIN, get });
    await vi.advanceTimersByTimeAsync(STATUS_POLL_MS);
    const stopped = poller.stop();

    // Assess
    await expect(stopped).rejects.toThrow(StatusPollError);
    await expect(stopped).rejects.toThrow(`GET ${ORIGIN}${STATUS_JSON_PATH} answered 404`);
  });

  it('fails the run when a 200 is not a status document, or the request itself fails', async () => {
    // Prepare
    const html = fakeGet({ status: 200, body: '<!doctype html>' });
    const wrongVersion = fakeGet({ status: 200, body: '{"v":2}' });

    // Act
    const first = startStatusPoller({ origin: ORIGIN, get: html.get }).stop();
    const second = startStatusPoller({ origin: ORIGIN, get: wrongVersion.get }).stop();
    const third = startStatusPoller({ origin: ORIGIN, get: fakeGet().get }).stop();

    // Assess
    await expect(first).rejects.toThrow('not JSON');
    await expect(second).rejects.toThrow('not a status document');
    await expect(third).rejects.toThrow('failed: no answer');
  });
});

describe('pollStatusRepeatedly', () => {
  it('sends the polls one after another, each after the last has answered', async () => {
    // Prepare: a GET that records how many are in flight at once
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const get: StatusGet = async () => {
      calls++;
      inFlight++;
      most = Math.max(most, inFlight);
      await Promise.resolve();
      inFlight--;
      return { status: 200, body: DOCUMENT };
    };

    // Act
    const report = await pollStatusRepeatedly(ORIGIN, 5, get);

    // Assess
    expect(calls).toBe(5);
    expect(most).toBe(1);
    expect(report.polls).toBe(5);
  });

  it('stops at the first poll that is not a 200 status document', async () => {
    // Prepare
    const { get, paths } = fakeGet({ status: 200, body: DOCUMENT }, { status: 503, body: 'down' });

    // Act
    const polling = pollStatusRepeatedly(ORIGIN, 5, get);

    // Assess
    await expect(polling).rejects.toThrow(`GET ${ORIGIN}${STATUS_JSON_PATH}: answered 503`);
    expect(paths).toHaveLength(2);
  });
});
