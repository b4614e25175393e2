// The log's writer: records appended in the same turn of the event loop, or while the previous
// write and fsync were running, go to the disk as one write and one fsync (group commit), and every
// promise of that batch resolves once its bytes are durable. Batches are written strictly in order,
// so when a promise resolves every record appended before it is durable too. A batch of several
// records is one group record: after a crash, all of them or none. Changes made in one synchronous
// stretch of code always share a batch (up to MAX_BATCH bytes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logName, syncDirectory } from './files';
import { GROUP_HEADER_SIZE, LOG_MAGIC, type StoreOp, finishGroup, writeHeader, writeRecord } from './records';
import { ByteWriter } from './value-codec';

export type FsyncMode = 'always' | 'interval' | 'never';

/** A batch grows no larger than this (the records after it go to the next batch). */
const MAX_BATCH = 32 * 1024 * 1024;

interface Batch {
  generation: number;
  /** GROUP_HEADER_SIZE reserved bytes, then the framed records. */
  writer: ByteWriter;
  count: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface OpenLog {
  generation: number;
  handle: fs.promises.FileHandle;
  /** Bytes in the file: where the next batch is written. */
  size: number;
}

export class CommitLog {
  private log: OpenLog | null;
  private readonly batches: Batch[] = [];
  /** The batch being written: appends go to a new one. */
  private writing: Batch | null = null;
  private scheduled = false;
  private dirty = false;
  private failure: Error | null = null;
  private idle: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | null = null;
  private syncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly directory: string,
    log: OpenLog,
    private readonly fsync: FsyncMode,
    fsyncIntervalMs: number,
  ) {
    this.log = log;
    if (fsync === 'interval') {
      this.syncTimer = setInterval(() => void this.syncNow(), fsyncIntervalMs);
      this.syncTimer.unref();
    }
  }

  /** Creates log `generation` with its header, durable (file and directory entry) before use. */
  static async create(directory: string, generation: number): Promise<OpenLog> {
    const handle = await fs.promises.open(path.join(directory, logName(generation)), 'w+');
    const w = new ByteWriter(16);
    writeHeader(w, LOG_MAGIC, generation);
    const header = w.finish();
    await handle.write(header, 0, header.length, 0);
    await handle.sync();
    await syncDirectory(directory);
    return { generation, handle, size: header.length };
  }

  /**
   * Encodes the record into the batch for `generation` (a higher generation than the open log's
   * switches logs when its turn comes) and returns the promise of that batch with the record's size.
   */
  append(generation: number, record: StoreOp): { done: Promise<void>; bytes: number } {
    if (this.failure !== null) return { done: Promise.reject(this.failure), bytes: 0 };
    let batch = this.batches[this.batches.length - 1];
    if (batch === undefined || batch === this.writing || batch.generation !== generation || batch.writer.length > MAX_BATCH) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { generation, writer: new ByteWriter(1024), count: 0, done, resolve, reject };
      batch.writer.reserve(GROUP_HEADER_SIZE);
      this.batches.push(batch);
    }
    const before = batch.writer.length;
    try {
      writeRecord(batch.writer, record);
    } catch (err) {
      // half a record in the batch would end replay there: leave the batch as it was
      batch.writer.rewind(before);
      throw err;
    }
    batch.count++;
    if (!this.scheduled && this.writing === null) {
      this.scheduled = true;
      if (this.idleResolve === null) this.idle = new Promise((r) => (this.idleResolve = r));
      setImmediate(() => void this.drain());
    }
    return { done: batch.done, bytes: batch.writer.length - before };
  }

  /** Resolves when everything appended so far is written (and synced, as the mode says). */
  async flushed(): Promise<void> {
    await this.idle;
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    while (this.batches.length > 0) {
      const batch = this.batches[0];
      this.writing = batch;
      try {
        await this.write(batch);
        batch.resolve();
      } catch (err) {
        batch.reject(err as Error);
      }
      this.batches.shift();
      this.writing = null;
    }
    const done = this.idleResolve;
    this.idleResolve = null;
    done?.();
  }

  private async write(batch: Batch): Promise<void> {
    if (this.failure !== null) throw this.failure;
    let log = this.log!;
    if (batch.generation !== log.generation) {
      // the previous log is complete: make it durable before the next one takes over
      await log.handle.sync();
      await log.handle.close();
      this.log = null;
      log = this.log = await CommitLog.create(this.directory, batch.generation);
    }
    const bytes = batch.writer.finish();
    const data = batch.count === 1 ? bytes.subarray(GROUP_HEADER_SIZE) : finishGroup(bytes, batch.count);
    const start = log.size;
    try {
      let written = 0;
      while (written < data.length) written += (await log.handle.write(data, written, data.length - written, start + written)).bytesWritten;
      log.size = start + data.length;
      if (this.fsync === 'always') await log.handle.datasync();
      else this.dirty = true;
    } catch (err) {
      // a partly written batch would hide every later record from replay: cut it off, or stop
      try {
        await log.handle.truncate(start);
        log.size = start;
      } catch {
        this.failure = new Error(`store log ${logName(log.generation)} is damaged and cannot be repaired: ${(err as Error).message}`);
      }
      throw err;
    }
  }

  private async syncNow(): Promise<void> {
    if (!this.dirty || this.log === null || this.writing !== null) return;
    this.dirty = false;
    try {
      await this.log.handle.datasync();
    } catch {
      this.dirty = true;
    }
  }

  /** Waits for every batch, syncs and closes the log. */
  async close(): Promise<void> {
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    await this.flushed();
    const log = this.log;
    this.log = null;
    if (log !== null) {
      if (this.fsync !== 'never') await log.handle.sync();
      await log.handle.close();
    }
    this.failure = new Error('store is closed');
  }
}
