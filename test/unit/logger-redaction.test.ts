import { Writable } from 'node:stream';
import { ReplyError } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { gatewayRedactPaths } from '../../src/logger.js';

/**
 * ioredis attaches the failed command to its errors, and a refused
 * HELLO/AUTH carries the password among its arguments. Whatever logs such an
 * error as `{ err }` (pino's convention) or `{ error }` must not print it.
 */
function logged(entry: Record<string, unknown>): string {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  pino({ redact: { paths: gatewayRedactPaths(), censor: '[redacted]' } }, sink).warn(
    entry,
    'redis failed',
  );
  return chunks.join('');
}

/** An error shaped as ioredis' ReplyError for a refused HELLO 3 AUTH. */
function authError(password: string): Error {
  // The real class (ioredis declares it `any`), as the client throws it.
  const ReplyErrorClass = ReplyError as new (message: string) => Error;
  const error = new ReplyErrorClass(
    'WRONGPASS invalid username-password pair or user is disabled.',
  ) as Error & { command?: unknown };
  error.command = { name: 'hello', args: ['3', 'AUTH', 'default', password] };
  return error;
}

describe('gateway log redaction: Redis command arguments in error objects', () => {
  it.each(['err', 'error'])('{ %s } with command.args: the password is censored', (key) => {
    // Prepare
    const password = 'pw-in-command-args-0123';

    // Act
    const text = logged({ [key]: authError(password) });

    // Assess: the password goes (under `err`, pino's serializer keeps the message: the reason).
    if (key === 'err') expect(text).toContain('WRONGPASS');
    expect(text).toContain('"args":"[redacted]"');
    expect(text).not.toContain(password);
  });

  it('{ err } with args (ioredis command-level errors) is censored', () => {
    // Prepare
    const password = 'pw-in-args-0123456789';
    const error = Object.assign(new Error('ERR'), { args: ['AUTH', password] });

    // Act
    const text = logged({ err: error });

    // Assess
    expect(text).not.toContain(password);
  });
});
