import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

/**
 * A private Redis Cluster on loopback for the cluster tests and the `cluster`
 * benchmark (issue 15): one `redis-server --cluster-enabled yes` child process
 * per node, joined by `redis-cli --cluster create`. Everything is stopped by
 * PID; the machine's shared server is never touched. It lives in bench/lib
 * because the build compiles bench/ but not test/; test/helpers/redis-cluster.ts
 * re-exports it.
 */

const HOST = '127.0.0.1';
/**
 * Low, so a killed master's replica is promoted in a few seconds, but not
 * 1 s: under CI load (load average 15 on two cores) a node stalled past 1 s
 * was marked failed and a replica promoted nobody asked for, changing the
 * masters under a running test.
 */
const NODE_TIMEOUT_MS = 3000;
const POLL_MS = 50;
const START_TIMEOUT_MS = 20_000;
/**
 * How long killMaster waits for a master with a live replica. Gossip tells
 * the other nodes a replica's role (and takes a failed flag off a node) one
 * ping at a time: about a second on an idle machine, longer under load.
 */
const KILL_WAIT_MS = 15_000;

export type ClusterRole = 'master' | 'replica';

/** One redis-server of the cluster. */
export interface ClusterNodeProcess {
  readonly port: number;
  /** Cluster bus port (set explicitly: port + 10000 may be past 65535 for ephemeral ports). */
  readonly busPort: number;
  /** PID while the process runs; undefined once it has exited or been killed. */
  readonly pid: number | undefined;
  /** The role the cluster gave it, as of the harness's last read of CLUSTER NODES. */
  readonly role: ClusterRole;
}

/** A master serving slots, as CLUSTER NODES reports it. */
export interface ClusterMaster {
  readonly port: number;
  readonly id: string;
  /** Inclusive slot ranges. */
  readonly slots: readonly (readonly [number, number])[];
}

export interface KeyCount {
  readonly port: number;
  readonly keys: number;
}

export interface RedisCluster {
  /** Seeds for an ioredis `Cluster` (every node the harness started). */
  readonly seeds: readonly { host: string; port: number }[];
  readonly nodes: readonly ClusterNodeProcess[];
  /** Temp dir holding the nodes' cluster config files and logs (removed by stop()). */
  readonly dir: string;
  /** Masters currently serving slots (a failed master is left out), ordered by port. */
  masters(): Promise<ClusterMaster[]>;
  /**
   * SIGKILL the `index`-th current master (ordered by port) that has a live
   * replica, waiting up to `timeoutMs` (15 s) for the cluster's view to show
   * that many; resolves once the process has exited, with the master it killed.
   */
  killMaster(index?: number, timeoutMs?: number): Promise<ClusterMaster>;
  /**
   * Resolves once a replica of the last killed master serves its slots and every
   * live node reports cluster_state:ok with no slot on a dead node; the port of
   * the promoted replica.
   */
  waitForFailover(timeoutMs?: number): Promise<number>;
  /** DBSIZE per current master, or (with `pattern`) the keys SCAN MATCH finds on it. */
  countKeysPerMaster(pattern?: string): Promise<KeyCount[]>;
  /** INFO commandstats `calls`, summed per command (lower-case, e.g. 'evalsha') over the current masters. */
  commandStats(): Promise<Record<string, number>>;
  /** CONFIG RESETSTAT on every live node, so {@link commandStats} counts from zero. */
  resetStats(): Promise<void>;
  /** FLUSHALL on every current master (replicas follow). */
  flushAll(): Promise<void>;
  /** SIGTERM, then SIGKILL after 3 s, every node still running; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  readonly masters?: number;
  readonly replicasPerMaster?: number;
}

/** Fail loudly (never skip) when the machine lacks the Redis binaries. */
function requireBinary(name: string): void {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `${name} is not runnable (${probe.error?.message ?? `exit ${String(probe.status)}`}): the Redis Cluster tests ` +
        'and benchmark need redis-server and redis-cli >= 7 on PATH (Debian package redis-server)',
    );
  }
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Run `fn` on a short-lived connection to one node (fails fast if the node is down). */
async function onNode<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Errors surface through the awaited calls; an unhandled 'error' event would only add noise.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** `field:value` lines of an INFO section or CLUSTER INFO. */
function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

interface NodeEntry {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The master's id for a replica, undefined for a master. */
  readonly masterId: string | undefined;
  readonly connected: boolean;
  readonly slots: readonly (readonly [number, number])[];
}

