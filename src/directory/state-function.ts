/**
 * Which function a state version belongs to. The function library scopes
 * snapshots by the function's own bare name (AWS_LAMBDA_FUNCTION_NAME:
 * no ARN prefix, no qualifier), so the directory keeps versions under the
 * same name: `fn`, `fn:prod` and its ARN share one state and one version.
 */

/** A bare Lambda function name: also safe, unencoded, inside a Redis hash field and a Lua ARGV. */
const BARE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** `arn:<partition>:lambda:<region>:<account>:function:` or `<account>:function:`. */
const ARN_PREFIX = /^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)/;

/**
 * The name a function's state versions are kept under, or undefined when
 * `functionName` is not a Lambda function name (then no version is read or
 * recorded for it).
 */
export function stateFunctionId(functionName: string): string | undefined {
  const withoutArn = functionName.replace(ARN_PREFIX, '');
  const colon = withoutArn.indexOf(':');
  const bare = colon === -1 ? withoutArn : withoutArn.slice(0, colon);
  return isStateFunctionId(bare) ? bare : undefined;
}

/** Whether `id` can name a function's versions in a store (checked again before any write). */
export function isStateFunctionId(id: string): boolean {
  return BARE_NAME.test(id);
}
