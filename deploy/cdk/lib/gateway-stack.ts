import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { packageRoot } from '../../../src/paths.js';
import { drainTiming, type DrainTiming } from './drain-timing.js';
import {
  ExampleFunctions,
  type ExampleFunctionName,
  type ExampleFunctionsProps,
} from './example-functions.js';
import { ADMIN_PORT, GATEWAY_PORT, GatewayService } from './gateway-service.js';
import { addGatewayNagSuppressions } from './nag-suppressions.js';
import { GatewayNetwork } from './network.js';
import { GatewayRedis } from './redis.js';

/** A gateway image already pushed to ECR, instead of building deploy/docker/Dockerfile. */
export interface EcrImage {
  readonly repositoryName: string;
  readonly tag: string;
}

export interface GatewayStackProps extends StackProps {
  /** Prefix of the functions' names (`<prefix>-counter`…) and of descriptions (default `warmroute`). */
  readonly namePrefix?: string;
  /**
   * The autoscaling minimum, so the tasks at rest (default 2). The service's
   * own DesiredCount is left unset so a deploy never resets a scaled-out
   * service (GatewayService).
   */
  readonly desiredCount?: number;
  /** Autoscaling maximum (default 10, at least desiredCount). */
  readonly maxCount?: number;
  /** ACM certificate ARN: adds HTTPS on 443 and turns 80 into a redirect. Production wants it. */
  readonly certificateArn?: string;
  /**
   * Put the load balancer on the internet (public subnets, listeners open to
   * anyone unless `clientCidrs` narrows them). Default false: an internal load balancer that only
   * `clientCidrs` reach. Needs `certificateArn` (HTTPS only; 80 redirects)
   * and `acknowledgeClientChosenKeys`.
   */
  readonly internetFacing?: boolean;
  /**
   * Required with `internetFacing`: the caller has read and accepts the
   * gateway's trust model. The key in the request (`x-affinity-key`) decides
   * the tenant, and the gateway authenticates nobody: whoever knows a key
   * reaches that key's tenant environment and its warm state. On the internet
   * that is safe only if every key is an unguessable per-user secret, or if
   * an authenticating proxy in front (ALB authenticate-oidc or Cognito, API
   * Gateway with an authorizer, your own backend) sets the key from an
   * identity it verified and strips any key the client sent. docs/deploy.md,
   * "Trust model".
   */
  readonly acknowledgeClientChosenKeys?: boolean;
  /**
   * The only networks the load balancer takes clients from. Internal
   * default: the VPC's CIDR (add peered networks or a VPN's). Internet-facing
   * default: anyone; given, only these (offices, your proxy's addresses).
   * Never empty and never a `/0` (refused at synth).
   */
  readonly clientCidrs?: readonly string[];
  /** Default: built from deploy/docker/Dockerfile with the repository root as context. */
  readonly image?: EcrImage;
  /** `WARMROUTE_SHUTDOWN_GRACE_MS` (default: the gateway's own default). */
  readonly shutdownGraceMs?: number;
  /** `WARMROUTE_REQUEST_TIMEOUT_MS` (default: the gateway's own default). */
  readonly requestTimeoutMs?: number;
  /** Task size (default 512 CPU units, 1024 MiB). */
  readonly cpu?: number;
  readonly memoryLimitMiB?: number;
  /** NAT gateways (default 1; see GatewayNetwork for the trade-off with interface endpoints). */
  readonly natGateways?: number;
  readonly interfaceEndpoints?: boolean;
  /** Also scale on ALB requests per target per minute. */
  readonly requestsPerTargetPerMinute?: number;
  /** The directory server's node type (default `cache.t4g.small`). */
  readonly redisNodeType?: string;
  /** The snapshot server's node type (default `cache.t4g.micro`). */
  readonly snapshotRedisNodeType?: string;
  /** Reserved concurrency per example function (default none; see ExampleFunctionsProps). */
  readonly reservedConcurrency?: ExampleFunctionsProps['reservedConcurrency'];
  /**
   * A WAF web ACL on the load balancer with one rate-based rule: a client IP
   * sending more than this many requests in 5 minutes is blocked until its
   * rate drops (WAF's minimum is 10). Default: no web ACL. Behind a proxy
   * every request comes from the proxy's few addresses: rate-limit there.
   */
  readonly wafRateLimitPer5Min?: number;
  /**
   * Turn on the load balancer's deletion protection (default off so that
   * `cdk destroy` of a trial stack works). Production wants it: a deleted
   * load balancer gets a new DNS name, which every client must learn again.
   */
  readonly deletionProtection?: boolean;
  readonly logRetention?: logs.RetentionDays;
}

