import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The port every artifact of deploy/ uses for Redis (REDIS_URL, security groups). */
export const REDIS_PORT = 6379;

/**
 * What Secrets Manager may put in a generated password (its documented set:
 * letters, digits and this punctuation) and what ElastiCache accepts in an
 * AUTH token besides letters and digits (`! & # $ ^ < > -`, CreateReplicationGroup
 * AuthToken): everything else is excluded from the generated token.
 */
export const SECRETS_MANAGER_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
export const AUTH_TOKEN_PUNCTUATION = '!&#$^<>-';
export const AUTH_TOKEN_EXCLUDED = Array.from(SECRETS_MANAGER_PUNCTUATION)
  .filter((c) => !AUTH_TOKEN_PUNCTUATION.includes(c))
  .join('');

export interface GatewayRedisProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** Default `cache.t4g.small`. */
  readonly cacheNodeType?: string;
  readonly namePrefix: string;
}

/**
 * Redis for the directory and the functions' snapshots: ElastiCache, cluster
 * mode disabled (one shard; warmroute's keys carry hash tags, so cluster mode
 * can come later), a primary and one replica in two AZs with automatic
 * failover, TLS in transit, encryption at rest, and an AUTH token generated
 * in Secrets Manager that reaches the template only as a dynamic reference.
 *
 * The security group starts with no ingress at all: `allowFrom` opens 6379
 * to one client security group at a time (the gateway's tasks, the functions).
 */
export class GatewayRedis extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly authToken: secretsmanager.Secret;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** Primary endpoint's host name (a token). */
  readonly host: string;
  readonly port: number = REDIS_PORT;

  constructor(scope: Construct, id: string, props: GatewayRedisProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'warmroute Redis: 6379 from the gateway tasks and the functions only',
      // Redis answers; it never opens a connection.
      allowAllOutbound: false,
    });

    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'warmroute Redis AUTH token (WARMROUTE_REDIS_PASSWORD)',
      generateSecretString: {
        passwordLength: 64,
        excludeCharacters: AUTH_TOKEN_EXCLUDED,
        includeSpace: false,
      },
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'warmroute Redis: the private subnets',
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: `${props.namePrefix} directory and snapshots`,
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: props.cacheNodeType ?? 'cache.t4g.small',
      // Cluster mode disabled: one node group, a primary and one replica.
      numNodeGroups: 1,
      replicasPerNodeGroup: 1,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // A dynamic reference ({{resolve:secretsmanager:…}}): CloudFormation reads
      // the value at deploy time; the template holds only the secret's ARN.
      authToken: this.authToken.secretValue.unsafeUnwrap(),
      port: REDIS_PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 1,
      autoMinorVersionUpgrade: true,
    });
    this.host = this.replicationGroup.attrPrimaryEndPointAddress;
  }

  /**
   * Opens 6379 to one client security group and nothing else (and the
   * client's egress to it, when the client restricts its egress).
   */
  allowFrom(client: ec2.ISecurityGroup, description: string): void {
    this.securityGroup.connections.allowFrom(client, ec2.Port.tcp(REDIS_PORT), description);
  }

  /** `rediss://host:port`: TLS, no credentials in the URL (the password comes from its secret). */
  url(): string {
    return `rediss://${this.host}:${this.port}`;
  }
}
