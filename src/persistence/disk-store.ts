// A BrokerStore on disk: an append-only log of CRC-checked records, compacted into snapshots.
// The store's contents live in memory (StoreState); every change is applied there at once and
// appended to the log, and its promise resolves once the record is on the disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BrokerMessage, messageFields } from '../broker/message';
import type { BrokerStore, StoredDelivery, StoredInflight, StoredSession, StoredSubscription } from '../broker/store/types';
import { CommitLog, type FsyncMode } from './commit-log';
import { CORRUPT_SNAPSHOT, listDirectory, lockDirectory, logName, removeIfPresent, snapshotName, writeFileAtomically } from './files';
import { recover } from './recovery';
import { Op, type StoreOp } from './records';
import { encodeSnapshot } from './snapshot';
import { plainCopy } from './value-codec';
import { StoreState } from './store-state';

export interface DiskStoreLogger {
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

export interface DiskStoreOptions {
  /** Directory of the store's files (created if missing); one store per directory. */
  directory: string;
  /**
   * 'always' (default): a write's promise resolves after fsync, so it survives a crash of the
   * process or of the machine. 'interval': after the write reaches the operating system, fsync every
   * `fsyncIntervalMs`; survives a crash of the process. 'never': leaves syncing to the system.
   */
  fsync?: FsyncMode;
  /** ms between fsyncs with fsync 'interval' (1000). */
  fsyncIntervalMs?: number;
  /**
   * Bytes of log after which the log is compacted into a new snapshot (16 MiB); compaction waits
   * until the log is also larger than the last snapshot, so a large store is not rewritten for
   * every few changes. The files hold two generations (snapshot + log) and the log written while a
   * compaction runs: with fsync 'always' the writes wait for the disk and that stays small; with
   * 'interval' or 'never' a fast writer can add more to the log before the next snapshot is done.
   */
  compactEvery?: number;
  /** Where damage found at start (a torn log tail, a corrupted snapshot) is reported; console otherwise. */
  logger?: DiskStoreLogger;
}

const DEFAULT_COMPACT_EVERY = 16 * 1024 * 1024;

/**
 * Usage: `const store = new DiskStore({ directory }); await store.open();` (or the same in one step,
 * `await DiskStore.open({ directory })`), then give it to `createBroker({ store })`. Every other
 * method rejects before open() has resolved and after close().
 */
export class DiskStore implements BrokerStore {
  private readonly directory: string;
  private readonly fsync: FsyncMode;
  private readonly compactEvery: number;
  private readonly log: Required<DiskStoreLogger>;
  private state = new StoreState();
  private commitLog: CommitLog | null = null;
  /** Generation of the log that new records go to. */
  private generation = 0;
  /** Bytes in that log, records not yet written included. */
  private logBytes = 0;
  private lastSnapshotBytes = 0;
  private compaction: Promise<void> | null = null;
  private unlock: (() => Promise<void>) | null = null;
  private compactQueued = false;