/** The gateway's Dockerfile, relative to the repository root (the build context). */
const DOCKERFILE = 'deploy/docker/Dockerfile';

/**
 * Excludes for the staged build context, after the repository's
 * .dockerignore (an allow-list that leaves deploy/ out). CDK re-includes the
 * Dockerfile by its base name only (`!Dockerfile`, which matches the root),
 * so without this line the staged context would lack deploy/docker/Dockerfile
 * and the image build of `cdk deploy` would fail; `docker build -f` itself
 * always sends the Dockerfile, whatever .dockerignore says.
 */
const IMAGE_CONTEXT_EXCLUDES = [`!${DOCKERFILE}`];

/**
 * Refuses a load balancer on the internet unless it is HTTPS and the caller
 * acknowledged that the request's key decides the tenant
 * (`acknowledgeClientChosenKeys`). Runs before anything is built, so a
 * refused configuration fails synth at once with this message.
 */
function checkExposure(
  props: Pick<
    GatewayStackProps,
    'internetFacing' | 'acknowledgeClientChosenKeys' | 'certificateArn'
  >,
): void {
  if (props.internetFacing !== true) return;
  const missing: string[] = [];
  if (props.certificateArn === undefined) {
    missing.push(
      'certificateArn (an internet-facing listener must be HTTPS: the key travels in a header)',
    );
  }
  if (props.acknowledgeClientChosenKeys !== true) {
    missing.push(
      'acknowledgeClientChosenKeys=true (the key in the request decides the tenant and the gateway ' +
        "authenticates nobody: whoever knows a key reaches that key's warm state, so keys must be " +
        'unguessable per-user secrets or set by an authenticating proxy in front; docs/deploy.md "Trust model")',
    );
  }
  if (missing.length > 0) {
    throw new Error(`internetFacing needs ${missing.join(' and ')}`);
  }
}

/**
 * warmroute in front of Lambda: a VPC, Redis (ElastiCache, TLS, AUTH), the
 * gateway's secrets, the example functions (tenant isolation, PER_TENANT),
 * and the gateway on ECS Fargate behind an Application Load Balancer,
 * internal unless `internetFacing` (see {@link checkExposure}).
 */
