import { describe, it, expect } from 'vitest';
import { compilePathTemplate, compileRouteResources } from '../../src/http/path-template.js';

describe('compilePathTemplate', () => {
  it('keeps the template as the resource', () => {
    expect(compilePathTemplate('/notebooks/{notebook}/{proxy+}').resource).toBe(
      '/notebooks/{notebook}/{proxy+}',
    );
  });

  describe('literal templates', () => {
    const template = compilePathTemplate('/health/live');

    it('match exactly and return no parameters', () => {
      expect(template.match('/health/live')).toEqual({});
    });

    it('tolerate one trailing slash', () => {
      expect(template.match('/health/live/')).toEqual({});
    });

    it('reject other paths', () => {
      expect(template.match('/health')).toBeUndefined();
      expect(template.match('/health/live/extra')).toBeUndefined();
      expect(template.match('/health/liv')).toBeUndefined();
      expect(template.match('/health/live//')).toBeUndefined();
      expect(template.match('/')).toBeUndefined();
    });

    it('match a percent-encoded spelling of a literal', () => {
      expect(template.match('/health/l%69ve')).toEqual({});
    });
  });

  describe('root template', () => {
    const root = compilePathTemplate('/');

    it('matches the root, empty path included', () => {
      expect(root.match('/')).toEqual({});
      expect(root.match('')).toEqual({});
    });

    it('matches nothing else', () => {
      expect(root.match('/a')).toBeUndefined();
    });
  });

  describe('single-segment parameters', () => {
    const template = compilePathTemplate('/notebooks/{notebook}/cells/{cell}');

    it('extract each segment', () => {
      expect(template.match('/notebooks/nb1/cells/42')).toEqual({ notebook: 'nb1', cell: '42' });
    });

    it('percent-decode values but keep + literal (not a query string)', () => {
      expect(template.match('/notebooks/a%20b%2Fc/cells/x+y')).toEqual({
        notebook: 'a b/c',
        cell: 'x+y',
      });
    });

    it('decode UTF-8 escapes', () => {
      expect(template.match('/notebooks/caf%C3%A9/cells/1')).toEqual({
        notebook: 'café',
        cell: '1',
      });
    });

    it('keep a malformed escape as sent', () => {
      expect(template.match('/notebooks/100%/cells/%zz')).toEqual({
        notebook: '100%',
        cell: '%zz',
      });
    });

    it('never match an empty segment', () => {
      expect(template.match('/notebooks//cells/1')).toBeUndefined();
      expect(template.match('/notebooks/nb1/cells/')).toBeUndefined();
    });

    it('require every segment', () => {
      expect(template.match('/notebooks/nb1')).toBeUndefined();
      expect(template.match('/notebooks/nb1/cells')).toBeUndefined();
      expect(template.match('/notebooks/nb1/cells/1/more')).toBeUndefined();
    });

    it('ignore a query string if one is passed', () => {
      expect(template.match('/notebooks/nb1/cells/2?x=1')).toEqual({ notebook: 'nb1', cell: '2' });
    });
  });

  describe('greedy parameters', () => {
    const template = compilePathTemplate('/notebooks/{notebook}/{proxy+}');

    it('take the rest of the path, slashes included', () => {
      expect(template.match('/notebooks/nb1/files/a/b.txt')).toEqual({
        notebook: 'nb1',
        proxy: 'files/a/b.txt',
      });
    });

    it('keep a trailing slash in the greedy value', () => {
      expect(template.match('/notebooks/nb1/dir/')).toEqual({ notebook: 'nb1', proxy: 'dir/' });
    });

    it('decode the greedy value as a whole', () => {
      expect(template.match('/notebooks/nb1/a%2Fb/c%20d')).toEqual({
        notebook: 'nb1',
        proxy: 'a/b/c d',
      });
    });

    it('need at least one character, like API Gateway', () => {
      expect(template.match('/notebooks/nb1')).toBeUndefined();
      expect(template.match('/notebooks/nb1/')).toBeUndefined();
    });

    it('/{proxy+} matches any non-root path but not the root', () => {
      const any = compilePathTemplate('/{proxy+}');
      expect(any.match('/x')).toEqual({ proxy: 'x' });
      expect(any.match('/x/y/z')).toEqual({ proxy: 'x/y/z' });
      expect(any.match('/')).toBeUndefined();
      expect(any.match('')).toBeUndefined();
    });
  });

  it('returns a fresh object on each match', () => {
    const template = compilePathTemplate('/{id}');
    const a = template.match('/1');
    const b = template.match('/2');
    expect(a).toEqual({ id: '1' });
    expect(b).toEqual({ id: '2' });
  });

  it('treats a parameter named __proto__ as data', () => {
    const params = compilePathTemplate('/{__proto__}').match('/x');
    expect(params).toBeDefined();
    expect(Object.getOwnPropertyDescriptor(params, '__proto__')?.value).toBe('x');
    expect(Object.keys(params ?? {})).toEqual(['__proto__']);
  });

  describe('invalid templates', () => {
    const cases: [string, RegExp][] = [
      ['notebooks/{id}', /must start with '\/'/],
      ['/a/{proxy+}/b', /greedy variable \{proxy\+\} must be the last segment/],
      ['/a/{id}/{id}', /variable \{id\} appears twice/],
      ['/a//b', /empty path segment/],
      ['/a/pre-{id}', /must be a whole segment/],
      ['/a/{id}suffix', /must be a whole segment/],
      ['/a/{id', /must be a whole segment/],
      ['/a/id}', /must be a whole segment/],
      ['/a/{}', /variable names use/],
      ['/a/{+}', /variable names use/],
      ['/a/{a b}', /variable names use/],
      ['/a/{{id}}', /must be a whole segment/],
      ['/a?x=1', /must not contain '\?'/],
      ['/' + 'a'.repeat(600), /longer than 512 characters/],
    ];
    for (const [template, message] of cases) {
      it(`rejects ${JSON.stringify(template.slice(0, 30))}`, () => {
        expect(() => compilePathTemplate(template)).toThrow(message);
      });
    }

    it('names the template in the message', () => {
      expect(() => compilePathTemplate('/x/{a+}/y')).toThrow('Invalid path template "/x/{a+}/y"');
    });
  });

  it('lists its variables, greedy ones included', () => {
    expect([...compilePathTemplate('/n/{notebook}/x/{proxy+}').variables]).toEqual([
      'notebook',
      'proxy',
    ]);
    expect(compilePathTemplate('/health').variables.size).toBe(0);
  });
});

