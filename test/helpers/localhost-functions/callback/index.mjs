// Callback style. The result is sent once the event loop is empty (Lambda's
// default), so the line logged by the timer after the callback is part of this
// invocation; with callbackWaitsForEmptyEventLoop = false it is not awaited.
let counter = 0;
export const handler = (event, context, callback) => {
  const n = counter++;
  if (event.noWait) context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {
    if (event.error) callback(new RangeError('callback error'));
    else callback(null, { counter: n, style: 'callback' });
    setTimeout(() => console.log(`timer after callback ran ${n}`), 50);
  }, 5);
};
