import {
  KEEP_WARM_CLIENT_CONTEXT,
  KEEP_WARM_PAYLOAD,
  parseEnvelope,
} from '../../lambda/protocol.js';
import { encodeClientContext, type Backend } from '../backend/backend.js';
import { validateWarmReport, type ValidWarmReport } from '../invoker/warm-report.js';

/**
 * The `send` a KeepWarmPlanner (src/budget/keep-warm.ts) is given: one
 * keep-warm ping (lambda/protocol.ts) through the gateway's Backend, so it
 * takes the same Invoke path (fast path or SDK), retries and credentials as
 * requests do.
 *
 * It resolves with what the environment said, checked like any report
 * (src/invoker/warm-report.ts), for `onAnswer` to feed the learned idle
 * lifetime (a `hit` on the tenant's previous environment is evidence it
 * survived the gap). It rejects, and the planner counts a failed ping, when
 * the call fails, the function fails, or the answer is not the library's
 * keep-warm answer: a function without it ran its handler on the ping, and
 * the route should not have opted in.
 */

export interface KeepWarmAnswer {
  readonly functionName: string;
  readonly tenantId: string;
  readonly report: ValidWarmReport;
  /** Epoch ms: the ping was sent, and answered. */
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface KeepWarmSenderOptions {
  /** Deadline of one ping (ms): a ping that takes longer is not worth waiting for. */
  readonly timeoutMs: number;
  /** Each keep-warm answer, as checked. */
  readonly onAnswer?: (answer: KeepWarmAnswer) => void;
  /** Clock. Default Date.now. */
  readonly now?: () => number;
}

const PAYLOAD = new TextEncoder().encode(KEEP_WARM_PAYLOAD);
const CLIENT_CONTEXT = encodeClientContext(KEEP_WARM_CLIENT_CONTEXT);

export function keepWarmSender(
  backend: Backend,
  options: KeepWarmSenderOptions,
): (functionName: string, tenantId: string) => Promise<KeepWarmAnswer> {
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0))
    throw new RangeError(`keep-warm sender: timeoutMs must be > 0, got ${options.timeoutMs}`);
  const now = options.now ?? Date.now;
  return async (functionName, tenantId) => {
    const startedAt = now();
    const result = await backend.invoke({
      functionName,
      tenantId,
      payload: PAYLOAD,
      clientContextBase64: CLIENT_CONTEXT,
      deadline: startedAt + options.timeoutMs,
    });
    const endedAt = now();
    if (result.functionError !== undefined)
      throw new Error(`keep-warm ping of ${functionName}: function error ${result.functionError}`);
    const envelope = parseEnvelope(result.payload);
    const raw = envelope?.report as { keepWarm?: unknown } | undefined;
    if (envelope === undefined || raw?.keepWarm !== true)
      throw new Error(
        `keep-warm ping of ${functionName}: not answered by the function library (is it on warmroute/lambda with keep-warm?)`,
      );
    const answer: KeepWarmAnswer = {
      functionName,
      tenantId,
      report: validateWarmReport(envelope.report).report,
      startedAt,
      endedAt,
    };
    options.onAnswer?.(answer);
    return answer;
  };
}
