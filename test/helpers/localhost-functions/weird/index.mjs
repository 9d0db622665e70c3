// Misbehaves on request, for the host's property tests: throws errors with
// any name and message, throws non-Errors, returns arbitrary values, and
// writes raw bytes to its own Runtime API (as a buggy or hostile function could).
import { connect } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';

function rawExchange(bytes) {
  const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host);
    let answer = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer.split('\r\n')[0] ?? '');
    };
    // A parked `next` never answers: give up after a moment.
    const timer = setTimeout(done, 100);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => socket.end(bytes));
  });
}

export const handler = async (event, context) => {
  switch (event.mode) {
    case 'throw': {
      const err = new Error(event.message);
      err.name = event.name;
      throw err;
    }
    case 'throw-value':
      throw event.value;
    case 'garbage': {
      const statuses = [];
      for (const b64 of event.requests) {
        const text = Buffer.from(b64, 'base64')
          .toString('latin1')
          .replaceAll('{ID}', context.awsRequestId);
        statuses.push(await rawExchange(Buffer.from(text, 'latin1')));
      }
      return { statuses };
    }
    default:
      return { value: event.value };
  }
};
