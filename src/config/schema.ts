import Type, { type Static } from 'typebox';
import { MIN_SECRET_LENGTH } from '../directory/resolve-secret.js';
import {
  MAX_POOL_SIZE,
  MAX_TENANT_PREFIX_LENGTH,
  TENANT_PREFIX_PATTERN,
} from '../directory/tenant-id.js';
import { DEFAULT_KEY_HEADER } from '../key-header.js';
import { LAMBDA_SYNC_PAYLOAD_BYTES } from '../lambda-limits.js';
import { GatewayFunctionSettingsSchema } from './function-settings.js';
import { ROUTING_MODES } from '../routing-mode.js';

/**
 * The gateway's configuration: one schema, the single source of the types,
 * the validation and the README's settings table (`settings` below lists
 * every environment variable with its field and meaning).
 */

/** What the RPC route accepts as a function name (a name, a partial or a full ARN). */
export const FUNCTION_NAME_PATTERN = '^[a-zA-Z0-9_:.-]+$';
// Hostnames, IPv4 and IPv6 addresses (with a zone id): anything else fails at listen().
const HOST_PATTERN = '^[A-Za-z0-9._:%\\[\\]-]+$';

const KeySource = Type.Object(
  {
    from: Type.Enum(['header', 'cookie', 'path', 'json']),
    /**
     * Header name, cookie name, path parameter name, or dotted JSON field
     * path; what each kind accepts is checked by `keySourceProblem` in
     * src/config/check-config.ts (one error per source kind, so the config
     * report names the rule rather than a union's every branch).
     */
    name: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

/** What the tenant-environment budget does with a request its key cannot get a tenant for. */
export const BUDGET_POLICIES = ['queue', 'pool', 'reject'] as const;

/**
 * A route's keep-warm opt-in (README "Keep-warm"; src/budget/keep-warm.ts):
 * the function must answer the library's keep-warm ping. Bounded so that no
 * configuration can make the gateway a ping storm.
 */
export const KeepWarmSchema = Type.Object(
  {
    /** Most pings a minute for the route's function (token bucket rate). */
    pingsPerMinute: Type.Integer({ minimum: 1, maximum: 6_000 }),
    /** Pings that may be saved up; default ⌈pingsPerMinute / 6⌉. */
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 6_000 })),
    /** Billed init time of a new environment, ms (prices a cold start). Default 500. */
    initMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    /** Billed time the handler spends rehydrating a key after a cold start, ms. Default 0. */
    rehydrateMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 900_000 })),
    /** Deadline of one ping, ms. Default 2,000. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

/**
 * A route's tenant-environment budget (README "Tenant-environment budget").
 * Which fields each policy reads, and that `pool` needs `domain`, is checked
 * in src/config/check-config.ts (one message per rule).
 */
export const BudgetSchema = Type.Object(
  {
    policy: Type.Enum(BUDGET_POLICIES),
    /** `queue`: longest wait for a place, ms; default `WARMROUTE_MAX_QUEUE_WAIT_MS`. */
    queueWaitMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 900_000 })),
    /** `pool`: where the request's isolation domain (e.g. its organisation) is read. */
    domain: Type.Optional(KeySource),
    /** `pool`: pooled tenants per domain. Default 4. */
    poolTenants: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
    /** Keep-warm pings for the route's keys (proxy routes only); absent: none. */
    keepWarm: Type.Optional(KeepWarmSchema),
  },
  { additionalProperties: false },
);

export const RouteSchema = Type.Object(
  {
    /** Path prefix this route owns, e.g. `/` or `/api/notebooks`. Longest prefix wins. */
    // No `:`, `*`, `(`, `)`: they are router syntax (parameters, wildcards), not path text;
    // no `%`, `?`, `#`: a prefix is matched against the decoded path, without query.
    prefix: Type.String({ pattern: "^/[A-Za-z0-9._~!$&'+,;=@/-]*$", maxLength: 512 }),
    function: Type.String({ minLength: 1, maxLength: 140, pattern: FUNCTION_NAME_PATTERN }),
    mode: Type.Enum(ROUTING_MODES),
    /** Slots for `pooled` mode. */
    poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_POOL_SIZE })),
    /** Where the key comes from; default: the key header. */
    key: Type.Optional(KeySource),
    /**
     * Path template under the prefix naming path parameters, e.g.
     * `/notebooks/{notebook}/{proxy+}`; used by the `path` key extractor and
     * the event's `pathParameters`.
     */
    pathTemplate: Type.Optional(Type.String({ pattern: '^/', maxLength: 512 })),
    /** What happens when the function's tenant-environment budget is full; default `queue`. */
    budget: Type.Optional(BudgetSchema),
    // Media types whose bodies are binary, as API Gateway's `binaryMediaTypes`:
    // `image/png`, `image/*`, `*/*`. Absent or empty: none, every body is text.
    // The rules: `src/http/binary-media-types.ts` and README "Routes".
    binaryMediaTypes: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^(\\*/\\*|[A-Za-z0-9!#$&^_.+-]+/(\\*|[A-Za-z0-9!#$&^_.+-]+))$',
          maxLength: 255,
        }),
        { maxItems: 100 },
      ),
    ),
  },
  { additionalProperties: false },
);

