/**
 * How long past `WARMROUTE_SHUTDOWN_GRACE_MS` the gateway still waits for an
 * orderly close before it exits 1 with calls still open (src/main.ts). Every
 * orchestrator that stops the gateway (ECS stopTimeout, Kubernetes
 * terminationGracePeriodSeconds, compose stop_grace_period; see deploy/) must
 * wait at least grace + this before SIGKILL, so the deploy checks import it.
 * No imports: the CDK app and the tests load it without the gateway.
 */
export const SHUTDOWN_BACKSTOP_MS = 5_000;
