/**
 * Under Node 20 the AWS SDK prints a multi-line NodeVersionSupportWarning when
 * a client is created: its releases after January 2027 need Node 22.
 * warmroute pins its SDK version and supports Node >= 20.18 (README "Node
 * versions"), so the warning asks nothing of a user of warmroute's own
 * commands. This sets the SDK's documented switch for it
 * (https://github.com/aws/aws-sdk-js-v3/issues/7983) unless the user set a
 * value; other warnings still print. Entry points call it before they create
 * a Lambda client (child processes inherit it); a program that embeds the
 * gateway decides for itself.
 */
export function silenceAwsSdkNodeVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
