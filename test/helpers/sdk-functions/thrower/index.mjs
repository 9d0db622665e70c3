// Fails the way application code fails: a custom error class. The SDK must
// surface it as a FunctionError with errorType "QuotaExceeded".
class QuotaExceeded extends Error {
  constructor(message) {
    super(message);
    this.name = 'QuotaExceeded';
  }
}

export const handler = async (event) => {
  throw new QuotaExceeded(`over quota: ${event.what ?? 'everything'}`);
};