  constructor(private readonly options: DiskStoreOptions) {
    this.directory = path.resolve(options.directory);
    this.fsync = options.fsync ?? 'always';
    this.compactEvery = options.compactEvery ?? DEFAULT_COMPACT_EVERY;
    const logger = options.logger ?? { warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
    this.log = {
      info: (m) => logger.info?.(`disk store ${this.directory}: ${m}`),
      warn: (m) => (logger.warn ?? logger.error)?.(`disk store ${this.directory}: ${m}`),
      error: (m) => (logger.error ?? logger.warn)?.(`disk store ${this.directory}: ${m}`),
    };
  }

  static async open(options: DiskStoreOptions): Promise<DiskStore> {
    const store = new DiskStore(options);
    await store.open();
    return store;
  }

  /** Reads the newest good snapshot and replays the logs after it, repairing a damaged log tail. */
  async open(): Promise<void> {
    if (this.commitLog !== null) throw new Error('disk store already open');
    await fs.promises.mkdir(this.directory, { recursive: true });
    const unlock = await lockDirectory(this.directory);
    let recovered: Awaited<ReturnType<typeof recover>>;
    try {
      recovered = await recover(this.directory, this.log);
    } catch (err) {
      await unlock();
      throw err;
    }
    this.unlock = unlock;
    this.state = recovered.state;
    this.generation = recovered.log.generation;
    this.logBytes = recovered.log.size;
    this.lastSnapshotBytes = recovered.snapshotBytes;
    this.commitLog = new CommitLog(this.directory, recovered.log, this.fsync, this.options.fsyncIntervalMs ?? 1000);
    // a snapshot that failed its checks is replaced by a good one at once
    if (recovered.snapshotFallback) void this.compact();
    else this.maybeCompact();
  }

  /** Files of the store and their sizes, for monitoring and tests. */
  async files(): Promise<{ name: string; bytes: number }[]> {
    const out: { name: string; bytes: number }[] = [];
    for (const name of (await fs.promises.readdir(this.directory)).sort()) {
      try {
        out.push({ name, bytes: (await fs.promises.stat(path.join(this.directory, name))).size });
      } catch (err) {
        // a compaction renamed or removed it meanwhile
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  private write(record: StoreOp): Promise<void> {
    const commitLog = this.commitLog;
    if (commitLog === null) return Promise.reject(new Error('disk store is not open'));
    const { done, bytes } = commitLog.append(this.generation, record);
    this.state.apply(record);
    this.logBytes += bytes;
    this.maybeCompact();
    return done;
  }

  private maybeCompact(): void {
    if (this.compactQueued || this.logBytes <= this.compactEvery || this.logBytes <= this.lastSnapshotBytes) return;
    // after the synchronous code that wrote: its changes then share one batch in one log (atomic)
    this.compactQueued = true;
    queueMicrotask(() => {
      this.compactQueued = false;
      if (this.commitLog !== null && this.logBytes > this.compactEvery && this.logBytes > this.lastSnapshotBytes) void this.compact();
    });
  }

  /**
   * Starts a compaction unless one is running: the state as of now becomes snapshot N+1 and the
   * records from now on go to log N+1. Until the snapshot is durable, snapshot N with logs N and
   * N+1 hold everything; afterwards generation N stays as the fallback and older ones are removed.
   * Resolves when the snapshot is written.
   */
  compact(): Promise<void> {
    if (this.compaction !== null) return this.compaction;
    if (this.commitLog === null) return Promise.reject(new Error('disk store is not open'));
    const generation = ++this.generation;
    const data = encodeSnapshot(this.state, generation);
    this.logBytes = 0;
    this.lastSnapshotBytes = data.length;
    this.compaction = (async () => {
      await writeFileAtomically(this.directory, snapshotName(generation), data);
      await this.removeOlderGenerations(generation);
    })()
      .catch((err: Error) => this.log.error(`compaction into ${snapshotName(generation)} failed: ${err.message}`))
      .finally(() => {
        this.compaction = null;
        // the log may have passed the threshold again while the snapshot was written
        if (this.commitLog !== null) this.maybeCompact();
      });
    return this.compaction;
  }

  /**
   * Once snapshot `generation` is durable: keeps the newest snapshot before it (the fallback, which
   * need not be generation - 1 when a compaction failed in between) with the logs from there on,
   * and removes everything older.
   */
  private async removeOlderGenerations(generation: number): Promise<void> {
    const listing = await listDirectory(this.directory);
    const older = listing.snapshots.filter((g) => g < generation);
    const keep = older.length > 0 ? older[older.length - 1] : generation;
    for (const g of listing.snapshots) if (g < keep) await removeIfPresent(path.join(this.directory, snapshotName(g)));
    for (const g of listing.logs) if (g < keep) await removeIfPresent(path.join(this.directory, logName(g)));
    await removeIfPresent(path.join(this.directory, CORRUPT_SNAPSHOT));
  }

  async close(): Promise<void> {
    const commitLog = this.commitLog;
    if (commitLog === null) return;
    this.commitLog = null;
    await this.compaction;
    await commitLog.close();
    this.state = new StoreState();
    await this.unlock?.();
    this.unlock = null;
  }

  // --- BrokerStore ---

  storeRetained(message: BrokerMessage): Promise<void> {
    // an empty payload deletes [MQTT-3.3.1-10] and is itself not stored [MQTT-3.3.1-11]
    if (message.payload.length === 0) {
      if (!this.state.retained.has(message.topic)) return this.nothingToWrite();
      return this.write({ op: Op.RetainDelete, topic: message.topic });
    }
    return this.write({ op: Op.RetainSet, message: plainCopy(messageFields(message)) });
  }

  async getRetained(topic: string): Promise<BrokerMessage | undefined> {
    this.checkOpen();
    return this.state.getRetained(topic);
  }

  async matchRetained(topicFilter: string): Promise<BrokerMessage[]> {
    this.checkOpen();
    return this.state.matchRetained(topicFilter);
  }

  async countRetained(): Promise<number> {
    this.checkOpen();
    return this.state.retained.size;
  }

  saveSession(session: StoredSession): Promise<void> {
    return this.write({ op: Op.SessionSave, session: plainCopy(session) });
  }

  async getSession(clientId: string): Promise<StoredSession | undefined> {
    this.checkOpen();
    return this.state.getSession(clientId);
  }

  deleteSession(clientId: string): Promise<void> {
    if (!this.state.sessions.has(clientId)) return this.nothingToWrite();
    return this.write({ op: Op.SessionDelete, clientId });
  }

  async listSessions(): Promise<StoredSession[]> {
    this.checkOpen();
    return this.state.listSessions();
  }

  addSubscriptions(clientId: string, subscriptions: StoredSubscription[]): Promise<void> {
    return this.write({ op: Op.SubscriptionsAdd, clientId, subscriptions: plainCopy(subscriptions) });
  }

  removeSubscriptions(clientId: string, topicFilters: string[]): Promise<void> {
    const record = this.state.sessions.get(clientId);
    if (record === undefined || !topicFilters.some((f) => record.subscriptions.has(f))) return this.nothingToWrite();
    return this.write({ op: Op.SubscriptionsRemove, clientId, topicFilters: [...topicFilters] });
  }

  async getSubscriptions(clientId: string): Promise<StoredSubscription[]> {
    this.checkOpen();
    return this.state.getSubscriptions(clientId);
  }

  enqueue(clientId: string, delivery: StoredDelivery): Promise<void> {
    return this.write({ op: Op.Enqueue, clientId, delivery: plainCopy({ ...delivery, message: messageFields(delivery.message) }) });
  }

  async getQueued(clientId: string): Promise<StoredDelivery[]> {
    this.checkOpen();
    return this.state.getQueued(clientId);
  }

  /** Removes the first `count` queued deliveries (they went into flight). */
  dequeue(clientId: string, count: number): Promise<void> {
    const record = this.state.sessions.get(clientId);
    if (record === undefined || record.queue.length === 0 || count <= 0) return this.nothingToWrite();
    return this.write({ op: Op.Dequeue, clientId, count: Math.min(count, record.queue.length) });
  }

  clearQueued(clientId: string): Promise<void> {
    const record = this.state.sessions.get(clientId);
    if (record === undefined || record.queue.length === 0) return this.nothingToWrite();
    return this.write({ op: Op.QueueClear, clientId });
  }

  putInflight(clientId: string, entry: StoredInflight): Promise<void> {
    return this.write({ op: Op.InflightPut, clientId, entry: plainCopy({ ...entry, message: messageFields(entry.message) }) });
  }

  removeInflight(clientId: string, packetId: number): Promise<void> {
    if (this.state.sessions.get(clientId)?.inflight.has(packetId) !== true) return this.nothingToWrite();
    return this.write({ op: Op.InflightRemove, clientId, packetId });
  }

  async getInflight(clientId: string): Promise<StoredInflight[]> {
    this.checkOpen();
    return this.state.getInflight(clientId);
  }

  clearInflight(clientId: string): Promise<void> {
    const record = this.state.sessions.get(clientId);
    if (record === undefined || record.inflight.size === 0) return this.nothingToWrite();
    return this.write({ op: Op.InflightClear, clientId });
  }

  private checkOpen(): void {
    if (this.commitLog === null) throw new Error('disk store is not open');
  }

  /** A change that changes nothing writes nothing, but still fails on a closed store. */
  private nothingToWrite(): Promise<void> {
    return this.commitLog === null ? Promise.reject(new Error('disk store is not open')) : Promise.resolve();
  }
}
