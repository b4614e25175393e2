// File names and durable file operations of the disk store. A generation N is a snapshot
// (`snapshot-N.mqhs`: the whole store when the log N began) and a log (`log-N.mqhl`: every change
// since). Compaction writes snapshot N+1 under a temporary name, syncs it, renames it in place and
// syncs the directory, so a snapshot file is either complete or absent after a crash.
import * as fs from 'node:fs';
import * as path from 'node:path';

const SNAPSHOT = /^snapshot-(\d{8,})\.mqhs$/;
const LOG = /^log-(\d{8,})\.mqhl$/;
const TEMP_SUFFIX = '.tmp';

function pad(generation: number): string {
  return String(generation).padStart(8, '0');
}

export function snapshotName(generation: number): string {
  return `snapshot-${pad(generation)}.mqhs`;
}

export function logName(generation: number): string {
  return `log-${pad(generation)}.mqhl`;
}

/** Where a snapshot that failed its checks is kept for inspection (one, the latest). */
export const CORRUPT_SNAPSHOT = 'snapshot-corrupt.mqhs';

export interface DirectoryListing {
  snapshots: number[];
  logs: number[];
  temporaries: string[];
}

/** Generations present in the directory, ascending. */
export async function listDirectory(directory: string): Promise<DirectoryListing> {
  const out: DirectoryListing = { snapshots: [], logs: [], temporaries: [] };
  for (const name of await fs.promises.readdir(directory)) {
    let m: RegExpExecArray | null;
    if (name.endsWith(TEMP_SUFFIX)) out.temporaries.push(name);
    else if ((m = SNAPSHOT.exec(name)) !== null) out.snapshots.push(Number(m[1]));
    else if ((m = LOG.exec(name)) !== null) out.logs.push(Number(m[1]));
  }
  out.snapshots.sort((a, b) => a - b);
  out.logs.sort((a, b) => a - b);
  return out;
}

/**
 * Makes a file creation, rename or removal in the directory durable. Windows cannot open a
 * directory for syncing (and its file system orders these updates itself): skipped there.
 */
export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.promises.open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes data to `name` atomically: temporary file, fsync, rename, directory fsync. */
export async function writeFileAtomically(directory: string, name: string, data: Buffer): Promise<void> {
  const final = path.join(directory, name);
  const temporary = final + TEMP_SUFFIX;
  const handle = await fs.promises.open(temporary, 'w');
  try {
    let written = 0;
    while (written < data.length) written += (await handle.write(data, written, data.length - written, written)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temporary, final);
  await syncDirectory(directory);
}

export async function removeIfPresent(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true });
}
