import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The constructs of the gateway stack that carry an acknowledged cdk-nag rule. */
export interface GatewayNagTargets {
  readonly hmacSecret: IConstruct;
  readonly adminToken: IConstruct;
  /** The Redis users' passwords (gateway, snapshots, admin). */
  readonly redisPasswords: readonly IConstruct[];
  /** The directory's and the snapshots' replication groups. */
  readonly redisReplicationGroups: readonly IConstruct[];
  readonly taskDefinition: IConstruct;
  readonly executionRolePolicy: IConstruct;
  /** Only when the listeners are open to anyone (internet-facing without clientCidrs): no other stack has a 0.0.0.0/0 rule. */
  readonly loadBalancerSecurityGroup: IConstruct | undefined;
  readonly accessLogsBucket: IConstruct;
}

/**
 * The AwsSolutions findings the gateway stack keeps, each acknowledged on
 * the one construct it concerns (cdk-nag 3: `Validations.acknowledge`), with
 * the reason it stays. Everything else the pack asks for is fixed instead:
 * VPC flow logs, ALB access logs, an SSL-only access-log bucket, Container
 * Insights, Redis encryption and AUTH, secrets through ECS `secrets`.
 */
export function addGatewayNagSuppressions(t: GatewayNagTargets): void {
  Validations.of(t.hmacSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'WARMROUTE_SECRET keys every tenant ID: an automatic rotation would move every key to a new tenant (a cold start each) at a random hour; it is rolled by hand (docs/deploy.md)',
  });
  Validations.of(t.adminToken).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The admin token is read once at task start; rotation needs a new deployment to reach the tasks, so it is rolled with one (update the secret, then force a new deployment)',
  });
  for (const password of t.redisPasswords) {
    Validations.of(password).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An ElastiCache RBAC user password changes through ModifyUser (two passwords while clients move over, then one), which no rotation Lambda of this stack performs; rolled by hand (docs/deploy.md)',
    });
  }
  for (const group of t.redisReplicationGroups) {
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-AEC6',
      reason:
        'Authentication is RBAC, not one AUTH token: each group has its own user group (directory: a gateway user limited to the directory keys and a break-glass admin switched off; snapshots: a snapshot user limited to the snapshot keys); ElastiCache takes AuthToken or UserGroupIds, not both',
    });
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-AEC5',
      reason:
        "Port 6379 is the convention every deploy/ artifact shares; a non-default port adds no protection behind a security group open only to the group's own clients, TLS and AUTH",
    });
  }
  Validations.of(t.taskDefinition).acknowledge({
    id: 'AwsSolutions-ECS2',
    reason:
      'The container environment holds only non-secret settings (ports, Redis URL without password, function allow-list); the three secrets arrive through ECS secrets from Secrets Manager',
  });
  Validations.of(t.executionRolePolicy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'ecr:GetAuthorizationToken, added by CDK for pulling the image, supports no resource-level permission; every other statement of the execution role names its repository, log group or secret',
  });
  if (t.loadBalancerSecurityGroup !== undefined) {
    Validations.of(t.loadBalancerSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'Opted in (internetFacing with acknowledgeClientChosenKeys and a certificate): the load balancer takes HTTPS on 443 and the redirect on 80 from anywhere; its egress reaches only the gateway tasks',
    });
  }
  Validations.of(t.accessLogsBucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'This bucket receives the load balancer access logs; logging its own accesses to itself would loop, and a second log bucket would only move the same finding one bucket further',
  });
}
