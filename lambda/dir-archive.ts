import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WarmStateError } from './errors.js';

/**
 * A key's directory as a gzip-compressed tar (the `tar` package), and back.
 * An empty directory packs to zero bytes so state-only keys pay nothing.
 */

let tarModule: Promise<typeof import('tar')> | undefined;

/**
 * `tar` is loaded the first time a non-empty directory is packed or
 * restored: keys without files (and environments that never take a
 * snapshot) do not pay its load time and memory at cold start.
 */
function loadTar(): Promise<typeof import('tar')> {
  tarModule ??= import('tar');
  return tarModule;
}

/** Cheap change detector: relative path, type, size and mtime of every entry. */
export async function dirFingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, path));
      hash.update(
        `${path}\0${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f'}\0${st.size}\0${st.mtimeMs}\n`,
      );
      if (st.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return hash.digest('hex');
}

/**
 * Pack `dir`. Stops reading as soon as the archive passes `limitBytes` and
 * throws WR_ERR_SNAPSHOT_TOO_LARGE, so a runaway directory is never held in
 * memory whole.
 */
export async function packDir(key: string, dir: string, limitBytes: number): Promise<Buffer> {
  const entries = (await readdir(dir)).sort();
  if (entries.length === 0) return Buffer.alloc(0);
  const { Pack } = await loadTar();
  const pack = new Pack({ cwd: dir, gzip: true, portable: true });
  for (const entry of entries) pack.add(entry);
  pack.end();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of pack) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    total += buf.length;
    if (total > limitBytes) {
      pack.destroy();
      throw new WarmStateError('WR_ERR_SNAPSHOT_TOO_LARGE', [key, `over ${total}`, limitBytes]);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

/** Replace `dir` with a fresh directory holding the archive's contents. */
export async function unpackDir(key: string, dir: string, archive: Buffer): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  if (archive.length === 0) return;
  const { Unpack } = await loadTar();
  await new Promise<void>((resolve, reject) => {
    const unpack = new Unpack({ cwd: dir, strict: true });
    unpack.on('error', (err: unknown) => {
      reject(
        new WarmStateError('WR_ERR_SNAPSHOT_CORRUPT', [key, `directory archive: ${String(err)}`], {
          cause: err,
        }),
      );
    });
    unpack.on('close', () => {
      resolve();
    });
    unpack.end(archive);
  });
}
