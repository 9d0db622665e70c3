import type { Socket } from 'node:net';
import { MAX_RESPONSE_BYTES, RESPONSE_TOO_LARGE } from './runtime-protocol.js';
import type { RuntimeApi, RuntimeEvent, RuntimeListener } from './runtime-api.js';
import { encodeFrame, FrameReader, FrameType, type Frame } from './runtime-frames.js';

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

/**
 * The private channel of warmroute's own bootstrap (the child's fd 3): the
 * Runtime API's `next`, `response`, `error` and `init/error` as frames on one
 * socket. Per invocation that is one write each way (the result and the
 * following `next` travel together) instead of two HTTP exchanges, each with
 * its headers to write and parse on both sides. The HTTP Runtime API stays
 * up beside it for any other runtime, and for functions that talk to it; a
 * result is accepted once whichever way it comes (`RuntimeApi.claim`).
 */
export class RuntimeChannel {
  private parked = false;
  private closed = false;
  private readonly reader: FrameReader;

  constructor(
    private readonly socket: Socket,
    private readonly api: RuntimeApi,
    private readonly listener: RuntimeListener,
  ) {
    this.reader = new FrameReader(
      MAX_RESPONSE_BYTES,
      (frame) => {
        try {
          this.onFrame(frame);
        } catch (err) {
          this.listener.onProblem?.(err, 'runtime channel frame failed');
        }
      },
      (reason) => {
        // A runtime that writes garbage here loses the channel; the
        // invocation then ends through its exit or timeout.
        this.listener.onProblem?.(new Error(reason), 'runtime channel closed');
        this.close();
      },
    );
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
    });
    socket.on('error', (err) => {
      this.listener.onProblem?.(err, 'runtime channel failed');
    });
    socket.on('close', () => {
      this.closed = true;
      this.parked = false;
    });
  }

  /** True while the runtime waits for an invocation here: `deliver` may send one. */
  get waiting(): boolean {
    return this.parked && !this.closed;
  }

  /** Sends an invocation to the waiting runtime; false if it is not waiting. */
  deliver(event: RuntimeEvent): boolean {
    if (!this.waiting) return false;
    this.parked = false;
    this.send(event);
    return true;
  }

  close(): void {
    this.closed = true;
    this.parked = false;
    this.socket.destroy();
  }

  private send(event: RuntimeEvent): void {
    this.api.expect(event.requestId);
    this.socket.write(encodeFrame(FrameType.invoke, { headers: event.headers }, event.payload));
  }

  private onFrame(frame: Frame): void {
    const { meta } = frame;
    switch (frame.type) {
      case FrameType.next: {
        const event = this.listener.onNext();
        if (event === undefined) this.parked = true;
        else this.send(event);
        return;
      }
      case FrameType.response:
      case FrameType.error: {
        const requestId = str(meta.id, '');
        const claim = this.api.claim(requestId);
        if (claim !== 'ok') {
          // The HTTP Runtime API answers this with a 4xx; here only the log can say it.
          this.listener.onProblem?.(
            new Error(`result for a ${claim} request id`),
            'runtime channel result ignored',
          );
          return;
        }
        const mem = num(meta.mem);
        if (frame.payload === undefined) {
          this.listener.onError(
            requestId,
            RESPONSE_TOO_LARGE.body,
            RESPONSE_TOO_LARGE.errorType,
            mem,
          );
        } else if (frame.type === FrameType.response) {
          this.listener.onResponse(requestId, frame.payload, mem);
        } else {
          this.listener.onError(requestId, frame.payload, str(meta.type, 'Unhandled'), mem);
        }
        return;
      }
      case FrameType.initError:
        this.listener.onInitError(
          frame.payload ?? Buffer.from('{}'),
          str(meta.type, 'Runtime.Unknown'),
        );
        return;
      default:
        this.listener.onProblem?.(
          new Error(`unknown frame type ${frame.type}`),
          'runtime channel frame ignored',
        );
    }
  }
}
