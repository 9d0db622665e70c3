// A small per-key workspace: documents kept in the key's in-memory state and
// notes appended to a file under the key's directory; both are checkpointed
// after every call, so a new environment picks up where the last one stopped.
//
// Event: a plain RPC payload
//   { op: 'put', id, doc } | { op: 'get', id } | { op: 'list' }
//   { op: 'note', text }   | { op: 'notes' }
// or an API Gateway REST proxy event carrying such a payload as its JSON body
// (GET /notes and GET /docs/{id} work without a body). Returns JSON: the
// object itself for RPC, a proxy result for a proxy event.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withWarmState } from 'warmroute/lambda';

const MAX_NOTE = 4096;

function payloadOf(event) {
  if (typeof event !== 'object' || event === null) return {};
  if (typeof event.httpMethod !== 'string') return event;
  if (typeof event.body === 'string' && event.body.length > 0) {
    const text =
      event.isBase64Encoded === true
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
    return JSON.parse(text);
  }
  const path = typeof event.path === 'string' ? event.path : '';
  const doc = /\/docs\/([^/]+)$/.exec(path);
  if (doc !== null) return { op: 'get', id: decodeURIComponent(doc[1]) };
  if (path.endsWith('/docs')) return { op: 'list' };
  return { op: 'notes' };
}

async function readNotes(dir) {
  try {
    return (await readFile(join(dir, 'notes.txt'), 'utf8')).split('\n').filter((l) => l.length > 0);
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
}

async function apply(payload, state) {
  const docs = state.get().docs;
  switch (payload.op) {
    case 'put': {
      if (typeof payload.id !== 'string' || payload.id.length === 0 || payload.id === '__proto__') {
        return [400, { error: 'a document id is required' }];
      }
      docs[payload.id] = payload.doc ?? null;
      return [200, { ok: true, id: payload.id, docs: Object.keys(docs).length }];
    }
    case 'get': {
      if (typeof payload.id !== 'string' || !Object.hasOwn(docs, payload.id))
        return [404, { error: 'no such document', id: payload.id }];
      return [200, { id: payload.id, doc: docs[payload.id] }];
    }
    case 'list':
      return [200, { ids: Object.keys(docs).sort() }];
    case 'note': {
      const text = String(payload.text ?? '')
        .replace(/[\r\n]+/g, ' ')
        .slice(0, MAX_NOTE);
      await appendFile(join(state.dir, 'notes.txt'), `${text}\n`);
      return [200, { ok: true, notes: (await readNotes(state.dir)).length }];
    }
    case 'notes':
      return [200, { notes: await readNotes(state.dir) }];
    default:
      return [400, { error: `unknown op ${JSON.stringify(payload.op)}` }];
  }
}

export const handler = withWarmState(
  async (event, context, state) => {
    let status;
    let body;
    try {
      [status, body] = await apply(payloadOf(event), state);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      [status, body] = [400, { error: 'body is not JSON' }];
    }
    body = { ...body, key: state.key, tenantId: context.tenantId };
    if (typeof event?.httpMethod !== 'string') return body;
    return {
      statusCode: status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    };
  },
  { initialState: () => ({ docs: {} }) },
);
