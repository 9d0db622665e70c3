/**
 * Frames of the private channel between the local host and warmroute's own
 * bootstrap: one socket (the child's fd 3) instead of two HTTP exchanges
 * per invocation on the Runtime API. Kept dependency-free: the bootstrap
 * imports it at every cold start.
 *
 * A frame is `u32 length` (big-endian, of what follows), `u8 type`,
 * `u32 metaLength`, `meta` (UTF-8 JSON), `payload` (raw bytes).
 */

/** Environment variable naming the channel's file descriptor in the environment. */
export const RUNTIME_FD_ENV = '_WARMROUTE_RUNTIME_FD';
/**
 * Set to `merged` when the environment's stdout and stderr are one socket:
 * the bootstrap then writes its end-of-invocation marker once.
 */
export const OUTPUT_ENV = '_WARMROUTE_OUTPUT';
/** The channel is the child's fourth stdio entry. */
export const RUNTIME_FD = 3;

export const FrameType = {
  /** host → runtime: an invocation. Meta `{ headers }` (the Runtime API's `Lambda-Runtime-*` headers); payload the event. */
  invoke: 0x49,
  /** runtime → host: ready for the next invocation (the first one ends init). Meta `{}`. */
  next: 0x4e,
  /** runtime → host: a result. Meta `{ id, mem }` (mem: peak RSS in MB as the runtime sees it); payload the result JSON. */
  response: 0x52,
  /** runtime → host: a function error. Meta `{ id, type, mem }`; payload the error JSON. */
  error: 0x45,
  /** runtime → host: init failed. Meta `{ type }`; payload the error JSON. */
  initError: 0x58,
} as const;

const HEADER_BYTES = 9;
/** Meta is a few hundred bytes; more is a broken or hostile peer. */
const MAX_META_BYTES = 64 * 1024;

export function encodeFrame(type: number, meta: unknown, payload?: Buffer | string): Buffer {
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const payloadBytes =
    payload === undefined
      ? undefined
      : typeof payload === 'string'
        ? Buffer.from(payload, 'utf8')
        : payload;
  const payloadLength = payloadBytes?.length ?? 0;
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head.writeUInt32BE(5 + metaBytes.length + payloadLength, 0);
  head.writeUInt8(type, 4);
  head.writeUInt32BE(metaBytes.length, 5);
  return payloadBytes === undefined
    ? Buffer.concat([head, metaBytes])
    : Buffer.concat(
        [head, metaBytes, payloadBytes],
        HEADER_BYTES + metaBytes.length + payloadLength,
      );
}

export interface Frame {
  readonly type: number;
  readonly meta: Record<string, unknown>;
  /** Undefined when it was larger than the reader's payload limit (its bytes were skipped). */
  readonly payload: Buffer | undefined;
}

/**
 * Reassembles frames from a byte stream, whatever the chunking. A payload
 * over `maxPayload` is skipped as it streams in, never held: its frame is
 * still reported (with its meta) so the result can fail as too large.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of an oversized payload still to skip. */
  private skipping = 0;

  constructor(
    private readonly maxPayload: number,
    private readonly onFrame: (frame: Frame) => void,
    private readonly onInvalid: (reason: string) => void,
  ) {}

  private failed = false;

  push(chunk: Buffer): void {
    if (this.failed) return;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, chunk.length);
      this.skipping -= n;
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < HEADER_BYTES) return;
      const head = this.peek(HEADER_BYTES);
      const length = head.readUInt32BE(0);
      const type = head.readUInt8(4);
      const metaLength = head.readUInt32BE(5);
      if (metaLength > MAX_META_BYTES || metaLength > length - 5) {
        this.fail(`bad frame: meta of ${metaLength} bytes in a frame of ${length}`);
        return;
      }
      const payloadLength = length - 5 - metaLength;
      const oversized = payloadLength > this.maxPayload;
      const need = HEADER_BYTES + metaLength + (oversized ? 0 : payloadLength);
      if (this.buffered < need) return;
      const bytes = this.take(need);
      let meta: unknown;
      try {
        meta = JSON.parse(bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + metaLength));
      } catch {
        this.fail('bad frame: meta is not JSON');
        return;
      }
      if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
        this.fail('bad frame: meta is not an object');
        return;
      }
      if (oversized) {
        const have = Math.min(this.buffered, payloadLength);
        this.take(have);
        this.skipping = payloadLength - have;
      }
      this.onFrame({
        type,
        meta: meta as Record<string, unknown>,
        payload: oversized ? undefined : bytes.subarray(HEADER_BYTES + metaLength),
      });
      if (this.skipping > 0) return;
    }
  }

  private fail(reason: string): void {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.onInvalid(reason);
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first;
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }

  private take(n: number): Buffer {
    const all = this.peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length === 0 ? [] : [rest];
    this.buffered -= n;
    return out;
  }
}
