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

const LOCK = 'LOCK';
/** Directories opened by a store of this process (a lock file alone cannot tell this process's own). */
const openHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One store per directory: two writers would interleave their logs. The lock file holds the pid of
 * its owner; a lock left by a process that no longer runs (killed) is taken over. Returns the
 * release function.
 */
export async function lockDirectory(directory: string): Promise<() => Promise<void>> {
  if (openHere.has(directory)) throw new Error(`disk store ${directory} is already open in this process`);
  const file = path.join(directory, LOCK);
  try {
    const owner = Number((await fs.promises.readFile(file, 'utf8')).trim());
    // the same pid as ours is a previous life of this process (a container's pid 1 after a restart)
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new Error(`disk store ${directory} is in use by process ${owner}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.promises.writeFile(file, `${process.pid}\n`);
  openHere.add(directory);
  return async () => {
    openHere.delete(directory);
    await removeIfPresent(file);
  };
}
