/**
 * What the request path reads of a caller's cancellation. An `AbortSignal`
 * satisfies it (the SDK's embedded transport passes one); the HTTP routes
 * pass a `ClientGoneSignal`, which costs nothing until something listens.
 * Listeners fire at most once, so `{ once: true }` is implied.
 */
export type CancelListener = ((event: Event) => void) | { handleEvent(event: Event): void };

export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: CancelListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: CancelListener): void;
}
