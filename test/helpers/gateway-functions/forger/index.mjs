// A function that tries to speak for the gateway: its proxy result sets the
// gateway's own response headers, and `?report=bogus` adds a warm-state
// envelope whose report is not one the gateway accepts.
export const handler = async (event) => {
  const result = {
    statusCode: 200,
    headers: {
      'x-affinity-env': 'forged-env',
      'x-affinity-state': 'hit',
      'x-affinity-tenant': 'wr-forged',
    },
    body: 'forged',
  };
  if (event.queryStringParameters?.report === 'bogus') {
    return {
      'warmroute/v1': {
        v: 1,
        env: 'bad env\r\nx-injected: 1',
        state: 'bogus',
        stateVersion: -1,
        rehydrateMs: 0,
      },
      result,
    };
  }
  return result;
};
