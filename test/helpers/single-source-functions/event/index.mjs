// Answers an API Gateway proxy event with that event as its body (test/integration/config-single-source.test.ts).
export const handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(event),
});
