import type { ServerResponse } from 'node:http';

/**
 * An AbortController that fires when the client disconnects before its
 * response was written, so queued work for it is dropped. (A request's own
 * 'close' event also fires after a normal body read, so the response side is
 * the one to watch.)
 */
export function abortOnClientGone(response: ServerResponse): AbortController {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller;
}
