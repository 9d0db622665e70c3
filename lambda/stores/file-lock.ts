import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { WarmStateError } from '../errors.js';
import { KeyedMutex } from '../keyed-mutex.js';

export interface FileLockOptions {
  /** A lock whose owner is gone, or older than this, may be broken. */
  readonly staleMs: number;
  /** Give up acquiring after this long. */
  readonly timeoutMs: number;
}

const HOST = hostname();

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errno(err) === 'EPERM';
  }
}

/**
 * A lock file is stale when its owner (same host) no longer runs, or when it
 * is older than `staleMs` (owner on another host, or a recycled pid). A lock
 * still being written (empty content) is judged by age alone.
 */
async function isStale(path: string, staleMs: number): Promise<boolean | undefined> {
  let content: string;
  let mtimeMs: number;
  try {
    [content, { mtimeMs }] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined; // gone: just retry
    throw err;
  }
  const [pid, host] = content.split('\n');
  if (host === HOST && pid !== undefined && /^\d+$/.test(pid) && !pidAlive(Number(pid)))
    return true;
  return Date.now() - mtimeMs > staleMs;
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(token);
  } finally {
    await fh.close();
  }
  return true;
}

async function unlinkIfOwned(path: string, token: string): Promise<void> {
  try {
    if ((await readFile(path, 'utf8')) === token) await unlink(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

/**
 * Break a stale lock. Breakers are serialised by a second lock (`.break`), and
 * the lock is re-judged under it: only its (dead) owner or a breaker ever
 * unlinks the lock, so between that re-check and the unlink nobody can have
 * replaced it. A breaker that dies inside this tiny section leaves a stale
 * `.break`, removed the same way (that last step is the only unserialised one).
 */
async function breakStaleLock(path: string, token: string, staleMs: number): Promise<void> {
  const breakPath = `${path}.break`;
  if (!(await tryCreate(breakPath, token))) {
    if ((await isStale(breakPath, staleMs)) === true) {
      try {
        await unlink(breakPath);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
    }
    return;
  }
  try {
    if ((await isStale(path, staleMs)) === true) {
      try {
        await unlink(path);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
    }
  } finally {
    await unlinkIfOwned(breakPath, token);
  }
}

/** One process's own writers queue here instead of polling the lock file. */
const localQueue = new KeyedMutex();

/**
 * Run `fn` holding an exclusive lock on `path` across processes: the lock is
 * a file created with O_EXCL holding `pid\nhost\ntoken`. Waiters poll with a
 * short randomised backoff; stale locks (dead owner) are broken.
 */
export async function withFileLock<R>(
  path: string,
  options: FileLockOptions,
  fn: () => Promise<R>,
): Promise<R> {
  return localQueue.run(path, async () => {
    const token = `${process.pid}\n${HOST}\n${randomBytes(8).toString('hex')}`;
    const deadline = Date.now() + options.timeoutMs;
    let delayMs = 1;
    for (;;) {
      if (await tryCreate(path, token)) break;
      if (Date.now() > deadline) {
        throw new WarmStateError('WR_ERR_SNAPSHOT_STORE', [
          path,
          `lock not acquired within ${options.timeoutMs} ms`,
        ]);
      }
      if ((await isStale(path, options.staleMs)) === true) {
        await breakStaleLock(path, token, options.staleMs);
        await sleep(1);
        continue;
      }
      await sleep(delayMs + Math.random() * delayMs);
      delayMs = Math.min(delayMs * 2, 20);
    }
    try {
      return await fn();
    } finally {
      // Only our own lock: if it was broken as stale meanwhile, the new owner's stays.
      await unlinkIfOwned(path, token);
    }
  });
}
