/**
 * The header that carries the affinity key unless `WARMROUTE_KEY_HEADER`
 * names another (the config's default, the SDK HTTP transport's default,
 * the header the logger redacts). This module imports nothing, so
 * `warmroute/sdk` can read it without loading TypeBox.
 */
export const DEFAULT_KEY_HEADER = 'x-affinity-key';
