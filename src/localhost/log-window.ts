import { BACKGROUND_OUTPUT, END_OF_INVOCATION, START_OF_INVOCATION } from './runtime-protocol.js';

/** X-Amz-Log-Result carries at most the last 4 KB of an invocation's log. */
export const LOG_TAIL_BYTES = 4096;

/**
 * The log of one invocation, bounded: only its tail is ever returned, so
 * older text is dropped as new text arrives.
 */
export class LogWindow {
  private parts: string[] = [];
  private chars = 0;

  append(text: string): void {
    if (text === '') return;
    this.parts.push(text);
    this.chars += text.length;
    // A character is at least one byte: 4,096 characters cover the 4 KB tail.
    if (this.chars > 4 * LOG_TAIL_BYTES) {
      const joined = this.parts.join('').slice(-LOG_TAIL_BYTES);
      this.parts = [joined];
      this.chars = joined.length;
    }
  }

  text(): string {
    return this.parts.join('');
  }

  /** Base64 of the last 4 KB (bytes, as Lambda cuts them). */
  tailBase64(): string {
    const bytes = Buffer.from(this.text(), 'utf8');
    return (
      bytes.length > LOG_TAIL_BYTES ? bytes.subarray(bytes.length - LOG_TAIL_BYTES) : bytes
    ).toString('base64');
  }
}

export type MarkerKind = 'end' | 'background' | 'start';

const MARKERS: readonly (readonly [string, MarkerKind])[] = [
  [END_OF_INVOCATION, 'end'],
  [BACKGROUND_OUTPUT, 'background'],
  [START_OF_INVOCATION, 'start'],
];

/**
 * Splits one output stream of an environment at the bootstrap's markers
 * (end of invocation, background output, start of invocation), even when a
 * marker straddles two chunks.
 */
export class MarkerSplitter {
  private pending = '';

  constructor(
    private readonly onText: (text: string) => void,
    private readonly onMarker: (kind: MarkerKind) => void,
  ) {}

  push(chunk: string): void {
    let s = this.pending === '' ? chunk : this.pending + chunk;
    this.pending = '';
    // Every marker starts with NUL, which function output never has.
    for (let from = s.indexOf('\u0000'); from >= 0; from = s.indexOf('\u0000', from + 1)) {
      const found = MARKERS.find(([marker]) => s.startsWith(marker, from));
      if (found === undefined) {
        // Hold back a trailing partial marker.
        const rest = s.slice(from);
        if (MARKERS.some(([marker]) => rest.length < marker.length && marker.startsWith(rest))) {
          this.pending = rest;
          s = s.slice(0, from);
          break;
        }
        continue;
      }
      if (from > 0) this.onText(s.slice(0, from));
      this.onMarker(found[1]);
      s = s.slice(from + found[0].length);
      from = -1;
    }
    if (s !== '') this.onText(s);
  }

  /** Whatever is held back (the stream ended). */
  flush(): void {
    if (this.pending !== '') this.onText(this.pending);
    this.pending = '';
  }
}
