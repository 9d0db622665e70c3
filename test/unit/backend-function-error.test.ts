import { describe, it, expect } from 'vitest';
import { parseFunctionError } from '../../src/backend/function-error.js';

describe('parseFunctionError', () => {
  it('reads the Node runtime error object', () => {
    const payload = new TextEncoder().encode(
      JSON.stringify({ errorType: 'TypeError', errorMessage: 'x is undefined', trace: ['a'] }),
    );
    expect(parseFunctionError(payload, 'Unhandled')).toEqual({
      errorType: 'TypeError',
      errorMessage: 'x is undefined',
    });
  });
  it('names a timeout', () => {
    const payload = JSON.stringify({
      errorMessage: '2026-01-01T00:00:00.000Z abc Task timed out after 3.00 seconds',
    });
    expect(parseFunctionError(payload, 'Unhandled').errorType).toBe('Sandbox.Timedout');
  });
  it('falls back to the X-Amz-Function-Error value for payloads that are not error objects', () => {
    expect(parseFunctionError('not json', 'Handled')).toEqual({
      errorType: 'Handled',
      errorMessage: 'not json',
    });
    expect(parseFunctionError('"just a string"')).toEqual({
      errorType: 'Unhandled',
      errorMessage: 'just a string',
    });
  });
  it('bounds the message', () => {
    const long = 'x'.repeat(5_000);
    expect(
      parseFunctionError(JSON.stringify({ errorType: 'E', errorMessage: long })).errorMessage
        .length,
    ).toBeLessThan(1_100);
  });
});
