import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { distDir } from '../paths.js';

/** Where `node scripts/build.mjs` writes the status page (scripts/build-status-page.mjs). */
export const STATUS_PAGE_DIR = join(distDir, 'status-page');

/**
 * The only asset names the gateway serves, with their media types. A request
 * names one of these or gets a 404: the URL is looked up here, never joined
 * to a directory, so no spelling of `..` can reach another file.
 */
export const STATUS_ASSET_TYPES: Readonly<Record<string, string>> = Object.freeze({
  'status.js': 'text/javascript; charset=utf-8',
  'status.css': 'text/css; charset=utf-8',
});

const PAGE_FILE = 'index.html';
const PAGE_TYPE = 'text/html; charset=utf-8';

/** One file of the page, held in memory. */
export interface StatusFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong validator from the bytes: a rebuilt page gets a new one, an unchanged one keeps it. */
  readonly etag: string;
}

export type StatusAssets =
  | {
      readonly available: true;
      readonly page: StatusFile;
      /** Exactly the names of STATUS_ASSET_TYPES. */
      readonly assets: ReadonlyMap<string, StatusFile>;
    }
  | {
      readonly available: false;
      /** Why the page cannot be served, for the 503 and the start-up log; names no server path. */
      readonly reason: string;
      /** The folder that was read, for the start-up log only: a client is not told the server's paths. */
      readonly dir: string;
    };

function fileOf(body: Buffer, contentType: string): StatusFile {
  const digest = createHash('sha256').update(body).digest('base64url').slice(0, 27);
  return { body, contentType, etag: `"${digest}"` };
}

/**
 * Reads the built page once, at start-up: a request never touches the disk,
 * and a page rebuilt while the gateway runs is not half-served. A build
 * without the page (or with part of it) is reported as unavailable rather
 * than served broken; the JSON document does not depend on it.
 */
export function loadStatusAssets(dir: string = STATUS_PAGE_DIR): StatusAssets {
  const missing: string[] = [];
  const read = (name: string): Buffer | undefined => {
    try {
      return readFileSync(join(dir, name));
    } catch {
      missing.push(name);
      return undefined;
    }
  };
  const page = read(PAGE_FILE);
  const assets = new Map<string, StatusFile>();
  for (const [name, type] of Object.entries(STATUS_ASSET_TYPES)) {
    const body = read(name);
    if (body !== undefined) assets.set(name, fileOf(body, type));
  }
  if (page === undefined || missing.length > 0) {
    return {
      available: false,
      reason: `${missing.join(', ')} missing from the gateway's status page build; run npm run build`,
      dir,
    };
  }
  return { available: true, page: fileOf(page, PAGE_TYPE), assets };
}