// One type for a function's settings, shared with the local host's functions file.
export {
  FunctionSettingsSchema,
  GatewayFunctionSettingsSchema,
  type FunctionSettings,
  type GatewayFunctionSettings,
} from './function-settings.js';

export const ConfigSchema = Type.Object(
  {
    production: Type.Boolean(),
    host: Type.String({ minLength: 1, maxLength: 255, pattern: HOST_PATTERN }),
    port: Type.Integer({ minimum: 0, maximum: 65_535 }),
    adminHost: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: HOST_PATTERN })),
    adminPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535 })),
    headersTimeoutMs: Type.Integer({ minimum: 10, maximum: 600_000 }),
    bodyTimeoutMs: Type.Integer({ minimum: 10, maximum: 3_600_000 }),
    keepAliveTimeoutMs: Type.Integer({ minimum: 1, maximum: 600_000 }),
    maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    // Seeds `host:port` / `rediss://[user@]host:port`, comma-separated; their syntax
    // is checked by parseClusterSeeds (src/redis/cluster-seeds.ts) in check-config.ts.
    redisClusterNodes: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
    // ElastiCache AUTH tokens are 16-128 printable characters; Redis itself takes any
    // non-empty string. The bound only keeps a pasted file out of a setting.
    redisPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    secret: Type.Optional(Type.String({ minLength: MIN_SECRET_LENGTH })),
    // Visible ASCII: the token is compared with a header value, which is Latin-1 text.
    adminToken: Type.Optional(Type.String({ minLength: 16, maxLength: 4096, pattern: '^[!-~]+$' })),
    backend: Type.Enum(['local', 'endpoint', 'aws']),
    lambdaEndpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
    lambdaPipeline: Type.Enum(['fast', 'sdk']),
    // A host label: the SDK's endpoint rules refuse anything else at the first call.
    region: Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$' }),
    localHost: Type.String({ minLength: 1, maxLength: 255, pattern: HOST_PATTERN }),
    localPort: Type.Integer({ minimum: 0, maximum: 65_535 }),
    localControlToken: Type.Optional(
      Type.String({ minLength: 16, maxLength: 4096, pattern: '^[!-~]+$' }),
    ),
    functionsFile: Type.Optional(Type.String({ minLength: 1 })),
    keyHeader: Type.String({ pattern: '^[a-z0-9-]+$' }),
    namespace: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    tenantPrefix: Type.String({
      maxLength: MAX_TENANT_PREFIX_LENGTH,
      pattern: TENANT_PREFIX_PATTERN.source,
    }),
    // lru-cache allocates its index for `max` entries up front (10 M would be 320 MB at start).
    l1Max: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    // lru-cache reads a TTL of 0 as "never expires", the opposite of what this bound is for.
    l1TtlMs: Type.Integer({ minimum: 1, maximum: 86_400_000 }),
    keyIdleTtlSeconds: Type.Integer({ minimum: 60, maximum: 31_536_000 }),
    redisCommandTimeoutMs: Type.Integer({ minimum: 1, maximum: 60_000 }),
    redisConnectTimeoutMs: Type.Integer({ minimum: 1, maximum: 600_000 }),
    redisMaxReconnectDelayMs: Type.Integer({ minimum: 1, maximum: 600_000 }),
    statsFlushIntervalMs: Type.Integer({ minimum: 10, maximum: 3_600_000 }),
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 900_000 }),
    serializePerKey: Type.Boolean(),
    maxQueuePerKey: Type.Integer({ minimum: 0, maximum: 100_000 }),
    // The scheduler refuses 0 (a queue nobody may wait in); use maxQueuePerKey 0 for that.
    maxQueueWaitMs: Type.Integer({ minimum: 1, maximum: 900_000 }),
    perTenantConcurrency: Type.Integer({ minimum: 1, maximum: 100_000 }),
    globalConcurrency: Type.Integer({ minimum: 1, maximum: 100_000 }),
    maxGlobalQueue: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    // At least 1: HTTP's Retry-After is whole seconds and the error handler
    // sends no less than 1, so a 0 here would reach the embedded SDK
    // transport as 0 and HTTP clients as 1.
    queueRetryAfterSeconds: Type.Integer({ minimum: 1, maximum: 3_600 }),
    maxPayloadBytes: Type.Integer({ minimum: 1, maximum: LAMBDA_SYNC_PAYLOAD_BYTES }),
    coldStartPricePerGb: Type.Number({ minimum: 0, maximum: 1_000_000 }),
    logTail: Type.Boolean(),
    logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    stage: Type.String({ minLength: 1, maxLength: 64 }),
    shutdownGraceMs: Type.Integer({ minimum: 0, maximum: 600_000 }),
    routes: Type.Array(RouteSchema, { maxItems: 1000 }),
    /**
     * The RPC route's (and the SDK's) budget; proxy routes set their own.
     * Set in the config file (no environment variable).
     */
    rpcBudget: Type.Optional(BudgetSchema),
    functions: Type.Record(
      Type.String({ minLength: 1, maxLength: 140 }),
      GatewayFunctionSettingsSchema,
    ),
  },
  { additionalProperties: false },
);

