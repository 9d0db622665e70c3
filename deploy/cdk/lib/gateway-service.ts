import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { defaults } from '../../../src/config/schema.js';
import type { DrainTiming } from './drain-timing.js';

/** Function traffic (RPC and proxy routes): the only port the load balancer's listeners forward to. */
export const GATEWAY_PORT = defaults.port;
/** Admin, `/metrics`, `/healthz`, `/readyz` (`WARMROUTE_ADMIN_PORT`): reachable from inside the VPC only. */
export const ADMIN_PORT = 9090;
/** What the target group's health check asks on ADMIN_PORT (src/http/routes/health.ts). */
export const READINESS_PATH = '/readyz';

export interface GatewayServiceProps {
  readonly vpc: ec2.IVpc;
  /** The VPC's CIDR (a literal): the admin port's only source besides the load balancer. */
  readonly vpcCidr: string;
  readonly subnets: ec2.SubnetSelection;
  readonly image: ecs.ContainerImage;
  /**
   * The autoscaling minimum: the tasks at rest. Not the service's
   * DesiredCount, which stays unset (see the service below).
   */
  readonly desiredCount: number;
  readonly maxCount: number;
  readonly cpu: number;
  readonly memoryLimitMiB: number;
  /** Plain settings (never a secret). */
  readonly environment: Readonly<Record<string, string>>;
  /** Settings that are secrets: injected by ECS from Secrets Manager. */
  readonly secrets: Readonly<Record<string, ecs.Secret>>;
  readonly drain: DrainTiming;
  /** The functions the gateway may invoke: the task role's only Lambda permission. */
  readonly functions: readonly lambda.IFunction[];
  /** ACM certificate for an HTTPS listener on 443 (then 80 redirects to it). */
  readonly certificateArn?: string;
  /**
   * An internet-facing load balancer in the public subnets. Default false: an
   * internal load balancer in the private subnets (GatewayStack decides when
   * this may be true).
   */
  readonly internetFacing: boolean;
  /**
   * The only networks the listeners take clients from (the VPC, peered
   * networks, a VPN; on an internet-facing load balancer, your offices or
   * your proxy's addresses). Undefined: open to anyone, allowed only with
   * `internetFacing`. Neither empty (nobody could connect) nor a `/0` (that
   * is "anyone": say so by leaving it undefined on an internet-facing one).
   */
  readonly clientCidrs: readonly string[] | undefined;
  /** ALB requests per target per minute to scale on, in addition to CPU. */
  readonly requestsPerTargetPerMinute?: number;
  /** The load balancer refuses deletion (production; `cdk destroy` then needs it turned off first). */
  readonly deletionProtection?: boolean;
  /** Requests per client IP per 5 minutes above which WAF blocks (no web ACL when unset). */
  readonly wafRateLimitPer5Min?: number;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The gateway on ECS Fargate behind an Application Load Balancer: internal
 * (private subnets, clients from `clientCidrs`) unless `internetFacing`.
 */
export class GatewayService extends Construct {
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly taskSecurityGroup: ec2.SecurityGroup;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly logGroup: logs.LogGroup;
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  readonly accessLogsBucket: s3.Bucket;
  readonly webAcl: wafv2.CfnWebACL | undefined;
  /** The listeners take anyone (internet-facing, no clientCidrs): the load balancer's security group has 0.0.0.0/0 rules. */
  readonly openToAnyone: boolean;

