// warm-counter, plus what the gateway sent in the client context and the
// version the handler saw: lets a test check the gateway's side of the
// warm-state protocol (docs/protocol.md) from inside the function.
import { withWarmState } from 'warmroute/lambda';

export const handler = withWarmState(
  async (_event, context, state) => {
    const { counter } = state.get();
    const seenVersion = state.version;
    state.set({ counter: counter + 1 });
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        counter,
        seenVersion,
        request: context.clientContext?.custom?.warmroute ?? null,
        tenantId: context.tenantId,
      }),
    };
  },
  { initialState: () => ({ counter: 0 }) },
);
