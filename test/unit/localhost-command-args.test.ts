import { describe, expect, it } from 'vitest';
import { parseLocalArgs } from '../../src/localhost/command.js';

describe('warmroute local arguments', () => {
  it('defaults to 127.0.0.1:9001 and the shipped functions file', () => {
    const o = parseLocalArgs([], {});
    expect(o).toMatchObject({ host: '127.0.0.1', port: 9001, help: false });
    expect(o.functionsFile).toMatch(/lambda[/\\]examples[/\\]functions\.json$/);
  });

  it('takes the port from WARMROUTE_LOCAL_PORT unless --port is given', () => {
    expect(parseLocalArgs([], { WARMROUTE_LOCAL_PORT: '9100' }).port).toBe(9100);
    expect(parseLocalArgs(['--port', '0'], { WARMROUTE_LOCAL_PORT: '9100' }).port).toBe(0);
    expect(
      parseLocalArgs(['--port=9200', '--host', '::1', '--functions', 'f.json'], {}),
    ).toMatchObject({
      port: 9200,
      host: '::1',
      functionsFile: 'f.json',
    });
  });

  it('takes the address from WARMROUTE_LOCAL_HOST unless --host is given', () => {
    const token = 'x'.repeat(16);
    expect(parseLocalArgs([], { WARMROUTE_LOCAL_HOST: '::1' }).host).toBe('::1');
    expect(parseLocalArgs(['--host', '127.0.0.2'], { WARMROUTE_LOCAL_HOST: '::1' }).host).toBe(
      '127.0.0.2',
    );
    // A public address from the environment needs a token, from either source.
    expect(() => parseLocalArgs([], { WARMROUTE_LOCAL_HOST: '0.0.0.0' })).toThrow(
      /needs --control-token/,
    );
    expect(
      parseLocalArgs(['--control-token', token], { WARMROUTE_LOCAL_HOST: '0.0.0.0' }),
    ).toMatchObject({ host: '0.0.0.0', controlToken: token });
    // …and --host can move it back to loopback.
    expect(parseLocalArgs(['--host', '127.0.0.1'], { WARMROUTE_LOCAL_HOST: '0.0.0.0' }).host).toBe(
      '127.0.0.1',
    );
    expect(() => parseLocalArgs([], { WARMROUTE_LOCAL_HOST: 'bad host' })).toThrow(
      /WARMROUTE_LOCAL_HOST/,
    );
  });

  it('reports every bad value in one message', () => {
    let message = '';
    try {
      parseLocalArgs(['--port', 'x', '--max-environments', '0', '--what'], {
        WARMROUTE_LOCAL_PORT: '70000',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('WARMROUTE_LOCAL_PORT');
    expect(message).toContain('--port');
    expect(message).toContain('--max-environments');
    expect(message).toContain('"--what"');
  });

  it('takes a control token from --control-token or WARMROUTE_LOCAL_CONTROL_TOKEN, required off loopback', () => {
    const token = 'x'.repeat(16);
    expect(parseLocalArgs(['--control-token', token], {}).controlToken).toBe(token);
    expect(parseLocalArgs([], { WARMROUTE_LOCAL_CONTROL_TOKEN: token }).controlToken).toBe(token);
    expect(
      parseLocalArgs(['--host', '0.0.0.0'], { WARMROUTE_LOCAL_CONTROL_TOKEN: token }),
    ).toMatchObject({ host: '0.0.0.0', controlToken: token });
    expect(() => parseLocalArgs(['--host', '0.0.0.0'], {})).toThrow(/needs --control-token/);
    expect(() => parseLocalArgs(['--control-token', 'short'], {})).toThrow(/at least 16/);
  });
});