export type RouteConfig = Static<typeof RouteSchema>;
export type BudgetConfig = Static<typeof BudgetSchema>;
export type KeepWarmConfig = Static<typeof KeepWarmSchema>;
export type Config = Readonly<Static<typeof ConfigSchema>>;
export type ConfigField = keyof Static<typeof ConfigSchema>;

export type SettingKind = 'string' | 'integer' | 'number' | 'boolean' | 'json';

export interface Setting {
  readonly env: string;
  /** Config field it sets; null for variables the loader reads itself (file path, mode). */
  readonly field: ConfigField | null;
  readonly kind: SettingKind;
  readonly description: string;
}

/**
 * Every environment variable of the gateway's config. Only the config loader
 * (`loadConfig`) reads them, from the map its caller hands it (`main`,
 * `warmroute local`, `createGateway`, the SDK's embedded transport). What
 * else reads `process.env` does so on purpose, none of it a setting: the
 * functions file's `${VAR}` substitution and the variables the local host
 * passes to environments (PATH, LANG, AWS credentials) come from the host's
 * environment (`loadFunctionsFile` in src/localhost/function-registry.ts,
 * src/localhost/local-host.ts); the CLI turns off the AWS SDK's Node version
 * warning (src/cli.ts); an environment's bootstrap reads what Lambda sets
 * (src/localhost/bootstrap.ts); the SDK's default client reads its own
 * variables (src/sdk/default-client.ts).
 */
