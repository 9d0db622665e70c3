import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLoggerFactory } from '../../src/http/lazy-request-logger.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe('lazyChildLoggerFactory', () => {
  it('writes what a pino child would, bindings included, at enabled levels only', () => {
    // Prepare
    const { logger, lines } = capture('warn');
    const child = lazyChildLoggerFactory(logger, { reqId: 'r-1' }, {});
    // Act
    child.info('not written');
    child.debug({ a: 1 }, 'nor this');
    child.error({ err: new Error('boom') }, 'failed %s', 'here');
    child.warn('careful');
    // Assess
    expect(lines.map((l) => [l['level'], l['reqId'], l['msg']])).toEqual([
      [50, 'r-1', 'failed here'],
      [40, 'r-1', 'careful'],
    ]);
    expect((lines[0]?.['err'] as { message?: string }).message).toBe('boom');
    expect(child.level).toBe('warn');
    const pinoLike = child as unknown as {
      isLevelEnabled(l: string): boolean;
      bindings(): Record<string, unknown>;
    };
    expect([pinoLike.isLevelEnabled('info'), pinoLike.isLevelEnabled('error')]).toEqual([
      false,
      true,
    ]);
    expect(pinoLike.bindings()).toEqual({ reqId: 'r-1' });
  });

  it('follows a level change, and makes grandchildren with both bindings', () => {
    const { logger, lines } = capture('warn');
    const child = lazyChildLoggerFactory(logger, { reqId: 'r-2' }, {});
    child.level = 'debug';
    child.debug('now written');
    child.child({ part: 'x' }).info('nested');
    expect(lines.map((l) => [l['reqId'], l['part'], l['msg']])).toEqual([
      ['r-2', undefined, 'now written'],
      ['r-2', 'x', 'nested'],
    ]);
    expect(logger.level).toBe('warn');
  });

  it('makes the child at once when the route sets its own level', () => {
    const { logger, lines } = capture('warn');
    const child = lazyChildLoggerFactory(logger, { reqId: 'r-3' }, { level: 'info' });
    child.info('route level');
    expect(lines.map((l) => l['msg'])).toEqual(['route level']);
  });
});
