// Exits the process in the middle of an invocation (unless event.crash is false).
let counter = 0;
export const handler = async (event) => {
  const n = counter++;
  if (event.crash !== false) {
    console.log('crashing now');
    process.exit(3);
  }
  return { counter: n };
};
