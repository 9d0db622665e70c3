import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isRoutableTarget,
  pathUnderPrefix,
  routedPath,
  splitRequestTarget,
} from '../../src/http/request-target.js';

describe('splitRequestTarget', () => {
  it('splits an origin-form target at the first ?', () => {
    expect(splitRequestTarget('/echo/a?x=1&y=?')).toEqual({ path: '/echo/a', query: 'x=1&y=?' });
    expect(splitRequestTarget('/echo/a%3Fb')).toEqual({ path: '/echo/a%3Fb', query: '' });
    expect(splitRequestTarget('/?x')).toEqual({ path: '/', query: 'x' });
  });

  it('takes the path and query of an absolute-form target, as the router does', () => {
    expect(splitRequestTarget('http://127.0.0.1/echo/a')).toEqual({ path: '/echo/a', query: '' });
    expect(splitRequestTarget('HTTPS://evil:8080/echo/zz?x=1')).toEqual({
      path: '/echo/zz',
      query: 'x=1',
    });
    expect(splitRequestTarget('http://host')).toEqual({ path: '/', query: '' });
    expect(splitRequestTarget('http://host?x=1')).toEqual({ path: '/', query: 'x=1' });
    expect(splitRequestTarget('http://host?x=/a')).toEqual({ path: '/', query: 'x=/a' });
  });

  it('ends the target at a raw #: the fragment is neither path nor query', () => {
    expect(splitRequestTarget('/echo/a#frag')).toEqual({ path: '/echo/a', query: '' });
    expect(splitRequestTarget('/echo/a?x=1#frag')).toEqual({ path: '/echo/a', query: 'x=1' });
    expect(splitRequestTarget('/echo/a#frag?x=1')).toEqual({ path: '/echo/a', query: '' });
    expect(splitRequestTarget('#x')).toEqual({ path: '/', query: '' });
  });

  it('never returns a path with ? or # in it', () => {
    fc.assert(
      fc.property(fc.string(), (target) => {
        const { path } = splitRequestTarget(target);
        expect(path).not.toMatch(/[?#]/);
        expect(path).not.toBe('');
      }),
    );
  });
});

describe('isRoutableTarget', () => {
  it('takes origin-form and http(s) absolute-form targets', () => {
    for (const target of ['/', '/echo/a?x=1', '//x', 'http://h/x', 'HTTPS://h:1?x', 'http://h']) {
      expect(isRoutableTarget(target), target).toBe(true);
    }
  });

  it('refuses every other form: the router would read its first character as /', () => {
    for (const target of ['*', '*/x', '**', '*?a=1', '*v1/keys/k', '*healthz', 'ftp://h/x']) {
      expect(isRoutableTarget(target), target).toBe(false);
    }
    for (const target of ['', 'echo', 'http:/x', 'http:x', '?x', '#x', ' /x']) {
      expect(isRoutableTarget(target), target).toBe(false);
    }
  });
});

describe('routedPath', () => {
  it('decodes percent-encoded unreserved characters only (RFC 3986 §6.2.2.2)', () => {
    expect(routedPath('/e%63ho')).toBe('/echo');
    expect(routedPath('/%65cho/a')).toBe('/echo/a');
    expect(routedPath('/p%6B/k1')).toBe('/pk/k1');
    expect(routedPath('/%41%7a%30%2D%2e%5F%7E')).toBe('/Az0-._~');
    // Reserved characters, `%` itself and anything else stay encoded.
    expect(routedPath('/a%2Fb%3F%23%25%20%27%C3%A9')).toBe('/a%2Fb%3F%23%25%20%27%C3%A9');
    expect(routedPath('/%2541')).toBe('/%2541');
    expect(routedPath('/%zz%4')).toBe('/%zz%4');
  });

  it('never adds or removes a segment, a query or a fragment, and never adds a %', () => {
    const count = (text: string, char: string): number => text.split(char).length - 1;
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('%', '2', 'F', '6', '5', 'a', '/', '?', '#') }),
        (path) => {
          const routed = routedPath(path);
          for (const char of ['/', '?', '#']) expect(count(routed, char)).toBe(count(path, char));
          expect(count(routed, '%')).toBeLessThanOrEqual(count(path, '%'));
        },
      ),
    );
  });
});

describe('pathUnderPrefix', () => {
  it('gives the rest of the path under the prefix', () => {
    expect(pathUnderPrefix('/echo', '/echo')).toBe('');
    expect(pathUnderPrefix('/echo/', '/echo')).toBe('/');
    expect(pathUnderPrefix('/echo/a/b', '/echo')).toBe('/a/b');
    expect(pathUnderPrefix('/a/b/c', '/a/b')).toBe('/c');
    expect(pathUnderPrefix('/anything', '/')).toBe('/anything');
  });

  it('is undefined for a path that only starts with the same letters', () => {
    expect(pathUnderPrefix('/echoes', '/echo')).toBeUndefined();
    expect(pathUnderPrefix('/ech', '/echo')).toBeUndefined();
    // The router routes `%27` to a prefix with `'`; RFC 3986 keeps them apart.
    expect(pathUnderPrefix(routedPath('/it%27s/a'), "/it's")).toBeUndefined();
  });
});
