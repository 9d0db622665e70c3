/**
 * Lambda's limits that the gateway, the SDK and the local host all enforce.
 * This module imports nothing, so `warmroute/sdk` can read it without
 * loading TypeBox, ioredis or the AWS SDK.
 */

/**
 * Lambda's synchronous (RequestResponse) payload limit, 6 MB, for the
 * request and for the response alike. The gateway's default and maximum
 * `WARMROUTE_MAX_PAYLOAD_BYTES`, the SDK's payload check, the local host's
 * Invoke API limit, and the number a RequestTooLargeException is reported with.
 */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6_291_456;
