// Loads, but exports no `handler`: the runtime reports Runtime.HandlerNotFound at init.
export const notTheHandler = () => 'nope';