  constructor(scope: Construct, id: string, props: GatewayServiceProps) {
    super(scope, id);
    const { vpc } = props;

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryLimitMiB,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
      },
    });
    // Exactly the configured functions, unqualified: the gateway invokes
    // `$LATEST` by name (no version or alias in WARMROUTE_FUNCTIONS), so no
    // `:*` qualifier ARN is granted (lambda.grantInvoke would add one).
    this.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: props.functions.map((f) => f.functionArn),
      }),
    );

    const container = this.taskDefinition.addContainer('gateway', {
      image: props.image,
      essential: true,
      environment: { ...props.environment },
      secrets: { ...props.secrets },
      portMappings: [
        { containerPort: GATEWAY_PORT, name: 'public' },
        { containerPort: ADMIN_PORT, name: 'admin' },
      ],
      // With backend `aws` the gateway writes no file: the local Lambda host
      // (src/localhost/, the only code that creates files and TMPDIRs) is not
      // started, logs go to stdout, credentials come from the task role's
      // endpoint. A read-only root file system then costs nothing and stops
      // an attacker from dropping files into the image.
      readonlyRootFilesystem: true,
      stopTimeout: Duration.seconds(props.drain.stopTimeoutSeconds),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'gateway', logGroup: this.logGroup }),
    });

    this.taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc,
      description: `warmroute gateway tasks: ${GATEWAY_PORT} from the load balancer, ${ADMIN_PORT} from the load balancer and the VPC`,
      allowAllOutbound: false,
    });
    this.taskSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'AWS APIs (Lambda, ECR, CloudWatch Logs, Secrets Manager) through the NAT gateway or the VPC endpoints',
    );
    this.taskSecurityGroup.addIngressRule(
      ec2.Peer.ipv4(props.vpcCidr),
      ec2.Port.tcp(ADMIN_PORT),
      'admin, metrics and health from inside the VPC (Prometheus, operators)',
    );

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition: this.taskDefinition,
      // No DesiredCount: CloudFormation sends it with every UpdateService, so
      // each deploy would reset a service autoscaling had scaled out to 10
      // back to the fixed count mid-rollout (aws/aws-cdk#3919,
      // aws/containers-roadmap#493). Unset, ECS starts a new service with one
      // task, keeps the current count on updates, and the scalable target's
      // minimum (props.desiredCount) brings it up to the floor.
      vpcSubnets: props.subnets,
      securityGroups: [this.taskSecurityGroup],
      assignPublicIp: false,
      // Start new tasks before stopping old ones, and roll back a deployment
      // whose tasks never become healthy.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      // Start-up waits at most WARMROUTE_REDIS_CONNECT_TIMEOUT_MS (2 s) for
      // Redis and then serves degraded, so a task is ready within seconds;
      // this only spares a slow image pull from being counted as unhealthy.
      healthCheckGracePeriod: Duration.seconds(30),
    });

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // ALB access logs support SSE-S3 only, not KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: 'warmroute load balancer: HTTP(S) from clients, to the gateway tasks only',
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: props.internetFacing,
      vpcSubnets: props.internetFacing ? { subnetType: ec2.SubnetType.PUBLIC } : props.subnets,
      securityGroup: this.loadBalancerSecurityGroup,
      // Derived from the request timeout, below the gateway's keep-alive (drain-timing.ts).
      idleTimeout: Duration.seconds(props.drain.albIdleTimeoutSeconds),
      dropInvalidHeaderFields: true,
      deletionProtection: props.deletionProtection === true,
    });
    this.loadBalancer.logAccessLogs(this.accessLogsBucket, 'alb');
    this.webAcl =
      props.wafRateLimitPer5Min === undefined
        ? undefined
        : this.rateLimit(props.wafRateLimitPer5Min);

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: GATEWAY_PORT,
      targets: [
        this.service.loadBalancerTarget({
          containerName: container.containerName,
          containerPort: GATEWAY_PORT,
        }),
      ],
      deregistrationDelay: Duration.seconds(props.drain.deregistrationDelaySeconds),
      // /readyz on the admin port: 200 while the task can serve (also
      // `degraded` with Redis down, when it still routes on derived tenant
      // IDs: failing it then would take every task out at once), 503 once it
      // is shutting down. Every 10 s; 2 passes (20 s) put a new task in
      // service, 3 failures (30 s) take a stuck one out without reacting to
      // one slow answer (timeout 5 s, well above a local route's
      // milliseconds).
      healthCheck: {
        path: READINESS_PATH,
        port: String(ADMIN_PORT),
        protocol: elbv2.Protocol.HTTP,
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    // The health check reaches the admin port; listeners forward to GATEWAY_PORT only.
    this.taskSecurityGroup.connections.allowFrom(
      this.loadBalancerSecurityGroup,
      ec2.Port.tcp(ADMIN_PORT),
      'load balancer health checks on the admin port',
    );

    // No clientCidrs (internet-facing only): the listeners take anyone
    // (`open`). Otherwise only the client networks, on the listener ports,
    // internal or internet-facing alike.
    const open = checkClientCidrs(props.internetFacing, props.clientCidrs);
    this.openToAnyone = open;
    const listenerPorts = props.certificateArn === undefined ? [80] : [80, 443];
    if (props.clientCidrs !== undefined) {
      for (const cidr of props.clientCidrs) {
        for (const port of listenerPorts) {
          this.loadBalancerSecurityGroup.addIngressRule(
            ec2.Peer.ipv4(cidr),
            ec2.Port.tcp(port),
            `gateway clients inside ${cidr}`,
          );
        }
      }
    }
    if (props.certificateArn === undefined) {
      // Plain HTTP: only on an internal load balancer (GatewayStack refuses
      // an internet-facing one without a certificate).
      this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open,
        defaultTargetGroups: [this.targetGroup],
      });
    } else {
      this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        open,
        certificates: [
          acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
        ],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
      });
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open });
    }

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: props.desiredCount,
      maxCapacity: props.maxCount,
    });
    // The gateway's CPU goes into TLS, JSON and signing; most of a request's
    // time is spent waiting for Lambda, so CPU is a cautious signal and 60 %
    // leaves headroom for a burst while new tasks start (about a minute).
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 60,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    if (props.requestsPerTargetPerMinute !== undefined) {
      scaling.scaleOnRequestCount('Requests', {
        requestsPerTarget: props.requestsPerTargetPerMinute,
        targetGroup: this.targetGroup,
        scaleOutCooldown: Duration.seconds(60),
        scaleInCooldown: Duration.seconds(300),
      });
    }
  }

  /**
   * A regional web ACL on the load balancer: allow by default, block a client
   * IP over `limit` requests in WAF's 5-minute window. It bounds what one
   * address can cost (each new key or fresh call may be a cold start); it does
   * not stop many addresses, nor clients behind one shared proxy address.
   */
  private rateLimit(limit: number): wafv2.CfnWebACL {
    // WAF's own bounds for a rate-based rule's limit.
    if (!Number.isInteger(limit) || limit < 10 || limit > 2_000_000_000) {
      throw new Error(
        `wafRateLimitPer5Min must be an integer from 10 to 2,000,000,000, got ${limit}`,
      );
    }
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });
    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('warmroute-gateway'),
      rules: [
        {
          name: 'rate-per-ip',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: 300 },
          },
          visibilityConfig: visibility('warmroute-gateway-rate-per-ip'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.loadBalancer.loadBalancerArn,
      webAclArn: acl.attrArn,
    });
    return acl;
  }
}

/**
 * Whether the listeners are open to anyone: only on an internet-facing load
 * balancer given no clientCidrs. A list that would silently mean "nobody"
 * (empty) or "anyone" (a /0) is refused, so what the caller wrote is what
 * the security group does.
 */
function checkClientCidrs(internetFacing: boolean, cidrs: readonly string[] | undefined): boolean {
  if (cidrs === undefined) {
    if (!internetFacing) {
      throw new Error('GatewayService: an internal load balancer needs clientCidrs');
    }
    return true;
  }
  if (cidrs.length === 0) {
    throw new Error(
      'clientCidrs is empty: no client could reach the load balancer (leave it out for the default, the VPC)',
    );
  }
  const everyone = cidrs.filter((c) => /\/0$/.test(c.trim()));
  if (everyone.length > 0) {
    throw new Error(
      `clientCidrs ${everyone.join(', ')} admits every address: name the client networks, or (internetFacing only) leave clientCidrs out to open the listeners to anyone`,
    );
  }
  return false;
}
