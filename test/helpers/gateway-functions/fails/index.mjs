// A function that always fails the way application code does: an uncaught error.
class QuotaExceededError extends Error {
  constructor(message) {
    super(message);
    this.name = 'QuotaExceededError';
  }
}

export const handler = async (event) => {
  throw new QuotaExceededError(`no quota left for ${JSON.stringify(event)}`);
};
