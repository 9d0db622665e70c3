import { WarmrouteError } from '../errors.js';
import type { BinaryMediaTypes } from './binary-media-types.js';

/**
 * A Lambda proxy result (API Gateway REST, payload format 1.0) → the HTTP
 * response to send. Pure: bytes in, status/headers/body out.
 *
 * Rules, as REST APIs apply them (the output format:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format,
 * and what API Gateway calls malformed:
 * https://aws.amazon.com/premiumsupport/knowledge-center/malformed-502-api-gateway/):
 * - The payload must be a JSON object whose keys are among `statusCode`,
 *   `headers`, `multiValueHeaders`, `body`, `isBase64Encoded` (plus the
 *   `base64Encoded` alias REST reads first, and `cookies`, a v2 field that is
 *   ignored here); anything else is "Malformed Lambda proxy response" → 502.
 * - `statusCode` defaults to 200 when absent (REST; HTTP APIs require it);
 *   an integer or integer string, 200–599 (an interim 1xx is no result).
 * - `body` must be a string or absent/null (an object body is malformed).
 * - A base64 body (`isBase64Encoded` true or `"true"`) is decoded only when
 *   the first media type of the request's `Accept` matches the route's binary
 *   media types (`binary-media-types.ts`); otherwise the base64 text itself
 *   is the response body, as API Gateway sends it:
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html
 * - `headers` and `multiValueHeaders` are merged: all multi values first,
 *   then a single value is added unless the same name/value pair is already
 *   there ("only the values from multiValueHeaders" appear for it).
 * - No `Content-Type`, or an empty one (`""`, which names no type) →
 *   `application/json`, API Gateway's default; a Content-Type given as
 *   `null` (a function's way to send none, e.g. for a 204) leaves it out: https://github.com/aws/aws-sam-cli/issues/1218,
 *   https://github.com/localstack/localstack/pull/6170.
 * Beyond API Gateway: hop-by-hop headers and `content-length` are dropped
 * (this server frames the response itself), and header names/values Node
 * would refuse to write are reported as a malformed result instead of
 * crashing the response.
 */

/** What of the request decides how its response body is read. */
export interface ProxyResultContext {
  /** The request's `Accept` header, if any. */
  readonly accept: string | undefined;
  /** The route's binary media types; `BinaryMediaTypes.NONE` is API Gateway's default. */
  readonly binaryMediaTypes: BinaryMediaTypes;
}

/** API Gateway REST's Content-Type for a proxy result that names none. */
const DEFAULT_CONTENT_TYPE = 'application/json';

export interface HttpResponseLike {
  statusCode: number;
  /**
   * Lower-case names; a string for one value, an array for several.
   * `content-type` is absent only when the function sent it as `null`.
   */
  headers: Record<string, string | string[]>;
  body: Buffer;
}

const ALLOWED_KEYS = new Set([
  'statusCode',
  'headers',
  'multiValueHeaders',
  'body',
  'isBase64Encoded',
  'base64Encoded',
  'cookies',
]);

/** Hop-by-hop (RFC 9110 §7.6.1) plus content-length, which the server recomputes. */
const STRIPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

// Same rules as Node's http validateHeaderName / validateHeaderValue.
const HEADER_NAME = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const EMPTY = Buffer.alloc(0);

function malformed(reason: string): WarmrouteError {
  return new WarmrouteError('WR_ERR_BACKEND', [
    `function returned an invalid proxy result: ${reason}`,
  ]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseStatusCode(value: unknown): number {
  if (value === undefined || value === null) return 200;
  let code: number;
  if (typeof value === 'number') code = value;
  else if (typeof value === 'string' && /^\s*\d{1,3}\s*$/.test(value)) code = Number(value);
  else throw malformed(`statusCode must be an integer, got ${describe(value)}`);
  // 1xx are interim answers, not a result: written as a final response they
  // leave the client waiting for another (undici: "bad response").
  if (!Number.isInteger(code) || code < 200 || code > 599) {
    throw malformed(`statusCode must be an integer from 200 to 599, got ${describe(value)}`);
  }
  return code;
}

function parseBase64Flag(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'True') return true;
  if (value === 'false' || value === 'False') return false;
  throw malformed(`${field} must be a boolean, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a value of type ${typeof value}`;
}

/** A header value as API Gateway's JSON mapping reads it; null/undefined mean "no value". */
function headerValue(name: string, value: unknown, field: string): string | undefined {
  if (typeof value === 'string') {
    if (INVALID_HEADER_VALUE.test(value))
      throw malformed(`${field}.${name} contains characters not allowed in a header`);
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return undefined;
  throw malformed(`${field}.${name} must be a string, got ${describe(value)}`);
}

function checkName(name: string, field: string): string {
  if (!HEADER_NAME.test(name))
    throw malformed(`${field} has an invalid header name ${describe(name)}`);
  return name.toLowerCase();
}

function addValue(out: Record<string, string | string[]>, lower: string, value: string): void {
  const existing = out[lower];
  if (existing === undefined) out[lower] = value;
  else if (typeof existing === 'string') out[lower] = [existing, value];
  else existing.push(value);
}

function hasValue(out: Record<string, string | string[]>, lower: string, value: string): boolean {
  const existing = out[lower];
  if (existing === undefined) return false;
  return typeof existing === 'string' ? existing === value : existing.includes(value);
}

function mergeHeaders(single: unknown, multi: unknown): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  if (multi !== undefined && multi !== null) {
    if (!isPlainObject(multi))
      throw malformed(`multiValueHeaders must be an object, got ${describe(multi)}`);
    for (const name in multi) {
      const values = multi[name];
      if (values === null || values === undefined) continue;
      // A plain string here is what API Gateway rejects as malformed (bref#534).
      if (!Array.isArray(values))
        throw malformed(`multiValueHeaders.${name} must be an array, got ${describe(values)}`);
      const lower = checkName(name, 'multiValueHeaders');
      for (const item of values as unknown[]) {
        const value = headerValue(name, item, 'multiValueHeaders');
        if (value !== undefined) addValue(out, lower, value);
      }
    }
  }
  if (single !== undefined && single !== null) {
    if (!isPlainObject(single))
      throw malformed(`headers must be an object, got ${describe(single)}`);
    for (const name in single) {
      const value = headerValue(name, single[name], 'headers');
      if (value === undefined) continue;
      const lower = checkName(name, 'headers');
      if (!hasValue(out, lower, value)) addValue(out, lower, value);
    }
  }
  return out;
}

function stripHopByHop(headers: Record<string, string | string[]>): void {
  // Headers a `Connection` header names are hop-by-hop too.
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const line of typeof connection === 'string' ? [connection] : connection) {
      for (const token of line.split(',')) {
        const name = token.trim().toLowerCase();
        if (name !== '') Reflect.deleteProperty(headers, name);
      }
    }
  }
  for (const name of STRIPPED_HEADERS) {
    if (name in headers) Reflect.deleteProperty(headers, name);
  }
}

