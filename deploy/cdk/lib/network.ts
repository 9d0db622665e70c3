import { CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface GatewayNetworkProps {
  /**
   * NAT gateways for the private subnets (default 1). 0 makes the private
   * subnets isolated and turns on the interface endpoints, which then carry
   * everything the tasks and functions reach.
   */
  readonly natGateways?: number;
  /** Interface endpoints for Lambda, ECR, CloudWatch Logs and Secrets Manager (default: only when natGateways is 0). */
  readonly interfaceEndpoints?: boolean;
  readonly flowLogRetention?: logs.RetentionDays;
  /** Default `10.0.0.0/16`. A literal, not a token: security group rules name it. */
  readonly cidr?: string;
}

/**
 * The gateway's VPC: two AZs, public subnets (the load balancer and the NAT
 * gateway) and private subnets (the gateway's tasks, the functions, Redis).
 *
 * What the tasks reach outside the VPC: Lambda (Invoke), ECR (image
 * manifests on ecr.api/ecr.dkr, layers from S3), CloudWatch Logs (awslogs)
 * and Secrets Manager (ECS fetches the secrets when it starts a task). Two
 * ways there, and their cost (us-east-1 list prices):
 * - one NAT gateway (default): about 33 USD a month plus 0.045 USD per GB
 *   processed. One AZ's NAT serves both AZs, so losing that AZ stops the
 *   other AZ's egress too; `natGateways: 2` removes that at twice the price.
 * - interface endpoints: about 7.3 USD a month per endpoint per AZ, so five
 *   endpoints in two AZs cost about 73 USD a month, plus 0.01 USD per GB;
 *   cheaper per GB, dearer at rest, and nothing else on the internet is
 *   reachable (which is also their security value).
 * The S3 gateway endpoint is free and always on: image layers then never
 * pass through the NAT's per-GB charge.
 */
export class GatewayNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** Where the tasks, the functions and Redis live. */
  readonly privateSubnets: ec2.SubnetSelection;
  /** The VPC's CIDR as a literal (inside-the-VPC rules use it). */
  readonly cidr: string;

  constructor(scope: Construct, id: string, props: GatewayNetworkProps = {}) {
    super(scope, id);
    const natGateways = props.natGateways ?? 1;
    const interfaceEndpoints = props.interfaceEndpoints ?? natGateways === 0;
    if (natGateways === 0 && !interfaceEndpoints) {
      throw new Error(
        'natGateways 0 without interfaceEndpoints: the tasks could reach neither Lambda, ECR, CloudWatch Logs nor Secrets Manager',
      );
    }
    const privateType =
      natGateways === 0 ? ec2.SubnetType.PRIVATE_ISOLATED : ec2.SubnetType.PRIVATE_WITH_EGRESS;
    this.privateSubnets = { subnetType: privateType };

    this.cidr = props.cidr ?? '10.0.0.0/16';
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(this.cidr),
      maxAzs: 2,
      natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: privateType, cidrMask: 22 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      // The default security group of a new VPC allows all traffic between its
      // members; nothing here uses it, so it is emptied.
      restrictDefaultSecurityGroup: true,
    });

    this.narrowRestrictDefaultSgProvider(props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH);

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
    });

    if (interfaceEndpoints) {
      const endpoints: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
        Lambda: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
        EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      };
      for (const [name, service] of Object.entries(endpoints)) {
        // `open` (the default) lets the whole VPC CIDR reach the endpoint on 443, nothing more.
        this.vpc.addInterfaceEndpoint(name, { service, subnets: this.privateSubnets });
      }
    }
  }

  /**
   * `restrictDefaultSecurityGroup` runs a CDK custom resource whose role
   * carries AWS's AWSLambdaBasicExecutionRole: logs:CreateLogGroup,
   * CreateLogStream and PutLogEvents on every log group of the account. This
   * takes that managed policy off and grants the two write actions on the
   * handler's own log group, created here with a retention (Lambda would
   * otherwise create it on first run, never expiring, and leave it behind).
   * A separate policy, not the role's inline one: the log group's name comes
   * from the handler, which depends on the role.
   */
  private narrowRestrictDefaultSgProvider(retention: logs.RetentionDays): void {
    const provider = Stack.of(this).node.tryFindChild(
      'Custom::VpcRestrictDefaultSGCustomResourceProvider',
    );
    const role = provider?.node.tryFindChild('Role');
    const handler = provider?.node.tryFindChild('Handler');
    const customResource = this.vpc.node.tryFindChild('RestrictDefaultSecurityGroupCustomResource');
    if (
      !(role instanceof CfnResource) ||
      !(handler instanceof CfnResource) ||
      customResource === undefined
    ) {
      throw new Error(
        "CDK's restrict-default-security-group provider changed shape: revisit GatewayNetwork.narrowRestrictDefaultSgProvider",
      );
    }
    role.addPropertyDeletionOverride('ManagedPolicyArns');
    const logGroup = new logs.LogGroup(this, 'RestrictDefaultSgLogs', {
      logGroupName: `/aws/lambda/${handler.ref}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const policy = new iam.CfnPolicy(this, 'RestrictDefaultSgLogsPolicy', {
      policyName: 'own-log-group',
      roles: [role.ref],
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: logGroup.logGroupArn,
          },
        ],
      },
    });
    // Its log lines land only once the policy exists.
    customResource.node.addDependency(policy);
  }
}
