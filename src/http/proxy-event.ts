import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { MONTH_ABBREVIATIONS } from '../clock-limits.js';
import type { BinaryMediaTypes } from './binary-media-types.js';
import { splitRequestTarget } from './request-target.js';

/**
 * HTTP request → API Gateway REST proxy event (payload format 1.0), the
 * event a Lambda proxy integration receives. Pure: plain inputs, no Fastify.
 *
 * AWS behaviours followed (the input format:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format):
 * - `headers` holds the last value of a repeated header, `multiValueHeaders`
 *   every value in order; names keep the case the client sent and are grouped
 *   case-sensitively, as REST APIs process header names.
 * - `queryStringParameters` / `multiValueQueryStringParameters` are decoded
 *   (`+` is a space, `%XX` escapes decoded), last value wins in the single
 *   map, `?flag` gives `""`, and both are `null` without a query string.
 * - `path` is the request path as received (`splitRequestTarget`: the path
 *   of an absolute-form target, no fragment): REST APIs leave it
 *   percent-encoded (HTTP APIs decode it); `pathParameters` are decoded.
 * - `body` is `null` when empty. It is base64 with `isBase64Encoded: true`
 *   when the request's Content-Type matches the route's binary media types
 *   (`binary-media-types.ts`), else the body as UTF-8 text, as API Gateway
 *   passes it.
 * Departure, so that no byte is lost: a body that is not valid UTF-8 and
 * matches no binary media type is sent base64 with `isBase64Encoded: true`.
 * API Gateway passes such a body as a "UTF8-encoded string" (the request
 * table of
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html),
 * which cannot hold those bytes: binary uploads to a REST API without
 * `binaryMediaTypes` arrive corrupted. Here a handler that honours
 * `isBase64Encoded` gets the exact bytes, and the event says which case it is.
 */

export type ProxyHeaders = Record<string, string>;
export type ProxyMultiValueHeaders = Record<string, string[]>;

export interface ProxyEventIdentity {
  cognitoIdentityPoolId: string | null;
  accountId: string | null;
  cognitoIdentityId: string | null;
  caller: string | null;
  sourceIp: string;
  principalOrgId: string | null;
  accessKey: string | null;
  cognitoAuthenticationType: string | null;
  cognitoAuthenticationProvider: string | null;
  userArn: string | null;
  userAgent: string | null;
  user: string | null;
  apiKey: string | null;
  apiKeyId: string | null;
  clientCert: null;
}

export interface ProxyEventRequestContext {
  accountId: string;
  apiId: string;
  resourceId: string;
  resourcePath: string;
  httpMethod: string;
  requestId: string;
  extendedRequestId: string;
  path: string;
  stage: string;
  protocol: string;
  requestTime: string;
  requestTimeEpoch: number;
  identity: ProxyEventIdentity;
  domainName: string;
  domainPrefix: string;
}

/** The subset of `APIGatewayProxyEvent` (aws-lambda types) that REST sends without authorizer. */
export interface APIGatewayProxyEvent {
  resource: string;
  path: string;
  httpMethod: string;
  headers: ProxyHeaders;
  multiValueHeaders: ProxyMultiValueHeaders;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: Record<string, string> | null;
  stageVariables: null;
  requestContext: ProxyEventRequestContext;
  body: string | null;
  isBase64Encoded: boolean;
}

export interface HttpRequestLike {
  /** e.g. `GET`. */
  method: string;
  /** Raw request target incl. query string, e.g. `/api/a%20b?x=1&x=2&y`. */
  url: string;
  /** Node's `IncomingMessage.rawHeaders`: alternating name, value; keeps duplicates and case. */
  rawHeaders: readonly string[];
  body: Buffer | undefined;
  sourceIp: string;
  requestId: string;
  /** Epoch milliseconds. */
  receivedAt: number;
}

export interface ProxyEventContext {
  stage: string;
  /** The matched template, e.g. `/{proxy+}`. */
  resource: string;
  /** From `PathTemplate.match`; an empty object is sent as `null`, like API Gateway. */
  pathParameters: Record<string, string> | null;
  accountId?: string;
  apiId?: string;
  /** Default `HTTP/1.1`. */
  protocol?: string;
  /** Default: the request's Host header, else `localhost`. */
  domainName?: string;
  /** The route's binary media types; `BinaryMediaTypes.NONE` is API Gateway's default. */
  binaryMediaTypes: BinaryMediaTypes;
}

const DEFAULT_ACCOUNT_ID = '123456789012';
const DEFAULT_API_ID = 'warmroute';

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `$context.requestTime`: CLF format, `09/Apr/2015:12:34:56 +0000`. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad2(d.getUTCDate())}/${MONTH_ABBREVIATIONS[d.getUTCMonth()] ?? 'Jan'}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

// Resources come from configuration, so this stays as small as the route table.
const resourceIds = new Map<string, string>();
const MAX_RESOURCE_IDS = 1024;

