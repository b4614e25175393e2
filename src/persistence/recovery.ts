// Opening the store's directory: the newest snapshot that passes its checks (an older one when the
// newest is damaged), then every log from that generation on, in order. A log ends at its first
// record that is cut short or fails its CRC: the newest log is truncated there (that is the tail a
// crash leaves) and writing resumes after its last good record.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommitLog } from './commit-log';
import { CORRUPT_SNAPSHOT, listDirectory, logName, removeIfPresent, snapshotName, writeFileAtomically } from './files';
import { HEADER_SIZE, LOG_MAGIC, readHeader, scanRecords } from './records';
import { decodeSnapshot, encodeSnapshot } from './snapshot';
import { StoreState } from './store-state';

export interface RecoveryLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface Recovered {
  state: StoreState;
  log: { generation: number; handle: fs.promises.FileHandle; size: number };
  snapshotBytes: number;
  /** True when the newest snapshot was damaged and an older one (or none) was used. */
  snapshotFallback: boolean;
}

export async function recover(directory: string, log: RecoveryLogger): Promise<Recovered> {
  const listing = await listDirectory(directory);
  // a temporary file is a compaction that did not finish: its generation's log and the previous snapshot cover it
  for (const name of listing.temporaries) await removeIfPresent(path.join(directory, name));

  if (listing.snapshots.length === 0 && listing.logs.length === 0) {
    // a new store: an empty snapshot 1 first, so every log has a snapshot before it
    const empty = new StoreState();
    await writeFileAtomically(directory, snapshotName(1), encodeSnapshot(empty, 1));
    const created = await CommitLog.create(directory, 1);
    return { state: empty, log: created, snapshotBytes: 0, snapshotFallback: false };
  }

  let state: StoreState | null = null;
  let base = 0;
  let snapshotBytes = 0;
  let snapshotFallback = false;
  for (const generation of [...listing.snapshots].reverse()) {
    const file = path.join(directory, snapshotName(generation));
    const data = await fs.promises.readFile(file);
    const read = decodeSnapshot(data, generation);
    if (typeof read === 'string') {
      log.error(`snapshot ${snapshotName(generation)} is damaged (${read}); using the generation before it`);
      await fs.promises.rename(file, path.join(directory, CORRUPT_SNAPSHOT));
      snapshotFallback = true;
      continue;
    }
    state = read;
    base = generation;
    snapshotBytes = data.length;
    break;
  }
  if (state === null) {
    state = new StoreState();
    base = listing.logs[0] ?? 1;
    if (listing.snapshots.length > 0) log.error(`no usable snapshot: replaying the logs from generation ${base} alone`);
  }

  const logs = listing.logs.filter((g) => g >= base);
  let tail: Recovered['log'] | null = null;
  for (let i = 0; i < logs.length; i++) {
    const generation = logs[i];
    const newest = i === logs.length - 1;
    const file = path.join(directory, logName(generation));
    const data = await fs.promises.readFile(file);
    const header = readHeader(data, LOG_MAGIC, logName(generation));
    let end = HEADER_SIZE;
    if ('error' in header || header.generation !== generation) {
      const why = 'error' in header ? header.error : `header says generation ${header.generation}`;
      if (!newest) {
        log.error(`log ${logName(generation)} is unreadable (${why}); skipped`);
        continue;
      }
      // a log created at the moment of a crash: begin it again
      log.warn(`log ${logName(generation)} has no valid header (${why}); starting it again`);
      await removeIfPresent(file);
      break;
    }
    const scan = scanRecords(data, HEADER_SIZE);
    for (const r of scan.records) state.apply(r);
    end = scan.goodEnd;
    if (scan.stop !== 'end') {
      const lost = data.length - scan.goodEnd;
      if (newest) log.warn(`log ${logName(generation)}: ${scan.detail ?? scan.stop} at byte ${scan.goodEnd} after ${scan.records.length} good records; ${lost} byte(s) of damaged tail truncated`);
      else log.error(`log ${logName(generation)}: ${scan.detail ?? scan.stop} at byte ${scan.goodEnd} after ${scan.records.length} good records; the ${lost} byte(s) after it are skipped`);
    }
    if (newest) {
      const handle = await fs.promises.open(file, 'r+');
      if (end < data.length) {
        await handle.truncate(end);
        await handle.sync();
      }
      tail = { generation, handle, size: end };
    }
  }
  if (tail === null) {
    const generation = Math.max(base, listing.logs[listing.logs.length - 1] ?? base);
    tail = await CommitLog.create(directory, generation);
  }
  return { state, log: tail, snapshotBytes, snapshotFallback };
}
