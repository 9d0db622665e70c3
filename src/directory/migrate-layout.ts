import type { Cluster, Redis } from 'ioredis';
import { directoryKeys } from '../redis/keys.js';
import { scanKeys } from '../redis/scan.js';
import { EPOCH_BUCKETS, epochBucket } from './epoch-bucket.js';
import { withMigrateRecord } from './migrate-record-script.js';
import { keyProblem } from './validate-key.js';

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
 *
 * Nothing read is trusted to be what a v2 gateway wrote: a namespace whose
 * name or epoch a gateway could not have written is refused whole (its
 * epoch would be copied into all 1,024 buckets and stay there), and a
 * record that is not a hash, has an invalid key or a generation / state
 * version that is not a safe integer >= 0 is skipped; both are reported,
 * and the run goes on to the next one.
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
  /** Called once per refused namespace (nothing of it is copied). */
  readonly onRefused?: (refused: RefusedNamespace) => void;
  /** Called once per skipped record or dropped binding; names are quoted by `safeName`. */
  readonly onWarning?: (message: string) => void;
}

/** A v2 namespace not migrated at all: its name or epoch is not one a v2 gateway wrote. */
export interface RefusedNamespace {
  /** Its encoded v2 name, quoted by `safeName` (it may be anything). */
  readonly name: string;
  readonly reason: string;
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
  /**
   * Source records not copied because no gateway could have written them:
   * not a hash, a key the gateway refuses, a generation or state version
   * that is not a safe integer >= 0 (the tenant would be derived from it).
   */
  skippedInvalid: number;
  /** Records copied without their `bind` field, whose target is not a valid key. */
  bindingsDropped: number;
}

export type MigrationTotals = Omit<NamespaceReport, 'namespace' | 'conflictBuckets'> & {
  namespaces: number;
  namespacesRefused: number;
  conflictBuckets: number;
};

