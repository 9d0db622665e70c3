// The seed experiment's function: plain module-level state, no library.
// Under tenant isolation mode each tenant's environment has its own counter.
let counter = 0;

export const handler = async (event, context) => {
  return {
    statusCode: 200,
    body: JSON.stringify({ counter: counter++, tenantId: context.tenantId }),
  };
};
