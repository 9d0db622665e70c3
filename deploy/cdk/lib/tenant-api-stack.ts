import { join } from 'node:path';
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { EXAMPLE_FUNCTION_NAMES, ExampleFunctions } from './example-functions.js';
import { bundledCode, FUNCTION_RUNTIME, PACKAGE_ROOT } from './function-bundling.js';
import { BEARER_PATTERN, TENANT_CONTEXT_FIELD } from './tenant-authorizer/authorizer.js';
import { TOKEN_SECRET_ENV } from './tenant-authorizer/index.js';

/** Lambda's tenant header on the Invoke API: API Gateway sets it on the integration request. */
export const TENANT_ID_HEADER = 'X-Amz-Tenant-Id';
const TENANT_ID_PARAMETER = `integration.request.header.${TENANT_ID_HEADER}`;
/** Default client header in the `client-header` opt-in. */
export const DEFAULT_CLIENT_TENANT_HEADER = 'x-tenant-id';

/** The tenant ID comes from the authorizer (the default and the safe choice). */
export interface TenantFromAuthorizer {
  readonly tenantFrom?: 'authorizer';
}

/**
 * The tenant ID comes from a header the client sends. RISK: the client picks
 * its own tenant ID, so any caller with a valid token can name another
 * tenant's ID and land in that tenant's execution environments, with
 * whatever that tenant left in memory and /tmp. Use it only when every
 * caller is trusted with every tenant (e.g. one internal service in front),
 * and say so by setting `acknowledgeClientChosenTenant: true`.
 */
export interface TenantFromClientHeader {
  readonly tenantFrom: 'client-header';
  /** Required: states that clients may choose any tenant ID (see above). */
  readonly acknowledgeClientChosenTenant: true;
  /** The client's header. Default `x-tenant-id`. */
  readonly clientTenantHeader?: string;
}

export type TenantApiStackProps = StackProps &
  (TenantFromAuthorizer | TenantFromClientHeader) & {
    /** Physical-name prefix of the functions. Default `warmroute-api-` (apart from the gateway stack's). */
    readonly namePrefix?: string;
    /**
     * Secret whose SecretString (≥ 32 characters) signs the tenant tokens.
     * The authorizer reads it at run time (its role may read this secret
     * only) and keeps it 5 minutes (SECRET_CACHE_TTL_MS), so a new value is
     * in use within 5 minutes of put-secret-value, with no deploy.
     * Default: a new generated secret (its ARN is a stack output).
     */
    readonly tokenSecret?: secretsmanager.ISecret;
    /**
     * Create API Gateway's account-level CloudWatch Logs role (one per account
     * and region; access and execution logs need it). Default true; set false
     * when the account already has one, since this replaces it.
     */
    readonly apiGatewayCloudWatchRole?: boolean;
    /** Stage throttling: steady requests per second and burst (default DEFAULT_THROTTLE, 50 and 100). */
    readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  };

/** Stage throttling when `throttle` is not given (deploy/sam/template.yaml defaults to the same). */
export const DEFAULT_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;

/** The authorizer's source: bundled at synth time like the example functions. */
const AUTHORIZER_ENTRY = join(
  PACKAGE_ROOT,
  'deploy',
  'cdk',
  'lib',
  'tenant-authorizer',
  'index.ts',
);

/**
 * The seed's pattern without the gateway: API Gateway REST in front of the
 * PER_TENANT example functions, each request invoked with
 * `X-Amz-Tenant-Id` = the tenant a verified token grants (a Lambda TOKEN
 * authorizer), or, only as the acknowledged opt-in, a client header. A REST
 * API because it can set that header on the Lambda invoke (request
 * parameter mapping on a Lambda proxy integration); an HTTP API cannot.
 *
 * Routes: `ANY /<function>` and `ANY /<function>/{proxy+}` for counter,
 * warm-counter and workspace, every method behind the authorizer. No
 * gateway means no key → tenant directory: one tenant is one environment
 * set (what the seed did), and warm-counter/workspace key their state by
 * `tenant:<id>`, kept in /tmp (the file store) of that tenant's environment.
 */