describe('compileRouteResources', () => {
  describe('a route without pathTemplate: the prefix and {proxy+} beneath it', () => {
    const echo = compileRouteResources('/echo', undefined);

    it('lists both resources, as API Gateway would show them', () => {
      expect(echo.resources).toEqual(['/echo', '/echo/{proxy+}']);
      expect([...echo.variables]).toEqual(['proxy']);
    });

    // Was: the bare prefix was sent as resource /echo/{proxy+} with no proxy parameter,
    // an event API Gateway never sends ({proxy+} needs at least one segment).
    it('serves the bare prefix as its own resource, without parameters', () => {
      expect(echo.match('/')).toEqual({ resource: '/echo', pathParameters: {} });
      expect(echo.match('')).toEqual({ resource: '/echo', pathParameters: {} });
    });

    it('serves everything beneath as {proxy+}', () => {
      expect(echo.match('/a')).toEqual({
        resource: '/echo/{proxy+}',
        pathParameters: { proxy: 'a' },
      });
      expect(echo.match('/a/b%20c/')).toEqual({
        resource: '/echo/{proxy+}',
        pathParameters: { proxy: 'a/b c/' },
      });
    });

    it('at the root prefix: / and /{proxy+}', () => {
      const root = compileRouteResources('/', undefined);
      expect(root.resources).toEqual(['/', '/{proxy+}']);
      expect(root.match('/')).toEqual({ resource: '/', pathParameters: {} });
      expect(root.match('/x/y')).toEqual({
        resource: '/{proxy+}',
        pathParameters: { proxy: 'x/y' },
      });
    });
  });

  describe('a route with pathTemplate: that one resource', () => {
    it('/{proxy+} does not serve the bare prefix, as in API Gateway', () => {
      const greedy = compileRouteResources('/echo', '/{proxy+}');
      expect(greedy.resources).toEqual(['/echo/{proxy+}']);
      expect(greedy.match('/')).toBeUndefined();
      expect(greedy.match('')).toBeUndefined();
      expect(greedy.match('/a')).toEqual({
        resource: '/echo/{proxy+}',
        pathParameters: { proxy: 'a' },
      });
    });

    it('serves nothing under the prefix that the template does not match', () => {
      const nb = compileRouteResources('/notebooks', '/{notebook}/{proxy+}');
      expect(nb.resources).toEqual(['/notebooks/{notebook}/{proxy+}']);
      expect([...nb.variables]).toEqual(['notebook', 'proxy']);
      expect(nb.match('/nb-1')).toBeUndefined();
      expect(nb.match('/')).toBeUndefined();
      expect(nb.match('/nb-1/run')).toEqual({
        resource: '/notebooks/{notebook}/{proxy+}',
        pathParameters: { notebook: 'nb-1', proxy: 'run' },
      });
    });

    it('a template of / serves only the bare prefix', () => {
      const bare = compileRouteResources('/health', '/');
      expect(bare.resources).toEqual(['/health']);
      expect(bare.match('/')).toEqual({ resource: '/health', pathParameters: {} });
      expect(bare.match('/x')).toBeUndefined();
    });

    it('refuses a template that does not compile', () => {
      expect(() => compileRouteResources('/n', '/{a')).toThrow('Invalid path template');
    });
  });
});