/**
 * True when the function names Content-Type with no value: `null` in
 * `headers`, `null` or a list of nulls (or none) in `multiValueHeaders`.
 */
function contentTypeCleared(single: unknown, multi: unknown): boolean {
  for (const map of [single, multi]) {
    if (!isPlainObject(map)) continue;
    for (const name in map) {
      if (name.length !== 12 || name.toLowerCase() !== 'content-type') continue;
      const value = map[name];
      if (value === null || (Array.isArray(value) && value.every((v) => v === null))) return true;
    }
  }
  return false;
}

/**
 * An empty (or blank) Content-Type names no media type, and Fastify would
 * send such a body as application/octet-stream: it counts as not set, so
 * API Gateway's default applies. `null` stays the one way to send none.
 */
function dropEmptyContentType(headers: Record<string, string | string[]>): void {
  const value = headers['content-type'];
  if (value === undefined) return;
  const values = typeof value === 'string' ? [value] : value;
  const kept = values.filter((v) => v.trim() !== '');
  if (kept.length === values.length) return;
  if (kept.length === 0) Reflect.deleteProperty(headers, 'content-type');
  else headers['content-type'] = kept.length === 1 ? (kept[0] as string) : kept;
}

function decodeBody(body: unknown, base64: boolean): Buffer {
  if (body === undefined || body === null) return EMPTY;
  if (typeof body !== 'string') throw malformed(`body must be a string, got ${describe(body)}`);
  if (body.length === 0) return EMPTY;
  if (!base64) return Buffer.from(body, 'utf8');
  // Buffer's decoder silently skips characters outside the alphabet, so a
  // decoded length short of what the text length promises means garbage (or
  // line breaks). That check costs nothing extra on the common path; only
  // then is the text scanned. A body that is not base64 is a function bug
  // worth a 502, not a corrupted download.
  const decoded = Buffer.from(body, 'base64');
  if (decoded.length === expectedBase64Length(body)) return decoded;
  const compact = body.replace(/\s+/g, '');
  if (compact.length % 4 === 1 || !BASE64.test(compact)) {
    throw malformed('isBase64Encoded is true but body is not valid base64');
  }
  return Buffer.from(compact, 'base64');
}

function expectedBase64Length(text: string): number {
  let length = text.length;
  if (text.endsWith('==')) length -= 2;
  else if (text.endsWith('=')) length -= 1;
  // One character past a full quantum cannot encode a byte: never valid.
  if (length % 4 === 1) return -1;
  return Math.floor((length * 3) / 4);
}

export function parseProxyResult(
  payload: Uint8Array,
  request: ProxyResultContext,
): HttpResponseLike {
  const bytes = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw malformed('not valid JSON');
  }
  if (!isPlainObject(parsed)) throw malformed(`expected a JSON object, got ${describe(parsed)}`);

  for (const key in parsed) {
    if (!ALLOWED_KEYS.has(key)) throw malformed(`unknown field ${JSON.stringify(key)}`);
  }

  const statusCode = parseStatusCode(parsed.statusCode);
  // REST reads `base64Encoded` first when present, then `isBase64Encoded`.
  const base64 =
    parsed.base64Encoded !== undefined && parsed.base64Encoded !== null
      ? parseBase64Flag(parsed.base64Encoded, 'base64Encoded')
      : parseBase64Flag(parsed.isBase64Encoded, 'isBase64Encoded');
  const headers = mergeHeaders(parsed.headers, parsed.multiValueHeaders);
  stripHopByHop(headers);
  dropEmptyContentType(headers);
  if (
    headers['content-type'] === undefined &&
    !contentTypeCleared(parsed.headers, parsed.multiValueHeaders)
  ) {
    headers['content-type'] = DEFAULT_CONTENT_TYPE;
  }
  const body = decodeBody(
    parsed.body,
    base64 && request.binaryMediaTypes.isBinaryResponse(request.accept),
  );
  // 204 and 304 have no body by definition (RFC 9110 §15.3.5, §15.4.5): one
  // sent anyway would be read as the start of the next response.
  return { statusCode, headers, body: statusCode === 204 || statusCode === 304 ? EMPTY : body };
}
