/**
 * The one call the authorizer makes with `@aws-sdk/client-secrets-manager`.
 * The Lambda Node.js runtime ships the AWS SDK v3 and the bundle leaves it out
 * (template.yaml, BuildProperties External), so this project does not install
 * the package; these declarations let `index.ts` typecheck against the part
 * of its API it uses (the SDK's own names and shapes).
 */
declare module '@aws-sdk/client-secrets-manager' {
  export interface GetSecretValueCommandOutput {
    readonly SecretString?: string;
  }
  /** The SDK's commands carry their input; the authorizer only constructs one. */
  export interface GetSecretValueCommand {
    readonly input: { readonly SecretId: string };
  }
  export const GetSecretValueCommand: new (input: {
    readonly SecretId: string;
  }) => GetSecretValueCommand;
  export class SecretsManagerClient {
    constructor(config: Record<string, unknown>);
    send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
  }
}
