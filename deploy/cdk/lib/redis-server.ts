import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';

/** The port every artifact of deploy/ uses for Redis (REDIS_URL, security groups). */
export const REDIS_PORT = 6379;

/** The engine version of every group, and the parameter group family that goes with it. */
const ENGINE_VERSION = '7.1';
const PARAMETER_GROUP_FAMILY = 'redis7';

export interface RedisServerProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly cacheNodeType: string;
  /** What this server holds (descriptions of the group, its security group, its alarm). */
  readonly purpose: string;
  /** ElastiCache user group ID (unique per account and region). */
  readonly userGroupId: string;
  /** The ElastiCache users (`ref`s) in this server's user group: nobody else can authenticate. */
  readonly userIds: readonly string[];
  /** `maxmemory-policy` of this server's own parameter group. */
  readonly maxmemoryPolicy: 'noeviction' | 'allkeys-lru' | 'volatile-lru';
  /** DatabaseMemoryUsagePercentage above which the alarm fires (of maxmemory). */
  readonly memoryAlarmPercent: number;
}

/**
 * One ElastiCache replication group with its own security group (no ingress
 * until `allowFrom`), its own RBAC user group and its own parameter group:
 * cluster mode disabled (one shard; warmroute's keys carry hash tags, so
 * cluster mode can come later), a primary and one replica in two AZs with
 * automatic failover, TLS in transit, encryption at rest.
 */
export class RedisServer extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly userGroup: elasticache.CfnUserGroup;
  readonly parameterGroup: elasticache.CfnParameterGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly memoryAlarm: cloudwatch.Alarm;
  /** Primary endpoint's host name (a token). */
  readonly host: string;
  readonly port: number = REDIS_PORT;

  constructor(scope: Construct, id: string, props: RedisServerProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `warmroute Redis (${props.purpose}): 6379 from its own clients only`,
      // Redis answers; it never opens a connection.
      allowAllOutbound: false,
    });
    this.userGroup = new elasticache.CfnUserGroup(this, 'Users', {
      engine: 'redis',
      userGroupId: props.userGroupId,
      userIds: [...props.userIds],
    });
    this.parameterGroup = new elasticache.CfnParameterGroup(this, 'Parameters', {
      cacheParameterGroupFamily: PARAMETER_GROUP_FAMILY,
      description: `warmroute Redis (${props.purpose}): maxmemory-policy ${props.maxmemoryPolicy}`,
      properties: { 'maxmemory-policy': props.maxmemoryPolicy },
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: `warmroute Redis (${props.purpose}): the private subnets`,
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: `warmroute ${props.purpose}`,
      engine: 'redis',
      engineVersion: ENGINE_VERSION,
      cacheNodeType: props.cacheNodeType,
      cacheParameterGroupName: this.parameterGroup.ref,
      // Cluster mode disabled: one node group, a primary and one replica.
      numNodeGroups: 1,
      replicasPerNodeGroup: 1,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // RBAC: the user group replaces the AUTH token (ElastiCache takes one or the other).
      userGroupIds: [this.userGroup.ref],
      port: REDIS_PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 1,
      autoMinorVersionUpgrade: true,
    });
    this.host = this.replicationGroup.attrPrimaryEndPointAddress;

    // ElastiCache publishes memory per node (`<group>-001`, `-002`; either may
    // be the primary after a failover): the alarm watches the fuller one.
    const nodeMemory = (node: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/ElastiCache',
        metricName: 'DatabaseMemoryUsagePercentage',
        dimensionsMap: { CacheClusterId: `${this.replicationGroup.ref}-${node}` },
        statistic: 'Maximum',
        period: Duration.minutes(5),
      });
    this.memoryAlarm = new cloudwatch.Alarm(this, 'MemoryAlarm', {
      alarmDescription: `warmroute Redis (${props.purpose}): memory above ${String(props.memoryAlarmPercent)}% of maxmemory (policy ${props.maxmemoryPolicy})`,
      metric: new cloudwatch.MathExpression({
        expression: 'MAX([primary, replica])',
        usingMetrics: { primary: nodeMemory('001'), replica: nodeMemory('002') },
        label: 'DatabaseMemoryUsagePercentage (fuller node)',
        period: Duration.minutes(5),
      }),
      threshold: props.memoryAlarmPercent,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * Opens 6379 to one client security group and nothing else (and the
   * client's egress to it, when the client restricts its egress).
   */
  allowFrom(client: ec2.ISecurityGroup, description: string): void {
    this.securityGroup.connections.allowFrom(client, ec2.Port.tcp(REDIS_PORT), description);
  }

  /** `rediss://host:port`: TLS, no credentials. */
  url(): string {
    return `rediss://${this.host}:${String(this.port)}`;
  }

  /**
   * `rediss://<user>@host:port`: the user name in the URL, the password apart
   * (WARMROUTE_REDIS_PASSWORD / WARMROUTE_SNAPSHOT_REDIS_PASSWORD; both
   * clients pass a URL user name and a separate password to ioredis, src/redis/client.ts).
   */
  urlFor(userName: string): string {
    return `rediss://${userName}@${this.host}:${String(this.port)}`;
  }
}
