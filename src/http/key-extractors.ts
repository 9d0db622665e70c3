import type { FastifyRequest } from 'fastify';
import type { RouteConfig } from '../config/schema.js';
import { WarmrouteError } from '../errors.js';
import { headerText, percentDecodedText } from './http-text.js';

/**
 * Where a route finds its affinity key. Each extractor returns the key as
 * text (HTTP bytes read as UTF-8, percent-escapes decoded) or undefined;
 * normalisation and validation happen once, later, in one place
 * (`readValidKey`, rules in src/directory/validate-key.ts). A key is never
 * taken from a tenant header: clients cannot choose their tenant.
 */
export type KeyExtractor = (
  request: FastifyRequest,
  pathParameters: Record<string, string> | null,
) => string | undefined;

export interface KeyExtractorSpec {
  readonly extractor: KeyExtractor;
  /** How to tell the client where the key was expected. */
  readonly describe: string;
}

function refuseRepeated(rawHeaders: readonly string[], name: string): void {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name && ++seen > 1) {
      throw new WarmrouteError('WR_ERR_KEY_INVALID', [`more than one ${name} header`]);
    }
  }
}

/**
 * The raw value of the first cookie called `name` in a Cookie header
 * (RFC 6265 §5.4: `name=value` pairs split on `;`, spaces around them
 * ignored, one pair of double quotes around a value removed), as the
 * `cookie` package parses it; percent-escapes are left to the caller.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
      ? value.slice(1, -1)
      : value;
  }
  return undefined;
}

function readJsonField(body: unknown, path: readonly string[]): string | undefined {
  let value: unknown = body;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

export function createKeyExtractor(
  source: RouteConfig['key'],
  defaultHeader: string,
): KeyExtractorSpec {
  if (source === undefined || source.from === 'header') {
    const name = (source?.name ?? defaultHeader).toLowerCase();
    return {
      describe: `header ${name}`,
      extractor: (request) => {
        const value = request.headers[name];
        // Node joins repeated headers with ", ": two key headers would read as
        // one key "a, b". Only such a value costs a look at the raw headers.
        if (typeof value === 'string' && value.includes(', ')) {
          refuseRepeated(request.raw.rawHeaders, name);
        }
        return headerText(Array.isArray(value) ? value[0] : value, `header ${name}`);
      },
    };
  }
  switch (source.from) {
    case 'cookie': {
      const name = source.name;
      return {
        describe: `cookie ${name}`,
        // Read here rather than by a cookie parser, whose decoding would
        // take the header's UTF-8 bytes for Latin-1 characters.
        extractor: (request) => {
          const raw = cookieValue(request.headers.cookie, name);
          return raw === undefined ? undefined : percentDecodedText(raw, `cookie ${name}`);
        },
      };
    }
    case 'path': {
      const name = source.name;
      return {
        describe: `path parameter {${name}}`,
        extractor: (_request, pathParameters) => pathParameters?.[name],
      };
    }
    case 'json': {
      const path = source.name.split('.');
      return {
        describe: `JSON body field ${source.name}`,
        extractor: (request) => {
          const body = request.body;
          if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
          let parsed: unknown;
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch (err) {
            // Not "no key": the body the key was to come from is broken, as on the RPC route.
            throw new WarmrouteError('WR_ERR_INVALID_JSON', [(err as Error).message]);
          }
          return readJsonField(parsed, path);
        },
      };
    }
  }
}