/** One node's view of the cluster (CLUSTER NODES). */
function parseClusterNodes(text: string): NodeEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , link = '', ...slotFields] = line
        .trim()
        .split(' ');
      // address is ip:port@cport[,hostname]
      const port = Number(address.split('@')[0]?.split(':').pop());
      const slots = slotFields
        .filter((field) => !field.startsWith('[')) // importing/migrating markers, not owned slots
        .map((field): readonly [number, number] => {
          const [from, to] = field.split('-');
          return [Number(from), Number(to ?? from)];
        });
      return {
        id,
        port,
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        connected: link === 'connected',
        slots,
      };
    });
}

const failed = (entry: NodeEntry): boolean =>
  entry.flags.includes('fail') || entry.flags.includes('fail?');

class NodeProcess implements ClusterNodeProcess {
  role: ClusterRole = 'master';
  #child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly busPort: number,
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  start(dir: string): void {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        HOST,
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(this.busPort),
        '--cluster-config-file',
        join(dir, `nodes-${String(this.port)}.conf`),
        '--cluster-node-timeout',
        String(NODE_TIMEOUT_MS),
        // A replica may always take over, however long ago it last heard from its master.
        '--cluster-replica-validity-factor',
        '0',
        // Replicas sync at once (the default waits 5 s for more replicas to join a diskless sync).
        '--repl-diskless-sync',
        'yes',
        '--repl-diskless-sync-delay',
        '0',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--logfile',
        this.logFile,
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    child.on('error', () => undefined); // reported by waitReady through the log and exit state
    this.#child = child;
  }