export class TenantApiStack extends Stack {
  readonly api: apigw.RestApi;
  readonly functions: ExampleFunctions;
  readonly authorizerFunction: lambda.Function;
  readonly tokenSecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: TenantApiStackProps = {}) {
    super(scope, id, props);
    const fromClient = props.tenantFrom === 'client-header';
    // Checked at run time too: a JavaScript caller (or a cast) gets past the
    // type, so the value is read as unknown rather than as the literal `true`.
    const acknowledged: unknown = fromClient ? props.acknowledgeClientChosenTenant : undefined;
    if (fromClient && acknowledged !== true) {
      throw new Error(
        "TenantApiStack: tenantFrom 'client-header' lets clients choose their tenant ID " +
          '(and land in another tenant’s environment); set acknowledgeClientChosenTenant: true to accept that',
      );
    }
    const clientHeader = fromClient
      ? (props.clientTenantHeader ?? DEFAULT_CLIENT_TENANT_HEADER)
      : undefined;

    this.functions = new ExampleFunctions(this, 'Functions', {
      namePrefix: props.namePrefix ?? 'warmroute-api-',
    });

    this.tokenSecret =
      props.tokenSecret ??
      new secretsmanager.Secret(this, 'TokenSecret', {
        description: 'Signs warmroute tenant tokens (tenant-authorizer/tenant-token.ts)',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
      });
    if (props.tokenSecret === undefined) {
      Validations.of(this.tokenSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating the token secret revokes every tenant token at once, so it is rolled on ' +
          'purpose (docs/deploy.md), not on a schedule; a rotation Lambda would also need to ' +
          're-issue tokens to every client',
      });
    }

    const authorizerLogs = new logs.LogGroup(this, 'AuthorizerLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const authorizerRole = new iam.Role(this, 'AuthorizerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Execution role of the tenant token authorizer',
    });
    authorizerLogs.grantWrite(authorizerRole);
    this.authorizerFunction = new lambda.Function(this, 'Authorizer', {
      description: 'Verifies tenant tokens; the tenant becomes X-Amz-Tenant-Id',
      runtime: FUNCTION_RUNTIME,
      handler: 'index.handler',
      code: bundledCode(AUTHORIZER_ENTRY, 'index.mjs', false),
      memorySize: 128,
      timeout: Duration.seconds(3),
      role: authorizerRole,
      logGroup: authorizerLogs,
      environment: {
        // The ARN only: the authorizer fetches the value at run time and keeps it
        // SECRET_CACHE_TTL_MS (tenant-authorizer/authorizer.ts), so the value is
        // never in the function's configuration and a rotated secret is in use
        // within that TTL, with no deploy.
        [TOKEN_SECRET_ENV]: this.tokenSecret.secretArn,
      },
    });
    // GetSecretValue (and DescribeSecret, plus kms:Decrypt with a customer key) on this secret only.
    this.tokenSecret.grantRead(authorizerRole);
    Validations.of(this.authorizerFunction).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 on purpose, like the example functions (FUNCTION_RUNTIME in function-bundling.ts)',
    });

    const authorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: this.authorizerFunction,
      identitySource: apigw.IdentitySource.header('Authorization'),
      // API Gateway refuses (401) anything not shaped like a token before invoking the authorizer.
      validationRegex: BEARER_PATTERN,
      // No caching: the policy names exactly one method, and a cached result
      // would outlive a token's expiry.
      resultsCacheTtl: Duration.seconds(0),
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const cloudWatchRole = props.apiGatewayCloudWatchRole ?? true;
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `${props.namePrefix ?? 'warmroute-api-'}tenant-api`,
      description: 'warmroute example functions behind tenant-mapped API Gateway REST',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole,
      ...(cloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: 'v1',
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigw.AccessLogField.contextRequestId(),
            ip: apigw.AccessLogField.contextIdentitySourceIp(),
            method: apigw.AccessLogField.contextHttpMethod(),
            path: apigw.AccessLogField.contextResourcePath(),
            status: apigw.AccessLogField.contextStatus(),
            tenant: apigw.AccessLogField.contextAuthorizer(TENANT_CONTEXT_FIELD),
            latencyMs: apigw.AccessLogField.contextResponseLatency(),
          }),
        ),
        throttlingRateLimit: props.throttle?.rateLimit ?? DEFAULT_THROTTLE.rateLimit,
        throttlingBurstLimit: props.throttle?.burstLimit ?? DEFAULT_THROTTLE.burstLimit,
      },
    });
    if (cloudWatchRole) {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level logging role: AWS documents this managed policy for it, " +
          'and access/execution logging cannot work without the role',
      });
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'The methods use a Lambda TOKEN authorizer that verifies HMAC-signed tenant tokens ' +
        '(tenant-authorizer/); a Cognito user pool is a deployment choice this example leaves out',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'WAF is billed per web ACL and rule; this example stack leaves attaching one to the ' +
        'stage to the deployment (docs/deploy.md)',
    });

    const validator = new apigw.RequestValidator(this, 'Validator', {
      restApi: this.api,
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Request parameters are validated (the required tenant header of the client-header ' +
        'opt-in); bodies go to Lambda proxy integrations that validate their own input ' +
        '(workspace answers 400), and there is no request model to check them against, so ' +
        'turning body validation on would validate nothing',
    });

    const tenantSource =
      clientHeader === undefined
        ? `context.authorizer.${TENANT_CONTEXT_FIELD}`
        : `method.request.header.${clientHeader}`;
    const methodOptions: apigw.MethodOptions = {
      authorizer,
      authorizationType: apigw.AuthorizationType.CUSTOM,
      requestValidator: validator,
      // API Gateway maps only declared method parameters; required, so a request without it is a 400.
      ...(clientHeader === undefined
        ? {}
        : { requestParameters: { [`method.request.header.${clientHeader}`]: true } }),
    };
    for (const name of EXAMPLE_FUNCTION_NAMES) {
      const integration = new apigw.LambdaIntegration(this.functions.functions[name], {
        proxy: true,
        requestParameters: { [TENANT_ID_PARAMETER]: tenantSource },
        // Only the deployed stage may invoke (no console test-invoke permission).
        allowTestInvoke: false,
      });
      const resource = this.api.root.addResource(name);
      resource.addMethod('ANY', integration, methodOptions);
      resource.addResource('{proxy+}').addMethod('ANY', integration, methodOptions);
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    new CfnOutput(this, 'TokenSecretArn', { value: this.tokenSecret.secretArn });
  }
}
