// A route's `binaryMediaTypes`: which bodies API Gateway REST treats as
// binary, read the way it reads the RestApi setting of that name.
//
// - Request: the body goes to the function base64-encoded
//   (`isBase64Encoded: true`) when the request's `Content-Type` matches; a
//   request without one counts as `application/json`, API Gateway's default
//   for a missing Content-Type.
// - Response: a body the function base64-encoded is decoded when the first
//   media type of the request's `Accept` header matches (only the first one
//   counts); a request without `Accept` accepts anything, so only the
//   match-all pattern `*/*` matches it.
//
// Sources:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
// https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
// (its "None (default to application/json)" rows).
//
// Patterns are `type/subtype`, `type/*` or `*/*`, compared without case and
// without parameters (`; charset=…`). A wildcard in the request's own media
// type (`Accept: image/*`) is taken literally: it matches the patterns
// `image/*` and `*/*`, not `image/png`.

/** A route's binary media types (see the comment above for the rules). */
export class BinaryMediaTypes {
  /** No binary media types: API Gateway's default, every body is text. */
  static readonly NONE = new BinaryMediaTypes([]);

  readonly #all: boolean;
  readonly #exact: ReadonlySet<string>;
  readonly #types: ReadonlySet<string>;

  /** `patterns` as the config schema accepts them (`RouteSchema.binaryMediaTypes`). */
  constructor(patterns: readonly string[]) {
    const exact = new Set<string>();
    const types = new Set<string>();
    let all = false;
    for (const raw of patterns) {
      const pattern = raw.trim().toLowerCase();
      if (pattern === '*/*') all = true;
      else if (pattern.endsWith('/*')) types.add(pattern.slice(0, -2));
      else exact.add(pattern);
    }
    this.#all = all;
    this.#exact = exact;
    this.#types = types;
  }

  /** True when a request body with this `Content-Type` is passed base64-encoded. */
  isBinaryRequest(contentType: string | undefined): boolean {
    if (this.#isEmpty()) return false;
    const mediaType = mediaTypeOf(contentType);
    return this.#matches(mediaType === '' ? 'application/json' : mediaType);
  }

  /** True when a base64 response body is decoded for a request with this `Accept`. */
  isBinaryResponse(accept: string | undefined): boolean {
    if (this.#isEmpty()) return false;
    if (accept === undefined) return this.#all;
    const comma = accept.indexOf(',');
    const mediaType = mediaTypeOf(comma === -1 ? accept : accept.slice(0, comma));
    return mediaType === '' ? this.#all : this.#matches(mediaType);
  }

  #isEmpty(): boolean {
    return !this.#all && this.#exact.size === 0 && this.#types.size === 0;
  }

  #matches(mediaType: string): boolean {
    if (this.#all || this.#exact.has(mediaType)) return true;
    const slash = mediaType.indexOf('/');
    return slash > 0 && this.#types.has(mediaType.slice(0, slash));
  }
}

/** `Image/PNG; q=0.9` → `image/png`; '' when there is none. */
function mediaTypeOf(value: string | undefined): string {
  if (value === undefined) return '';
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}