  /** Resolves when the node answers PING; rejects with its log's tail if it exits or never answers. */
  async waitReady(deadline: number): Promise<void> {
    for (;;) {
      if (!this.running)
        throw new Error(`redis-server on port ${String(this.port)} exited:\n${this.logTail()}`);
      try {
        // Ours, not another cluster's node that took the same "free" port
        // first (then ours exits with "Address already in use", seen above).
        const info = await onNode(this.port, (r) => r.info('server'));
        if (new RegExp(`^process_id:${String(this.#child?.pid)}\\r?$`, 'm').test(info)) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(
          `redis-server on port ${String(this.port)} did not start:\n${this.logTail()}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Signal and wait for the exit; SIGTERM escalates to SIGKILL after 3 s. */
  async signal(sig: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    child.kill(sig);
    if (sig === 'SIGTERM') {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    } else {
      await exited;
    }
  }

  /** For the process 'exit' safety net, where nothing can be awaited. */
  killNow(): void {
    if (this.running) this.#child?.kill('SIGKILL');
  }
}

async function runRedisCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: START_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`),
        );
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Two distinct free ports per node: client port and cluster bus port. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Start a Redis Cluster of `masters` masters with `replicasPerMaster` replicas
 * each and wait until every node reports cluster_state:ok and every replica's
 * link to its master is up. The caller stops it (`beforeAll(async () => { ...;
 * return () => cluster.stop(); })`); if the test process exits first, the
 * nodes are SIGKILLed and the temp dir removed anyway.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  // A port is free when chosen and taken when the node starts: another test
  // file starting a cluster at the same moment can take it in between. Such
  // a start fails as a whole and stops what it began; it is tried again on
  // other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisClusterOnce(options);
    } catch (err) {
      const collided = err instanceof Error && /Address already in use/.test(err.message);
      if (!collided || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

const START_ATTEMPTS = 3;

async function startRedisClusterOnce(options: RedisClusterOptions): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  if (!Number.isInteger(masterCount) || masterCount < 3) {
    throw new Error(
      `startRedisCluster: masters must be an integer >= 3 (redis-cli's minimum), got ${String(masterCount)}`,
    );
  }
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new Error(
      `startRedisCluster: replicasPerMaster must be an integer >= 0, got ${String(replicasPerMaster)}`,
    );
  }
  requireBinary('redis-server');
  requireBinary('redis-cli');

  const total = masterCount * (1 + replicasPerMaster);
  const dir = mkdtempSync(join(tmpdir(), 'warmroute-cluster-'));
  const ports = await freePorts(total * 2);
  const nodes = Array.from({ length: total }, (_, i) => {
    const port = ports[2 * i] ?? 0;
    return new NodeProcess(port, ports[2 * i + 1] ?? 0, join(dir, `redis-${String(port)}.log`));
  });
  const byPort = new Map(nodes.map((n) => [n.port, n]));

  const killAllNow = (): void => {
    for (const node of nodes) node.killNow();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killAllNow);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(nodes.map((n) => n.signal('SIGTERM')));
      rmSync(dir, { recursive: true, force: true });
      process.removeListener('exit', killAllNow);
    })();
    return stopping;
  };

  const live = (): NodeProcess[] => nodes.filter((n) => n.running);

  /** CLUSTER NODES from the first live node that answers; updates each node's role. */
  const view = async (): Promise<NodeEntry[]> => {
    let lastError: unknown;
    for (const node of live()) {
      try {
        const entries = parseClusterNodes(
          await onNode(node.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>),
        );
        for (const entry of entries) {
          const proc = byPort.get(entry.port);
          if (proc) proc.role = entry.flags.includes('master') ? 'master' : 'replica';
        }
        return entries;
      } catch (err) {
        lastError = err;
      }
    }
    throw new Error(`no cluster node answers CLUSTER NODES: ${String(lastError)}`);
  };

  const mastersOf = (entries: readonly NodeEntry[]): ClusterMaster[] =>
    entries
      .filter((e) => e.flags.includes('master') && !failed(e) && e.slots.length > 0)
      .map((e) => ({ port: e.port, id: e.id, slots: e.slots }))
      .sort((a, b) => a.port - b.port);

  const masters = async (): Promise<ClusterMaster[]> => mastersOf(await view());

  /** Poll `check` (a description of what is not ready yet, or undefined) until ready or the deadline. */
  const waitUntil = async (
    what: string,
    timeoutMs: number,
    check: () => Promise<string | undefined>,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let notReady: string | undefined = 'not checked';
    while (Date.now() <= deadline) {
      try {
        notReady = await check();
      } catch (err) {
        notReady = String(err);
      }
      if (notReady === undefined) return;
      await sleep(POLL_MS);
    }
    throw new Error(
      `Redis Cluster: ${what} not reached within ${String(timeoutMs)} ms: ${notReady}`,
    );
  };

  /** Every live node says cluster_state:ok and agrees on the masters; undefined when so. */
  const settled = async (expectMasters: number): Promise<string | undefined> => {
    const views: ClusterMaster[][] = [];
    for (const node of live()) {
      const [info, nodesText] = await onNode(node.port, (r) =>
        Promise.all([
          r.call('CLUSTER', 'INFO') as Promise<string>,
          r.call('CLUSTER', 'NODES') as Promise<string>,
        ]),
      );
      const state = infoFields(info).get('cluster_state');
      if (state !== 'ok') return `node ${String(node.port)} cluster_state:${String(state)}`;
      const entries = parseClusterNodes(nodesText);
      const own = mastersOf(entries);
      const dead = own.find((m) => !(byPort.get(m.port)?.running ?? false));
      if (dead)
        return `node ${String(node.port)} still routes slots to dead master ${String(dead.port)}`;
      if (own.length !== expectMasters)
        return `node ${String(node.port)} sees ${String(own.length)} masters`;
      views.push(own);
    }
    const first = JSON.stringify(views[0]);
    if (views.some((v) => JSON.stringify(v) !== first)) return 'nodes disagree on the masters';
    return undefined;
  };

  /** Every live replica's link to its master is up; undefined when so. */
  const replicasInSync = async (): Promise<string | undefined> => {
    for (const node of live()) {
      const replication = infoFields(await onNode(node.port, (r) => r.info('replication')));
      if (replication.get('role') === 'slave' && replication.get('master_link_status') !== 'up') {
        return `replica ${String(node.port)} master_link_status:${String(replication.get('master_link_status'))}`;
      }
    }
    return undefined;
  };

  /**
   * Every live node lists every replica, with its master, and none failed;
   * undefined when so. Needed beyond replicasInSync: a replica's own INFO says
   * it replicates as soon as redis-cli made it one, but the other nodes learn
   * its role by gossip (measured: a second after start on an idle machine the
   * first node still listed every replica as a master without slots, which
   * made killMaster find no master with a replica under CI load).
   */
  const replicasKnown = async (expectReplicas: number): Promise<string | undefined> => {
    for (const node of live()) {
      const entries = parseClusterNodes(
        await onNode(node.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>),
      );
      const masterIds = new Set(mastersOf(entries).map((m) => m.id));
      const known = entries.filter(
        (e) => e.masterId !== undefined && masterIds.has(e.masterId) && !failed(e),
      ).length;
      if (known !== expectReplicas) {
        return `node ${String(node.port)} knows ${String(known)} of ${String(expectReplicas)} replicas`;
      }
    }
    return undefined;
  };

  /** The current masters (ordered by port) with a live replica not flagged as failed. */
  const mastersWithReplica = async (): Promise<ClusterMaster[]> => {
    const entries = await view();
    return mastersOf(entries).filter((m) =>
      entries.some(
        (e) => e.masterId === m.id && !failed(e) && (byPort.get(e.port)?.running ?? false),
      ),
    );
  };

  let lastKilled: ClusterMaster | undefined;

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const node of nodes) node.start(dir);
    await Promise.all(nodes.map((n) => n.waitReady(deadline)));
    await runRedisCli([
      '--cluster',
      'create',
      ...nodes.map((n) => `${HOST}:${String(n.port)}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);
    await waitUntil('cluster_state:ok on every node', START_TIMEOUT_MS, () => settled(masterCount));
    await waitUntil('every replica in sync', START_TIMEOUT_MS, replicasInSync);
    await waitUntil('every node knows every replica', START_TIMEOUT_MS, () =>
      replicasKnown(masterCount * replicasPerMaster),
    );
    await view(); // record roles
  } catch (err) {
    await stop();
    throw err;
  }

  const forEachMaster = async <T>(
    fn: (redis: Redis) => Promise<T>,
  ): Promise<{ port: number; value: T }[]> =>
    Promise.all(
      (await masters()).map(async (m) => ({ port: m.port, value: await onNode(m.port, fn) })),
    );

  return {
    seeds: nodes.map((n) => ({ host: HOST, port: n.port })),
    nodes,
    dir,
    masters,

    async killMaster(index = 0, timeoutMs = KILL_WAIT_MS) {
      // Waited for, not read once: a node's view lags (a replica's role not yet
      // gossiped, a replica briefly flagged fail? by a node that stalled under
      // load); a master killed while the other masters do not know its replica
      // has no election the caller can count on (they vote only for a replica
      // they know).
      let target: ClusterMaster | undefined;
      await waitUntil(
        `killMaster(${String(index)}): a master with a live replica`,
        timeoutMs,
        async () => {
          const withReplica = await mastersWithReplica();
          target = withReplica[index];
          return target === undefined
            ? `only ${String(withReplica.length)} masters have a live replica`
            : undefined;
        },
      );
      if (target === undefined) throw new Error('unreachable: waitUntil resolved without a target');
      await byPort.get(target.port)?.signal('SIGKILL');
      lastKilled = target;
      return target;
    },

    async waitForFailover(timeoutMs = 15_000) {
      const killed = lastKilled;
      if (killed === undefined)
        throw new Error('waitForFailover: no master was killed (call killMaster first)');
      let promoted: number | undefined;
      await waitUntil(`failover of master ${String(killed.port)}`, timeoutMs, async () => {
        const now = mastersOf(await view());
        const heir = now.find((m) =>
          m.slots.some(([from]) => killed.slots.some(([k]) => k === from)),
        );
        if (heir === undefined || heir.port === killed.port)
          return `slots of ${String(killed.port)} not taken over`;
        promoted = heir.port;
        return settled(now.length);
      });
      return promoted ?? 0;
    },

    async countKeysPerMaster(pattern?: string) {
      const counts = await forEachMaster(async (r) => {
        if (pattern === undefined) return r.dbsize();
        let found = 0;
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          found += keys.length;
        } while (cursor !== '0');
        return found;
      });
      return counts.map(({ port, value }) => ({ port, keys: value }));
    },

    async commandStats() {
      const totals: Record<string, number> = {};
      for (const { value } of await forEachMaster((r) => r.info('commandstats'))) {
        for (const [field, stats] of infoFields(value)) {
          const calls = /(?:^|,)calls=(\d+)/.exec(stats)?.[1];
          if (!field.startsWith('cmdstat_') || calls === undefined) continue;
          const name = field.slice('cmdstat_'.length);
          totals[name] = (totals[name] ?? 0) + Number(calls);
        }
      }
      return totals;
    },

    async resetStats() {
      await Promise.all(live().map((n) => onNode(n.port, (r) => r.call('CONFIG', 'RESETSTAT'))));
    },

    async flushAll() {
      await forEachMaster((r) => r.call('FLUSHALL'));
    },

    stop,
  };
}
