import type { Cluster, Redis } from 'ioredis';
import { directoryKeys } from '../redis/keys.js';
import { scanKeys } from '../redis/scan.js';
import { EPOCH_BUCKETS, epochBucket } from './epoch-bucket.js';
import { withMigrateRecord } from './migrate-record-script.js';

/**
 * Copies a directory from key layout v2 (before Redis Cluster support: one
 * hash tag and one epoch per namespace) to layout v3 (src/redis/keys.ts:
 * one epoch per (namespace, bucket)), so that every key keeps its tenant ID.
 * A tenant ID is HMAC(secret, namespace, epoch, key, generation)
 * (tenant-id.ts); here every bucket of a namespace gets the namespace's v2
 * epoch and every record its generation, so the HMAC input is unchanged.
 *
 * The v2 layout, per namespace (encNs as in keys.ts):
 *   <prefix>{ns:<encNs>}:epoch    the namespace's epoch (no TTL)
 *   <prefix>{ns:<encNs>}:k:<key>  the key's record (hash; idle TTL)
 *
 * Reads the source with SCAN (never KEYS) and single-key reads; writes the
 * target with single-key commands and one single-slot script per record, so
 * the target may be a Redis Cluster. Running it again changes nothing.
 */

export interface MigrationOptions {
  /** The server holding the v2 directory (one server: v2 predates cluster support). */
  readonly source: Redis;
  /** The v3 directory: one server or a cluster. */
  readonly target: Redis | Cluster;
  /** Key prefix of the v2 directory (the gateway's is DIRECTORY_KEY_PREFIX). */
  readonly sourcePrefix: string;
  /** Key prefix of the v3 directory (the gateway's is DIRECTORY_KEY_PREFIX). */
  readonly targetPrefix: string;
  /** Read both sides and count what would change; write nothing. */
  readonly dryRun: boolean;
  /** Called once per namespace when it is done (progress lines). */
  readonly onNamespace?: (report: NamespaceReport) => void;
}

export interface NamespaceReport {
  readonly namespace: string;
  /** Buckets whose epoch this run set (or would set, dry run) to the v2 epoch. */
  bucketsSet: number;
  /** Buckets that already held the v2 epoch (an earlier run). */
  bucketsAlreadySet: number;
  /**
   * Buckets holding another epoch: a gateway on layout v3 created it before
   * the migration, so its keys already have other tenants there. Their
   * records are not copied.
   */
  readonly conflictBuckets: number[];
  /** Records written to a target that had none. */
  copied: number;
  /** Records merged into an existing target record that changed. */
  merged: number;
  /** Records the target already held as they are. */
  unchanged: number;
  /** Source records stamped with an older epoch: dead in v2 too, not copied. */
  skippedStale: number;
  /** Source records in a conflicting bucket, not copied. */
  skippedConflict: number;
}

export type MigrationTotals = Omit<NamespaceReport, 'namespace' | 'conflictBuckets'> & {
  namespaces: number;
  conflictBuckets: number;
};

export interface MigrationReport {
  readonly namespaces: readonly NamespaceReport[];
  readonly totals: MigrationTotals;
}

/** Records read and written at once (bounds memory and the commands in flight). */
const RECORD_CONCURRENCY = 100;
/**
 * A source TTL this much longer than the target's is not applied to a
 * merged record: the two PTTLs are read a few ms apart, so without it a
 * rerun would keep nudging TTLs. Negligible beside an idle TTL of days.
 */
const TTL_TOLERANCE_MS = 1_000;

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The v2 key names (the layout before src/redis/keys.ts's v3), for reading only. */
export function v2Keys(keyPrefix: string): {
  epoch(encodedNamespace: string): string;
  recordPrefix(encodedNamespace: string): string;
  readonly epochPattern: string;
  readonly epochName: RegExp;
} {
  const escaped = keyPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    epoch: (ns) => `${keyPrefix}{ns:${ns}}:epoch`,
    recordPrefix: (ns) => `${keyPrefix}{ns:${ns}}:k:`,
    epochPattern: `${globEscape(keyPrefix)}{ns:*}:epoch`,
    // An encoded namespace has no ':', '{' or '}' (keys.ts encodes them), so a
    // record whose key happens to end in '}:epoch' cannot pass for an epoch.
    epochName: new RegExp(`^${escaped}\\{ns:([^{}:]*)\\}:epoch$`),
  };
}