export class GatewayStack extends Stack {
  readonly network: GatewayNetwork;
  readonly redis: GatewayRedis;
  readonly functions: ExampleFunctions;
  readonly gateway: GatewayService;
  readonly drain: DrainTiming;
  readonly hmacSecret: secretsmanager.Secret;
  readonly adminToken: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: GatewayStackProps = {}) {
    super(scope, id, props);
    const namePrefix = props.namePrefix ?? 'warmroute';
    const desiredCount = props.desiredCount ?? 2;
    const maxCount = props.maxCount ?? Math.max(10, desiredCount);
    if (!Number.isInteger(desiredCount) || desiredCount < 1) {
      throw new Error(`desiredCount must be an integer >= 1, got ${desiredCount}`);
    }
    if (!Number.isInteger(maxCount) || maxCount < desiredCount) {
      throw new Error(
        `maxCount (${maxCount}) must be an integer >= desiredCount (${desiredCount})`,
      );
    }
    checkExposure(props);
    this.drain = drainTiming({
      shutdownGraceMs: props.shutdownGraceMs,
      requestTimeoutMs: props.requestTimeoutMs,
    });

    this.network = new GatewayNetwork(this, 'Network', {
      natGateways: props.natGateways,
      interfaceEndpoints: props.interfaceEndpoints,
    });
    const { vpc, privateSubnets } = this.network;

    this.redis = new GatewayRedis(this, 'Redis', {
      vpc,
      subnets: privateSubnets,
      cacheNodeType: props.redisNodeType,
      snapshotCacheNodeType: props.snapshotRedisNodeType,
      namePrefix,
    });

    // Generated at deploy time, never in the template. The HMAC secret keys
    // every tenant ID: rolling it moves every key to a new tenant (a cold
    // start each), so it is long-lived and rolled by hand (docs/deploy.md).
    this.hmacSecret = new secretsmanager.Secret(this, 'HmacSecret', {
      description: 'warmroute WARMROUTE_SECRET: HMAC key of tenant ID derivation',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    // Letters and digits only: it travels in an HTTP header and in shell commands.
    this.adminToken = new secretsmanager.Secret(this, 'AdminToken', {
      description: 'warmroute WARMROUTE_ADMIN_TOKEN: bearer token of /v1/keys/*',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });

    this.functions = new ExampleFunctions(this, 'Functions', {
      namePrefix: `${namePrefix}-`,
      vpc,
      vpcSubnets: privateSubnets,
      reservedConcurrency: props.reservedConcurrency,
      snapshotRedis: {
        // The snapshot server only: the functions have no route to the directory's.
        host: this.redis.snapshots.host,
        port: this.redis.snapshots.port,
        username: this.redis.snapshotUser.userName,
        password: this.redis.snapshotUser.password,
        securityGroup: this.redis.snapshots.securityGroup,
      },
    });
    const setting = this.functions.gatewayFunctionsSetting();
    // The routes name functions as WARMROUTE_FUNCTIONS does: literal physical
    // names (the gateway checks every route against the allow-list at start).
    const fn = (name: ExampleFunctionName): string => {
      const physical = `${namePrefix}-${name}`;
      if (!(physical in setting)) throw new Error(`${physical} is not in WARMROUTE_FUNCTIONS`);
      return physical;
    };

    const image =
      props.image === undefined
        ? ecs.ContainerImage.fromAsset(packageRoot, {
            file: DOCKERFILE,
            exclude: IMAGE_CONTEXT_EXCLUDES,
            // The tasks run on X86_64 (GatewayService): built on an arm64
            // machine without this, the image would be arm64 and every task
            // would fail to start (exec format error).
            platform: Platform.LINUX_AMD64,
          })
        : ecs.ContainerImage.fromEcrRepository(
            ecr.Repository.fromRepositoryName(this, 'ImageRepository', props.image.repositoryName),
            props.image.tag,
          );

    this.gateway = new GatewayService(this, 'Gateway', {
      vpc,
      vpcCidr: this.network.cidr,
      subnets: privateSubnets,
      image,
      desiredCount,
      maxCount,
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      drain: this.drain,
      functions: Object.values(this.functions.functions),
      certificateArn: props.certificateArn,
      internetFacing: props.internetFacing === true,
      clientCidrs:
        props.clientCidrs ?? (props.internetFacing === true ? undefined : [this.network.cidr]),
      requestsPerTargetPerMinute: props.requestsPerTargetPerMinute,
      wafRateLimitPer5Min: props.wafRateLimitPer5Min,
      deletionProtection: props.deletionProtection,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      environment: {
        HOST: '0.0.0.0',
        PORT: String(GATEWAY_PORT),
        WARMROUTE_ADMIN_PORT: String(ADMIN_PORT),
        WARMROUTE_ADMIN_HOST: '0.0.0.0',
        WARMROUTE_ENV: 'production',
        WARMROUTE_BACKEND: 'aws',
        AWS_REGION: this.region,
        // The directory server, as the gateway's own user (directory keys only); its password is a secret below.
        REDIS_URL: this.redis.directory.urlFor(this.redis.gatewayUser.userName),
        // Set explicitly (even at their defaults): the load balancer's and
        // ECS's waits are computed from these values, so an image with other
        // built-in defaults cannot drift from them.
        WARMROUTE_SHUTDOWN_GRACE_MS: String(this.drain.shutdownGraceMs),
        WARMROUTE_REQUEST_TIMEOUT_MS: String(this.drain.requestTimeoutMs),
        // Above the load balancer's idle timeout, which follows the request timeout.
        WARMROUTE_KEEP_ALIVE_TIMEOUT_MS: String(this.drain.keepAliveTimeoutMs),
        // The allow-list: the gateway invokes these functions and no other.
        WARMROUTE_FUNCTIONS: this.toJsonString(setting),
        // The demo's affinity routes (README "Two commands"), on the deployed
        // names. No `fresh` route: every call of one is a new tenant
        // environment (a cold start and its charge) and counts towards the
        // function's tenant-environment cap, so a default route would let any
        // client run up cost and crowd out the `/` tenants of the same
        // function. Callers that need it opt in per call
        // (`x-affinity-mode: fresh` on the RPC route; docs/deploy.md).
        WARMROUTE_ROUTES: this.toJsonString([
          { prefix: '/warm', function: fn('warm-counter'), mode: 'affinity' },
          { prefix: '/workspace', function: fn('workspace'), mode: 'affinity' },
          { prefix: '/', function: fn('counter'), mode: 'affinity' },
        ]),
      },
      secrets: {
        WARMROUTE_SECRET: ecs.Secret.fromSecretsManager(this.hmacSecret),
        WARMROUTE_ADMIN_TOKEN: ecs.Secret.fromSecretsManager(this.adminToken),
        WARMROUTE_REDIS_PASSWORD: ecs.Secret.fromSecretsManager(this.redis.gatewayUser.password),
      },
    });

    // The gateway reaches the directory server only (it never touches
    // snapshots); the functions' rule to the snapshot server is added by
    // ExampleFunctions (snapshotRedis).
    this.redis.directory.allowFrom(this.gateway.taskSecurityGroup, 'gateway tasks (directory)');

    const executionRolePolicy =
      this.gateway.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionRolePolicy === undefined) throw new Error('the task has no execution role policy');
    addGatewayNagSuppressions({
      hmacSecret: this.hmacSecret,
      adminToken: this.adminToken,
      redisPasswords: [
        this.redis.gatewayUser.password,
        this.redis.snapshotUser.password,
        this.redis.adminUser.password,
      ],
      redisReplicationGroups: [
        this.redis.directory.replicationGroup,
        this.redis.snapshots.replicationGroup,
      ],
      taskDefinition: this.gateway.taskDefinition,
      executionRolePolicy,
      loadBalancerSecurityGroup: this.gateway.openToAnyone
        ? this.gateway.loadBalancerSecurityGroup
        : undefined,
      accessLogsBucket: this.gateway.accessLogsBucket,
    });

    // Everything docs/deploy.md's commands need, so none of them has to dig
    // through the stack's resources (describe-stack-resources).
    new CfnOutput(this, 'GatewayUrl', {
      value: `${props.certificateArn === undefined ? 'http' : 'https'}://${this.gateway.loadBalancer.loadBalancerDnsName}`,
      description: 'Base URL of the gateway (function traffic; internal unless internetFacing)',
    });
    new CfnOutput(this, 'ClusterName', {
      value: this.gateway.service.cluster.clusterName,
      description: 'ECS cluster of the gateway tasks',
    });
    new CfnOutput(this, 'ServiceName', {
      value: this.gateway.service.serviceName,
      description: 'ECS service of the gateway (force a new deployment after rolling a secret)',
    });
    new CfnOutput(this, 'VpcId', { value: vpc.vpcId, description: 'The VPC (bastion, VPN)' });
    new CfnOutput(this, 'PrivateSubnetId', {
      value: vpc.selectSubnets(privateSubnets).subnetIds[0] ?? '',
      description: 'A private subnet (for a Session Manager bastion)',
    });
    new CfnOutput(this, 'HmacSecretArn', {
      value: this.hmacSecret.secretArn,
      description: 'Secret holding WARMROUTE_SECRET',
    });
    new CfnOutput(this, 'AdminTokenSecretArn', {
      value: this.adminToken.secretArn,
      description: 'aws secretsmanager get-secret-value --secret-id <this> reads the admin token',
    });
    new CfnOutput(this, 'GatewayRedisPasswordSecretArn', {
      value: this.redis.gatewayUser.password.secretArn,
      description: `Secret holding the password of Redis user ${this.redis.gatewayUser.userName} (WARMROUTE_REDIS_PASSWORD)`,
    });
    new CfnOutput(this, 'SnapshotRedisPasswordSecretArn', {
      value: this.redis.snapshotUser.password.secretArn,
      description: `Secret holding the password of Redis user ${this.redis.snapshotUser.userName} (WARMROUTE_SNAPSHOT_REDIS_PASSWORD)`,
    });
    new CfnOutput(this, 'AdminRedisPasswordSecretArn', {
      value: this.redis.adminUser.password.secretArn,
      description: `Secret holding the password of the break-glass Redis user ${this.redis.adminUser.userName} of the directory server (off until modify-user turns it on)`,
    });
    new CfnOutput(this, 'AdminRedisUserId', {
      value: this.redis.adminUser.userName,
      description:
        'ElastiCache user ID of the break-glass user (aws elasticache modify-user --user-id <this>)',
    });
    new CfnOutput(this, 'RedisReplicationGroupId', {
      value: this.redis.directory.replicationGroup.ref,
      description: 'ElastiCache replication group of the directory (the gateway)',
    });
    new CfnOutput(this, 'RedisEndpoint', {
      value: this.redis.directory.url(),
      description: 'The directory server (REDIS_URL without its user)',
    });
    new CfnOutput(this, 'SnapshotRedisReplicationGroupId', {
      value: this.redis.snapshots.replicationGroup.ref,
      description: "ElastiCache replication group of the functions' snapshots",
    });
    new CfnOutput(this, 'SnapshotRedisEndpoint', {
      value: this.redis.snapshots.url(),
      description: 'The snapshot server (WARMROUTE_SNAPSHOT_REDIS_URL without its user)',
    });
  }
}
