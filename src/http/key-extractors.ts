import type { FastifyRequest } from 'fastify';
import '@fastify/cookie';
import type { RouteConfig } from '../config/schema.js';

/**
 * Where a route finds its affinity key. Each extractor returns the raw key
 * or undefined; validation (length, control characters) happens once, later,
 * in one place. A key is never taken from a tenant header: clients cannot
 * choose their tenant.
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
        return Array.isArray(value) ? value[0] : value;
      },
    };
  }
  switch (source.from) {
    case 'cookie': {
      const name = source.name;
      return {
        describe: `cookie ${name}`,
        // request.cookies is filled by @fastify/cookie, registered in buildApp.
        extractor: (request) => request.cookies[name],
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
          try {
            return readJsonField(JSON.parse(body.toString('utf8')), path);
          } catch {
            return undefined;
          }
        },
      };
    }
  }
}
