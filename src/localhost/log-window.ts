import { END_OF_INVOCATION } from './runtime-protocol.js';

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

/**
 * Splits one output stream of an environment at the bootstrap's
 * end-of-invocation markers, even when a marker straddles two chunks.
 */
export class MarkerSplitter {
  private pending = '';

  constructor(
    private readonly onText: (text: string) => void,
    private readonly onMarker: () => void,
  ) {}

  push(chunk: string): void {
    let s = this.pending === '' ? chunk : this.pending + chunk;
    this.pending = '';
    for (let i = s.indexOf(END_OF_INVOCATION); i >= 0; i = s.indexOf(END_OF_INVOCATION)) {
      if (i > 0) this.onText(s.slice(0, i));
      this.onMarker();
      s = s.slice(i + END_OF_INVOCATION.length);
    }
    // Hold back a trailing partial marker (it starts with NUL, which text never has).
    const nul = s.lastIndexOf('\u0000');
    if (
      nul >= 0 &&
      nul > s.length - END_OF_INVOCATION.length &&
      END_OF_INVOCATION.startsWith(s.slice(nul))
    ) {
      this.pending = s.slice(nul);
      s = s.slice(0, nul);
    }
    if (s !== '') this.onText(s);
  }

  /** Whatever is held back (the stream ended). */
  flush(): void {
    if (this.pending !== '') this.onText(this.pending);
    this.pending = '';
  }
}
