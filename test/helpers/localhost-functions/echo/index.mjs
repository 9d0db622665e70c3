// Reports what the runtime gave it: event, context, Lambda's environment variables.
import { tmpdir } from 'node:os';
import { writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

let calls = 0;
console.log('init: echo loaded');

export const handler = async (event, context) => {
  calls++;
  console.log('echo handling', JSON.stringify(event));
  if (event.fail === 'throw') throw new TypeError('echo was asked to fail');
  if (event.fail === 'string') throw 'plain string failure';
  if (event.fail === 'reject') {
    void Promise.reject(new Error('nobody catches this'));
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (event.log) process.stdout.write(event.log);
  if (event.writeTmp) await writeFile(join(tmpdir(), event.writeTmp), 'x');
  return {
    calls,
    event,
    context: {
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      remaining: context.getRemainingTimeInMillis(),
      clientContext: context.clientContext,
      tenantId: context.tenantId,
      hasTenantIdProperty: 'tenantId' in context,
      callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    },
    env: Object.fromEntries(
      [
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_LOG_GROUP_NAME',
        'AWS_LAMBDA_LOG_STREAM_NAME',
        'AWS_LAMBDA_RUNTIME_API',
        'AWS_REGION',
        '_HANDLER',
        'LAMBDA_TASK_ROOT',
        'TZ',
        'GREETING',
        '_X_AMZN_TRACE_ID',
      ].map((k) => [k, process.env[k]]),
    ),
    tmpdir: tmpdir(),
    tmpFiles: await readdir(tmpdir()),
    pid: process.pid,
  };
};