export const settings: readonly Setting[] = [
  {
    env: 'HOST',
    field: 'host',
    kind: 'string',
    description: 'Gateway listen address (default `127.0.0.1`).',
  },
  {
    env: 'PORT',
    field: 'port',
    kind: 'integer',
    description: 'Gateway listen port (default `3000`).',
  },
  {
    env: 'WARMROUTE_ADMIN_PORT',
    field: 'adminPort',
    kind: 'integer',
    description:
      'When set, admin (`/v1/keys/*`), `/metrics`, `/healthz` and `/readyz` are served on this port only, and the public port carries function traffic alone (RPC and proxy routes). Unset: one port for everything.',
  },
  {
    env: 'WARMROUTE_ADMIN_HOST',
    field: 'adminHost',
    kind: 'string',
    description:
      'Listen address of the admin port (default: `HOST`). Needs `WARMROUTE_ADMIN_PORT`.',
  },
  {
    env: 'WARMROUTE_HEADERS_TIMEOUT_MS',
    field: 'headersTimeoutMs',
    kind: 'integer',
    description:
      "Longest time a client may take to send a request's line and headers; then 408 and the connection is closed (default `10000`).",
  },
  {
    env: 'WARMROUTE_BODY_TIMEOUT_MS',
    field: 'bodyTimeoutMs',
    kind: 'integer',
    description:
      'Longest time a client may take to send a whole request, body included; then 408 and the connection is closed, nothing invoked. At least `WARMROUTE_HEADERS_TIMEOUT_MS` (default `60000`).',
  },
  {
    env: 'WARMROUTE_KEEP_ALIVE_TIMEOUT_MS',
    field: 'keepAliveTimeoutMs',
    kind: 'integer',
    description:
      "How long an idle keep-alive connection stays open (default `72000`, longer than a load balancer's usual 60 s idle timeout).",
  },
  {
    env: 'WARMROUTE_MAX_CONNECTIONS',
    field: 'maxConnections',
    kind: 'integer',
    description:
      'Open client connections per listener; further connections are closed at once (default `10000`).',
  },
  {
    env: 'WARMROUTE_CONFIG',
    field: null,
    kind: 'string',
    description:
      'Path of an optional JSON config file with any field below (camelCase) plus `routes` and `functions`. Environment variables override it.',
  },
  {
    env: 'WARMROUTE_ENV',
    field: null,
    kind: 'string',
    description:
      '`production` makes `WARMROUTE_SECRET` mandatory and disables generated dev secrets (also when `NODE_ENV=production`).',
  },
  {
    env: 'REDIS_URL',
    field: 'redisUrl',
    kind: 'string',
    description:
      'Redis for the key directory (`redis://` or `rediss://`). Unset: in-memory directory (single replica).',
  },
  {
    env: 'WARMROUTE_REDIS_CLUSTER_NODES',
    field: 'redisClusterNodes',
    kind: 'string',
    description:
      'Redis Cluster for the key directory instead of `REDIS_URL` (set one, not both): comma-separated seed nodes, `host:port` or `rediss://[user@]host:port` for TLS (an ElastiCache configuration or Serverless endpoint is one seed); IPv6 as `[::1]:6379`; every seed the same scheme and user; no password in a seed.',
  },
  {
    env: 'WARMROUTE_REDIS_PASSWORD',
    field: 'redisPassword',
    kind: 'string',
    description:
      'Password (AUTH token) for `REDIS_URL` or `WARMROUTE_REDIS_CLUSTER_NODES`, kept out of the URL so a secret store can supply it; when set it is used instead of any password in the URL (a user name in the URL, an ACL user, is kept), on every connection the gateway opens. Never logged.',
  },
  {
    env: 'WARMROUTE_SECRET',
    field: 'secret',
    kind: 'string',
    description:
      'HMAC secret for tenant ID derivation (≥ 16 chars). Same on every replica. Unset outside production: a random dev secret. Tenant IDs survive a restart only with this set and a Redis directory, `REDIS_URL` or `WARMROUTE_REDIS_CLUSTER_NODES` (the in-memory directory starts new epochs each time).',
  },
  {
    env: 'WARMROUTE_ADMIN_TOKEN',
    field: 'adminToken',
    kind: 'string',
    description:
      'Bearer token for `/v1/keys/*` (≥ 16 chars). Unset outside production: generated and printed at start; unset in production: admin routes answer 401.',
  },
  {
    env: 'WARMROUTE_BACKEND',
    field: 'backend',
    kind: 'string',
    description:
      '`local` (run the local host, default), `endpoint` (use `AWS_ENDPOINT_URL_LAMBDA`) or `aws` (real Lambda, SDK credential chain).',
  },
  {
    env: 'AWS_ENDPOINT_URL_LAMBDA',
    field: 'lambdaEndpoint',
    kind: 'string',
    description:
      'Lambda endpoint; when set, the gateway uses it instead of starting the local host. A loopback endpoint needs no AWS credentials.',
  },
  {
    env: 'WARMROUTE_LAMBDA_PIPELINE',
    field: 'lambdaPipeline',
    kind: 'string',
    description:
      "`fast` (warmroute signs and sends Invoke itself, on the SDK's credentials and endpoint rules; see `src/backend/fast-path/README.md`) or `sdk` (the SDK's `InvokeCommand`, about 8–9× the client CPU per invoke) (default `fast`).",
  },
  {
    env: 'AWS_REGION',
    field: 'region',
    kind: 'string',
    description: 'AWS region (default `us-east-1`).',
  },
  {
    env: 'WARMROUTE_LOCAL_HOST',
    field: 'localHost',
    kind: 'string',
    description: 'Listen address of the embedded local Lambda host (default `127.0.0.1`).',
  },
  {
    env: 'WARMROUTE_LOCAL_PORT',
    field: 'localPort',
    kind: 'integer',
    description: 'Port of the embedded local Lambda host (default `9001`).',
  },
  {
    env: 'WARMROUTE_LOCAL_CONTROL_TOKEN',
    field: 'localControlToken',
    kind: 'string',
    description:
      "Bearer token for the embedded local host's control API (`/_local/*`, ≥ 16 chars); required when `WARMROUTE_LOCAL_HOST` is not a loopback address.",
  },
  {
    env: 'WARMROUTE_FUNCTIONS_FILE',
    field: 'functionsFile',
    kind: 'string',
    description: 'Functions file for the local host (default: the shipped examples).',
  },
  {
    env: 'WARMROUTE_KEY_HEADER',
    field: 'keyHeader',
    kind: 'string',
    description: 'Default key header (default `x-affinity-key`).',
  },
  {
    env: 'WARMROUTE_NAMESPACE',
    field: 'namespace',
    kind: 'string',
    description:
      'Directory namespace: keys in different namespaces never share a tenant (default `default`).',
  },
  {
    env: 'WARMROUTE_TENANT_PREFIX',
    field: 'tenantPrefix',
    kind: 'string',
    description: 'Prefix of every derived tenant ID (default `wr-`).',
  },
  {
    env: 'WARMROUTE_L1_MAX',
    field: 'l1Max',
    kind: 'integer',
    description:
      'Entries in the in-process L1 cache (default `100000`, at most `1000000`: the cache allocates its index up front; `0` disables it).',
  },
  {
    env: 'WARMROUTE_L1_TTL_MS',
    field: 'l1TtlMs',
    kind: 'integer',
    description:
      'L1 entry lifetime: the longest a replica can route to an old tenant if pub/sub is down (default `5000`).',
  },
  {
    env: 'WARMROUTE_KEY_IDLE_TTL_SECONDS',
    field: 'keyIdleTtlSeconds',
    kind: 'integer',
    description: 'Per-key data in Redis expires after this idle time (default `604800`, 7 days).',
  },
  {
    env: 'WARMROUTE_REDIS_COMMAND_TIMEOUT_MS',
    field: 'redisCommandTimeoutMs',
    kind: 'integer',
    description: 'Redis command timeout on the request path (default `200`).',
  },
  {
    env: 'WARMROUTE_REDIS_CONNECT_TIMEOUT_MS',
    field: 'redisConnectTimeoutMs',
    kind: 'integer',
    description:
      'How long start-up waits for a first Redis connection before going on degraded, resolving by derivation (default `2000`).',
  },
  {
    env: 'WARMROUTE_REDIS_MAX_RECONNECT_DELAY_MS',
    field: 'redisMaxReconnectDelayMs',
    kind: 'integer',
    description:
      'Longest pause between attempts to reconnect to Redis; the directory keeps trying for ever (default `1000`).',
  },
  {
    env: 'WARMROUTE_STATS_FLUSH_INTERVAL_MS',
    field: 'statsFlushIntervalMs',
    kind: 'integer',
    description:
      'How often per-key outcome counts (`hit`, `fresh`, …) and state versions are written behind to the directory store (default `1000`).',
  },
  {
    env: 'WARMROUTE_REQUEST_TIMEOUT_MS',
    field: 'requestTimeoutMs',
    kind: 'integer',
    description: 'Request deadline, queueing and retries included (default `30000`).',
  },
  {
    env: 'WARMROUTE_SERIALIZE_PER_KEY',
    field: 'serializePerKey',
    kind: 'boolean',
    description: 'Run one request per key at a time (default `true`).',
  },
  {
    env: 'WARMROUTE_MAX_QUEUE_PER_KEY',
    field: 'maxQueuePerKey',
    kind: 'integer',
    description: 'Requests waiting per key before 429 (default `32`).',
  },
  {
    env: 'WARMROUTE_MAX_QUEUE_WAIT_MS',
    field: 'maxQueueWaitMs',
    kind: 'integer',
    description: 'Longest wait in a queue before 429 with `Retry-After` (default `10000`).',
  },
  {
    env: 'WARMROUTE_TENANT_CONCURRENCY',
    field: 'perTenantConcurrency',
    kind: 'integer',
    description: 'Concurrent invocations per tenant (default `4`).',
  },
  {
    env: 'WARMROUTE_GLOBAL_CONCURRENCY',
    field: 'globalConcurrency',
    kind: 'integer',
    description:
      "Concurrent invocations for the whole gateway (default `256`); align with the function's reserved concurrency. Also the size of the Lambda client's connection pool: a request/response Invoke holds its connection while the function runs.",
  },
  {
    env: 'WARMROUTE_MAX_GLOBAL_QUEUE',
    field: 'maxGlobalQueue',
    kind: 'integer',
    description:
      'Requests waiting in all queues together before 429 `WR_ERR_CONCURRENCY_LIMIT` (default `10000`).',
  },
  {
    env: 'WARMROUTE_QUEUE_RETRY_AFTER_SECONDS',
    field: 'queueRetryAfterSeconds',
    kind: 'integer',
    description:
      '`Retry-After` of the 429s and 503s the scheduler answers (full key queue, concurrency limit, shutdown), at least `1` (default `1`).',
  },
  {
    env: 'WARMROUTE_MAX_PAYLOAD_BYTES',
    field: 'maxPayloadBytes',
    kind: 'integer',
    description: `Largest request payload (default and maximum: Lambda's 6 MB, \`${LAMBDA_SYNC_PAYLOAD_BYTES}\`).`,
  },
  {
    env: 'WARMROUTE_COLD_START_PRICE_PER_GB',
    field: 'coldStartPricePerGb',
    kind: 'number',
    description:
      'Price of a new tenant environment per GB of configured memory (default `0.000167` USD).',
  },
  {
    env: 'WARMROUTE_LOG_TAIL',
    field: 'logTail',
    kind: 'boolean',
    description:
      'Ask Lambda for the log tail to detect cold starts of functions that do not report state (default `false`).',
  },
  {
    env: 'WARMROUTE_LOG_LEVEL',
    field: 'logLevel',
    kind: 'string',
    description: 'pino log level (default `info`).',
  },
  {
    env: 'WARMROUTE_STAGE',
    field: 'stage',
    kind: 'string',
    description: '`requestContext.stage` of proxy events (default `local`).',
  },
  {
    env: 'WARMROUTE_SHUTDOWN_GRACE_MS',
    field: 'shutdownGraceMs',
    kind: 'integer',
    description:
      'On SIGTERM/SIGINT, how long in-flight requests may still finish (default `10000`); those still running then get 503 `WR_ERR_SHUTTING_DOWN` with `Retry-After`, and the process closes and exits 0.',
  },
  {
    env: 'WARMROUTE_ROUTES',
    field: 'routes',
    kind: 'json',
    description:
      'Reverse-proxy routes as a JSON array (overrides the file\'s `routes`); see "Routes".',
  },
  {
    env: 'WARMROUTE_FUNCTIONS',
    field: 'functions',
    kind: 'json',
    description:
      'The functions the gateway may invoke (an allow-list when not empty) as a JSON object, name → `{ "timeoutSeconds", "memoryMb", "tenancy" }` (overrides the file\'s `functions`); see "Routes". Required in production unless `WARMROUTE_BACKEND=local`.',
  },
];

