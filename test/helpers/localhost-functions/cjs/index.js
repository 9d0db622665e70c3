/* global exports */
// CommonJS handler (package.json here says "type": "commonjs").
let counter = 0;
exports.handler = async (event, context) => ({
  counter: counter++,
  style: 'cjs',
  tenantId: context.tenantId,
  event,
});