export interface MigrationReport {
  readonly namespaces: readonly NamespaceReport[];
  readonly refused: readonly RefusedNamespace[];
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

/** What a v2 gateway wrote as an epoch: 16 random bytes in lower-case hex (directory.ts newEpoch, v2). */
const V2_EPOCH = /^[0-9a-f]{32}$/;
/** A generation or state version as the v2 scripts wrote it: decimal digits. */
const COUNTER = /^\d{1,16}$/;
/** Longest part of a name a warning quotes: a 200 KB key must not reach the terminal. */
const MAX_QUOTED_CHARS = 100;

/**
 * `text` quoted for a terminal or a log: JSON escapes control characters
 * (a key may hold an escape sequence), cut to MAX_QUOTED_CHARS.
 */
export function safeName(text: string): string {
  return text.length > MAX_QUOTED_CHARS
    ? `${JSON.stringify(text.slice(0, MAX_QUOTED_CHARS))}…`
    : JSON.stringify(text);
}

/** Whether `error` is Redis saying a key holds another type than the command expects. */
function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/** The v2 encoding of a namespace in key names (keys.ts before layout v3). */
function v2EncodeNamespace(namespace: string): string {
  return encodeURIComponent(namespace).replace(
    /[*?[\]]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The namespace an encoded v2 name stands for, or why no v2 gateway wrote
 * it. Only the exact encoding v2 made is read: `%41` and `A` would
 * otherwise be two sources for one namespace.
 */
function decodeV2Namespace(encoded: string): { namespace: string } | { problem: string } {
  let namespace: string;
  try {
    namespace = decodeURIComponent(encoded);
  } catch {
    return { problem: 'the name is not percent-encoding as warmroute writes it' };
  }
  if (v2EncodeNamespace(namespace) !== encoded) {
    return { problem: 'the name is not encoded as warmroute writes it' };
  }
  // directory.ts validates a namespace with the key rules; the config is stricter still.
  const problem = keyProblem(namespace);
  if (problem !== undefined)
    return { problem: `not a valid namespace (${problem.replace(/^the key/, 'it')})` };
  return { namespace };
}

/** Why a v2 record's counter field cannot be copied, or undefined when it can. */
function counterProblem(field: string, value: string): string | undefined {
  if (COUNTER.test(value) && Number.isSafeInteger(Number(value))) return undefined;
  return `field ${safeName(field)} is ${safeName(value)}, not a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`;
}

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

/** The encoded names of the v2 directory's namespaces (checked one by one later). */
async function v2Namespaces(source: Redis, keyPrefix: string): Promise<Set<string>> {
  const keys = v2Keys(keyPrefix);
  const found = new Set<string>();
  for await (const name of scanKeys(source, keys.epochPattern)) {
    const encoded = keys.epochName.exec(name)?.[1];
    if (encoded !== undefined) found.add(encoded);
  }
  return found;
}

/** The counts a namespace's report holds and the totals add up. */
const COUNTS = [
  'bucketsSet',
  'bucketsAlreadySet',
  'copied',
  'merged',
  'unchanged',
  'skippedStale',
  'skippedConflict',
  'skippedInvalid',
  'bindingsDropped',
] as const satisfies readonly (keyof NamespaceReport & keyof MigrationTotals)[];

type Counts = Record<(typeof COUNTS)[number], number>;

function zeroCounts(): Counts {
  return Object.fromEntries(COUNTS.map((name) => [name, 0])) as Counts;
}

function emptyReport(namespace: string): NamespaceReport {
  return { namespace, conflictBuckets: [], ...zeroCounts() };
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
      // Not a string: not an epoch this run may replace, so its records stay out.
      const stored = await target.get(key).catch((err: unknown) => {
        if (isWrongType(err)) return `not a string`;
        throw err;
      });
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
  const skip = (why: string): void => {
    report.skippedInvalid++;
    options.onWarning?.(
      `record ${safeName(key)} of namespace ${safeName(namespace)} not copied: ${why}`,
    );
  };
  const problem = keyProblem(key);
  if (problem !== undefined) {
    skip(`not a valid key (${problem.replace(/^the key/, 'it')})`);
    return;
  }
  const record = await readV2Record(options.source, sourceName).catch((err: unknown) => {
    if (isWrongType(err)) return 'wrong type' as const;
    throw err;
  });
  if (record === 'wrong type') {
    skip('it is not a hash');
    return;
  }
  if (record === undefined) return;
  const { ep, ...fields } = record.fields;
  // A record stamped with another epoch is dead in v2 already (docs/protocol.md, "Directory epochs").
  if (ep !== undefined && ep !== epoch) {
    report.skippedStale++;
    return;
  }
  // The tenant ID is derived from the generation, and state versions only grow: text there
  // (or a number past 2^53) would derive a tenant no v2 gateway gave the key.
  for (const [field, value] of Object.entries(fields)) {
    const why =
      field === 'gen' || field.startsWith('sv:') ? counterProblem(field, value) : undefined;
    if (why !== undefined) {
      skip(why);
      return;
    }
  }
  const bind = fields['bind'];
  if (bind !== undefined && keyProblem(bind) !== undefined) {
    // The key itself is fine: it keeps its own tenant, unbound.
    delete fields['bind'];
    report.bindingsDropped++;
    options.onWarning?.(
      `record ${safeName(key)} of namespace ${safeName(namespace)}: binding to ${safeName(bind)} dropped (not a valid key)`,
    );
  }
  // A binding to itself, or a cycle, is copied as it is: resolve stops at
  // MAX_CHAIN_DEPTH hops and explain shows it, as on v2; a bind call then repairs it.
  const keys = directoryKeys(options.targetPrefix);
  let reply: Awaited<ReturnType<typeof options.target.wrMigrateRecord>>;
  try {
    reply = await options.target.wrMigrateRecord(
      keys.record(namespace, key),
      keys.epoch(namespace, bucket),
      epoch,
      record.pttl,
      options.dryRun ? '1' : '0',
      TTL_TOLERANCE_MS,
      ...Object.entries(fields).flat(),
    );
  } catch (err) {
    if (!isWrongType(err)) throw err;
    skip('its target key holds something that is not a hash');
    return;
  }
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
): Promise<NamespaceReport | RefusedNamespace | undefined> {
  const refuse = (reason: string): RefusedNamespace => ({ name: safeName(encoded), reason });
  const decoded = decodeV2Namespace(encoded);
  if ('problem' in decoded) return refuse(decoded.problem);
  const { namespace } = decoded;
  const keys = v2Keys(options.sourcePrefix);
  const epoch = await options.source.get(keys.epoch(encoded)).catch((err: unknown) => {
    if (isWrongType(err)) return { wrongType: true } as const;
    throw err;
  });
  if (typeof epoch === 'object' && epoch !== null) return refuse('its epoch key is not a string');
  // Gone since the scan: with no epoch every v2 record of the namespace is dead.
  if (epoch === null) return undefined;
  // Copied into all 1,024 buckets, an epoch no gateway made (empty: the scripts' "none")
  // would break the namespace there for good.
  if (!V2_EPOCH.test(epoch)) {
    return refuse(
      `its epoch ${safeName(epoch)} is not one warmroute wrote (32 lower-case hex digits)`,
    );
  }
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
  const refused: RefusedNamespace[] = [];
  const sorted = [...(await v2Namespaces(options.source, options.sourcePrefix))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  for (const encoded of sorted) {
    const report = await migrateNamespace(options, encoded);
    if (report === undefined) continue;
    if ('reason' in report) {
      refused.push(report);
      options.onRefused?.(report);
      continue;
    }
    namespaces.push(report);
    options.onNamespace?.(report);
  }
  const totals: MigrationTotals = {
    namespaces: namespaces.length,
    namespacesRefused: refused.length,
    conflictBuckets: 0,
    ...zeroCounts(),
  };
  for (const r of namespaces) {
    totals.conflictBuckets += r.conflictBuckets.length;
    for (const name of COUNTS) totals[name] += r[name];
  }
  return { namespaces, refused, totals };
}