/** scanKeys in batches of up to `size` distinct names (SCAN may report a name twice). */
async function* scanBatches(
  client: Redis,
  pattern: string,
  size: number,
): AsyncGenerator<string[]> {
  const seen = new Set<string>();
  let batch: string[] = [];
  for await (const name of scanKeys(client, pattern)) {
    if (seen.has(name)) continue;
    seen.add(name);
    batch.push(name);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** The namespaces of the v2 directory: encoded name -> namespace (one that does not decode is skipped). */
async function v2Namespaces(source: Redis, keyPrefix: string): Promise<Map<string, string>> {
  const keys = v2Keys(keyPrefix);
  const found = new Map<string, string>();
  for await (const name of scanKeys(source, keys.epochPattern)) {
    const encoded = keys.epochName.exec(name)?.[1];
    if (encoded === undefined) continue;
    try {
      found.set(encoded, decodeURIComponent(encoded));
    } catch {
      // Not written by warmroute (keys.ts never makes a malformed escape).
    }
  }
  return found;
}

function emptyReport(namespace: string): NamespaceReport {
  return {
    namespace,
    bucketsSet: 0,
    bucketsAlreadySet: 0,
    conflictBuckets: [],
    copied: 0,
    merged: 0,
    unchanged: 0,
    skippedStale: 0,
    skippedConflict: 0,
  };
}

/** Gives every bucket of `namespace` the v2 epoch unless it has one (SET NX); records conflicts. */
async function setBucketEpochs(
  target: Redis | Cluster,
  keyPrefix: string,
  namespace: string,
  epoch: string,
  dryRun: boolean,
  report: NamespaceReport,
): Promise<void> {
  const keys = directoryKeys(keyPrefix);
  const buckets = Array.from({ length: EPOCH_BUCKETS }, (_, bucket) => bucket);
  const outcomes = await Promise.all(
    buckets.map(async (bucket): Promise<'set' | 'already' | 'conflict'> => {
      const key = keys.epoch(namespace, bucket);
      if (!dryRun && (await target.set(key, epoch, 'NX')) === 'OK') return 'set';
      const stored = await target.get(key);
      if (stored === null) return 'set'; // dry run: the run would set it
      return stored === epoch ? 'already' : 'conflict';
    }),
  );
  outcomes.forEach((outcome, bucket) => {
    if (outcome === 'set') report.bucketsSet++;
    else if (outcome === 'already') report.bucketsAlreadySet++;
    else report.conflictBuckets.push(bucket);
  });
}

/** One v2 record: its fields and remaining TTL, or undefined when it is gone. */
async function readV2Record(
  source: Redis,
  name: string,
): Promise<{ fields: Record<string, string>; pttl: number } | undefined> {
  // One transaction: the fields and the TTL of the same moment.
  const replies = await source.multi().hgetall(name).pttl(name).exec();
  const [fieldsReply, pttlReply] = replies ?? [];
  const failed = fieldsReply?.[0] ?? pttlReply?.[0];
  if (failed) throw failed;
  const fields = fieldsReply?.[1] as Record<string, string> | undefined;
  const pttl = pttlReply?.[1] as number | undefined;
  // PTTL -2: expired between SCAN and now; 0: expiring now.
  if (fields === undefined || Object.keys(fields).length === 0 || pttl === undefined) return;
  if (pttl === -2 || pttl === 0) return;
  return { fields, pttl };
}

async function migrateRecord(
  options: MigrationOptions,
  namespace: string,
  epoch: string,
  key: string,
  conflicts: ReadonlySet<number>,
  report: NamespaceReport,
  sourceName: string,
): Promise<void> {
  const bucket = epochBucket(key);
  if (conflicts.has(bucket)) {
    report.skippedConflict++;
    return;
  }
  const record = await readV2Record(options.source, sourceName);
  if (record === undefined) return;
  const { ep, ...fields } = record.fields;
  // A record stamped with another epoch is dead in v2 already (docs/protocol.md, "Directory epochs").
  if (ep !== undefined && ep !== epoch) {
    report.skippedStale++;
    return;
  }
  const keys = directoryKeys(options.targetPrefix);
  const reply = await options.target.wrMigrateRecord(
    keys.record(namespace, key),
    keys.epoch(namespace, bucket),
    epoch,
    record.pttl,
    options.dryRun ? '1' : '0',
    TTL_TOLERANCE_MS,
    ...Object.entries(fields).flat(),
  );
  switch (reply[0]) {
    case 1:
      report.copied++;
      return;
    case 2:
      report.merged++;
      return;
    case 3:
      report.unchanged++;
      return;
    case -4:
      // The bucket's epoch changed after it was set above (deleted, or data lost).
      report.skippedConflict++;
      if (!report.conflictBuckets.includes(bucket)) report.conflictBuckets.push(bucket);
      return;
    default:
      throw new Error(
        `unexpected reply from the record migration script: ${JSON.stringify(reply)}`,
      );
  }
}

async function migrateNamespace(
  options: MigrationOptions,
  encoded: string,
  namespace: string,
): Promise<NamespaceReport | undefined> {
  const keys = v2Keys(options.sourcePrefix);
  const epoch = await options.source.get(keys.epoch(encoded));
  // Gone since the scan: with no epoch every v2 record of the namespace is dead.
  if (epoch === null) return undefined;
  const report = emptyReport(namespace);
  await setBucketEpochs(
    options.target,
    options.targetPrefix,
    namespace,
    epoch,
    options.dryRun,
    report,
  );
  const conflicts = new Set(report.conflictBuckets);
  const prefix = keys.recordPrefix(encoded);
  const pattern = `${globEscape(prefix)}*`;
  for await (const names of scanBatches(options.source, pattern, RECORD_CONCURRENCY)) {
    await Promise.all(
      names.map((name) =>
        migrateRecord(
          options,
          namespace,
          epoch,
          name.slice(prefix.length),
          conflicts,
          report,
          name,
        ),
      ),
    );
  }
  report.conflictBuckets.sort((a, b) => a - b);
  return report;
}

/** Migrates every namespace of the v2 directory; throws on a Redis error (a rerun is safe). */
export async function migrateDirectory(options: MigrationOptions): Promise<MigrationReport> {
  withMigrateRecord(options.target);
  const namespaces: NamespaceReport[] = [];
  const sorted = [...(await v2Namespaces(options.source, options.sourcePrefix))].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  for (const [encoded, namespace] of sorted) {
    const report = await migrateNamespace(options, encoded, namespace);
    if (report === undefined) continue;
    namespaces.push(report);
    options.onNamespace?.(report);
  }
  const totals: MigrationTotals = {
    namespaces: namespaces.length,
    bucketsSet: 0,
    bucketsAlreadySet: 0,
    conflictBuckets: 0,
    copied: 0,
    merged: 0,
    unchanged: 0,
    skippedStale: 0,
    skippedConflict: 0,
  };
  for (const r of namespaces) {
    totals.bucketsSet += r.bucketsSet;
    totals.bucketsAlreadySet += r.bucketsAlreadySet;
    totals.conflictBuckets += r.conflictBuckets.length;
    totals.copied += r.copied;
    totals.merged += r.merged;
    totals.unchanged += r.unchanged;
    totals.skippedStale += r.skippedStale;
    totals.skippedConflict += r.skippedConflict;
  }
  return { namespaces, totals };
}
