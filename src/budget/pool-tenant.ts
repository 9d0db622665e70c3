import { poolSlot, poolTenantId } from '../directory/tenant-id.js';

/**
 * The pooled tenants a spilled key is placed in (the budget's `pool`
 * policy): `poolTenants` tenants per (namespace, function, domain), derived
 * as the directory derives pooled-mode tenants (src/directory/tenant-id.ts:
 * a keyed slot, then the slot's tenant), so no client can aim at a slot or
 * compute a tenant ID. The pool's name puts the namespace, the function and
 * the domain in the derivation's namespace field: namespaces and function
 * names cannot hold NUL, so the domain (last, any text) can never make two
 * (function, domain) pairs share a name, and a pooled-mode route's names
 * (a bare namespace, no NUL) never meet these.
 */

/** Bounds the memo of tenant IDs (domains come from requests). */
const MAX_MEMO = 10_000;

export class PoolTenants {
  private readonly memo = new Map<string, string>();

  constructor(
    private readonly secret: string | Buffer,
    private readonly prefix: string,
    private readonly namespace: string,
  ) {}

  /** The pooled tenant of `key` among `size` tenants of `domain` for `functionName`. */
  tenantOf(functionName: string, domain: string, key: string, size: number): string {
    const pool = `${this.namespace}\u0000budget\u0000${functionName}\u0000${domain}`;
    const slot = poolSlot(this.secret, pool, key, size);
    const memoId = `${pool}\u0000${size}\u0000${slot}`;
    let tenant = this.memo.get(memoId);
    if (tenant === undefined) {
      tenant = poolTenantId(this.secret, this.prefix, pool, size, slot);
      if (this.memo.size >= MAX_MEMO) this.memo.clear();
      this.memo.set(memoId, tenant);
    }
    return tenant;
  }
}