/** A stable stand-in for API Gateway's generated resource id (10 lowercase alphanumerics). */
function resourceIdFor(resource: string): string {
  let id = resourceIds.get(resource);
  if (id === undefined) {
    id = BigInt('0x' + createHash('sha256').update(resource).digest('hex').slice(0, 16))
      .toString(36)
      .padStart(10, '0')
      .slice(0, 10);
    if (resourceIds.size >= MAX_RESOURCE_IDS) resourceIds.clear();
    resourceIds.set(resource, id);
  }
  return id;
}

function encodeBody(
  body: Buffer | undefined,
  contentType: string | undefined,
  binaryMediaTypes: BinaryMediaTypes,
): { body: string | null; isBase64Encoded: boolean } {
  if (body === undefined || body.length === 0) return { body: null, isBase64Encoded: false };
  if (!binaryMediaTypes.isBinaryRequest(contentType) && isUtf8(body)) {
    return { body: body.toString('utf8'), isBase64Encoded: false };
  }
  return { body: body.toString('base64'), isBase64Encoded: true };
}

function decodeQueryComponent(raw: string): string {
  const spaced = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A malformed escape is passed through as sent rather than failing the request.
    return spaced;
  }
}

interface ParsedQuery {
  single: Record<string, string> | null;
  multi: Record<string, string[]> | null;
}

const NO_QUERY: ParsedQuery = { single: null, multi: null };

function parseQuery(query: string): ParsedQuery {
  if (query === '') return NO_QUERY;
  // Null-prototype maps: a parameter named `__proto__` is data, not a prototype.
  const single = Object.create(null) as Record<string, string>;
  const multi = Object.create(null) as Record<string, string[]>;
  let any = false;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      const eq = query.indexOf('=', start);
      const hasValue = eq !== -1 && eq < end;
      const key = decodeQueryComponent(query.slice(start, hasValue ? eq : end));
      if (key !== '') {
        const value = hasValue ? decodeQueryComponent(query.slice(eq + 1, end)) : '';
        single[key] = value;
        const values = multi[key];
        if (values === undefined) multi[key] = [value];
        else values.push(value);
        any = true;
      }
    }
    start = end + 1;
  }
  return any ? { single, multi } : NO_QUERY;
}

function hasKeys(record: Record<string, string>): boolean {
  // for…in stops at the first key; Object.keys would build an array per request.
  for (const key in record) if (Object.hasOwn(record, key)) return true;
  return false;
}

export function buildProxyEvent(
  req: HttpRequestLike,
  ctx: ProxyEventContext,
): APIGatewayProxyEvent {
  // One pass over rawHeaders builds both maps and picks the few headers the
  // event itself needs (matched case-insensitively, last value wins).
  const raw = req.rawHeaders;
  const headers = Object.create(null) as ProxyHeaders;
  const multiValueHeaders = Object.create(null) as ProxyMultiValueHeaders;
  let contentType: string | undefined;
  let userAgent: string | null = null;
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    headers[name] = value;
    const values = multiValueHeaders[name];
    if (values === undefined) multiValueHeaders[name] = [value];
    else values.push(value);
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') host = value;
        break;
      case 10:
        if (name.toLowerCase() === 'user-agent') userAgent = value;
        break;
      case 12:
        if (name.toLowerCase() === 'content-type') contentType = value;
        break;
    }
  }

  const { path, query } = splitRequestTarget(req.url);
  const parsedQuery = parseQuery(query);

  const pathParameters =
    ctx.pathParameters !== null && hasKeys(ctx.pathParameters) ? ctx.pathParameters : null;

  const { body, isBase64Encoded } = encodeBody(req.body, contentType, ctx.binaryMediaTypes);
  const domainName = ctx.domainName ?? host ?? 'localhost';
  const dot = domainName.indexOf('.');

  return {
    resource: ctx.resource,
    path,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: parsedQuery.single,
    multiValueQueryStringParameters: parsedQuery.multi,
    pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: ctx.accountId ?? DEFAULT_ACCOUNT_ID,
      apiId: ctx.apiId ?? DEFAULT_API_ID,
      resourceId: resourceIdFor(ctx.resource),
      resourcePath: ctx.resource,
      httpMethod: req.method,
      requestId: req.requestId,
      extendedRequestId: req.requestId,
      path: `/${ctx.stage}${path}`,
      stage: ctx.stage,
      protocol: ctx.protocol ?? 'HTTP/1.1',
      requestTime: formatRequestTime(req.receivedAt),
      requestTimeEpoch: req.receivedAt,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp: req.sourceIp,
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent,
        user: null,
        apiKey: null,
        apiKeyId: null,
        clientCert: null,
      },
      domainName,
      domainPrefix: dot === -1 ? domainName : domainName.slice(0, dot),
    },
    body,
    isBase64Encoded,
  };
}

/** The Invoke payload: the event as UTF-8 JSON bytes. */
export function serializeProxyEvent(event: APIGatewayProxyEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}
