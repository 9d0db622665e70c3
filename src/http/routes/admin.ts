import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import Value from 'typebox/value';
import type { Directory } from '../../directory/types.js';
import { WarmrouteError } from '../../errors.js';
import { readValidKey } from '../read-valid-key.js';

/** What the admin routes need of the directory. */
export type AdminDirectoryPort = Pick<
  Directory,
  'explain' | 'rotate' | 'bind' | 'unbind' | 'forget'
>;

/** The key in the path; its rules are checked by `readValidKey`, with the gateway's own message. */
const KeyParamsSchema = Type.Object({ key: Type.String() });

/**
 * `PUT /v1/keys/{key}/binding`: other fields are ignored. Checked after the
 * route parses the bytes (every body reaches the routes as bytes, see app.ts),
 * so a body that is not JSON stays WR_ERR_INVALID_JSON.
 */
const BindingBodySchema = Type.Object({ target: Type.String() });

function tokenMatches(expected: Buffer, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Key administration behind a bearer token: explain, rotate (the next
 * request gets a brand-new environment), bind/unbind (a session shares its
 * workspace's environment), forget. Without a configured token every call is
 * refused.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  deps: { directory: AdminDirectoryPort; adminToken: string | undefined },
): void {
  const expected = deps.adminToken === undefined ? undefined : Buffer.from(deps.adminToken);

  app.register((admin, _opts, done) => {
    admin.addHook('onRequest', (request: FastifyRequest, _reply, next) => {
      if (expected === undefined || !tokenMatches(expected, request.headers.authorization)) {
        next(new WarmrouteError('WR_ERR_UNAUTHORIZED'));
        return;
      }
      next();
    });

    admin.get<{ Params: { key: string } }>(
      '/v1/keys/:key',
      { schema: { params: KeyParamsSchema } },
      async (request) => {
        const key = readValidKey(request.params.key, 'the path');
        return deps.directory.explain(key);
      },
    );

    admin.post<{ Params: { key: string } }>(
      '/v1/keys/:key/rotate',
      { schema: { params: KeyParamsSchema } },
      async (request) => {
        const key = readValidKey(request.params.key, 'the path');
        const rotated = await deps.directory.rotate(key);
        return { key, ...rotated };
      },
    );

    admin.put<{ Params: { key: string } }>(
      '/v1/keys/:key/binding',
      { schema: { params: KeyParamsSchema } },
      async (request) => {
        const key = readValidKey(request.params.key, 'the path');
        const target = parseBindingTarget(request.body);
        const targetKey = readValidKey(target, 'the body field "target"');
        await deps.directory.bind(key, targetKey);
        return { key, target: targetKey };
      },
    );

    admin.delete<{ Params: { key: string } }>(
      '/v1/keys/:key/binding',
      { schema: { params: KeyParamsSchema } },
      async (request) => {
        const key = readValidKey(request.params.key, 'the path');
        await deps.directory.unbind(key);
        return { key, target: null };
      },
    );

    admin.delete<{ Params: { key: string } }>(
      '/v1/keys/:key',
      { schema: { params: KeyParamsSchema } },
      async (request, reply) => {
        const key = readValidKey(request.params.key, 'the path');
        await deps.directory.forget(key);
        return reply.code(204).send();
      },
    );
    done();
  });
}

function parseBindingTarget(body: unknown): string {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new WarmrouteError('WR_ERR_BINDING_INVALID', ['body must be JSON { "target": "<key>" }']);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new WarmrouteError('WR_ERR_INVALID_JSON', [(err as Error).message]);
  }
  if (!Value.Check(BindingBodySchema, parsed)) {
    throw new WarmrouteError('WR_ERR_BINDING_INVALID', ['body must be JSON { "target": "<key>" }']);
  }
  return parsed.target;
}
