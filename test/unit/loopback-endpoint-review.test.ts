import { describe, expect, it } from 'vitest';
import { isLoopbackEndpoint } from '../../src/backend/lambda-backend.js';

/**
 * Review of d76523e: unsigned Invokes are refused unless the endpoint is
 * loopback. Spellings that name a remote host while looking local must stay
 * refused (a trailing-dot name, a wildcard DNS name, userinfo or fragment
 * tricks, an encoded dot); the WHATWG spellings of 127.0.0.1 and ::1 are
 * loopback, since undici connects to the same normalised host.
 */

describe('isLoopbackEndpoint (review)', () => {
  it.each([
    'http://127.0.0.1.nip.io:9001',
    'http://127.0.0.1@evil.example:9001',
    'http://evil.example#@127.0.0.1',
    'http://127.0.0.1%2eevil.example',
    'http://localhost.evil.example',
    'http://sub.localhost:9001',
    'http://10.0.0.1:9001',
    'http://128.0.0.1',
    'http://[::ffff:10.0.0.1]:9001',
    'http://[::ffff:8000:1]:9001',
    'https://lambda.us-east-1.amazonaws.com',
    'not a url',
    '',
  ])('refuses %s', (endpoint) => {
    expect(isLoopbackEndpoint(endpoint)).toBe(false);
  });

  it.each([
    'http://127.0.0.1:9001',
    'http://127.1:9001',
    'http://2130706433:9001',
    'http://0x7f000001:9001',
    'http://127.255.255.254',
    'http://localhost:9001',
    'http://LOCALHOST:9001',
    'http://[::1]:9001',
    'http://[0:0:0:0:0:0:0:1]:9001',
    'http://[::ffff:127.0.0.1]:9001',
    'http://[::ffff:7f01:203]:9001',
  ])('accepts %s', (endpoint) => {
    expect(isLoopbackEndpoint(endpoint)).toBe(true);
  });
});