export const defaults: Omit<
  Static<typeof ConfigSchema>,
  | 'redisUrl'
  | 'redisClusterNodes'
  | 'redisPassword'
  | 'secret'
  | 'adminToken'
  | 'lambdaEndpoint'
  | 'functionsFile'
  | 'adminHost'
  | 'localControlToken'
  | 'adminPort'
  | 'rpcBudget'
> = {
  production: false,
  host: '127.0.0.1',
  port: 3000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 10_000,
  backend: 'local',
  lambdaPipeline: 'fast',
  region: 'us-east-1',
  localHost: '127.0.0.1',
  localPort: 9001,
  keyHeader: DEFAULT_KEY_HEADER,
  namespace: 'default',
  tenantPrefix: 'wr-',
  l1Max: 100_000,
  l1TtlMs: 5_000,
  keyIdleTtlSeconds: 604_800,
  redisCommandTimeoutMs: 200,
  redisConnectTimeoutMs: 2_000,
  redisMaxReconnectDelayMs: 1_000,
  statsFlushIntervalMs: 1_000,
  requestTimeoutMs: 30_000,
  serializePerKey: true,
  maxQueuePerKey: 32,
  maxQueueWaitMs: 10_000,
  perTenantConcurrency: 4,
  globalConcurrency: 256,
  maxGlobalQueue: 10_000,
  queueRetryAfterSeconds: 1,
  maxPayloadBytes: LAMBDA_SYNC_PAYLOAD_BYTES,
  coldStartPricePerGb: 0.000167,
  logTail: false,
  logLevel: 'info',
  stage: 'local',
  shutdownGraceMs: 10_000,
  routes: [],
  functions: {},
};
