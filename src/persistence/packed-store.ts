// A disk store that is one file at rest, for Mosquitto's persistence_file: Mosquitto keeps its
// database in that one file, and users (and scripts) copy or delete it to back up or start afresh.
// While the broker runs, the store works in a folder beside it (`<file>.store/`: snapshot and log, as
// any DiskStore); a clean close folds everything into one snapshot, writes it to the file and removes
// the folder. After a crash the folder is still there and is what the next start reads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskStore, type DiskStoreOptions } from './disk-store';
import { listDirectory, logName, snapshotName, syncDirectory, writeFileAtomically } from './files';
import { HEADER_SIZE, SNAPSHOT_MAGIC, readHeader } from './records';
import { decodeSnapshot } from './snapshot';

/** The folder a packed store works in while it is open. */
export function packedWorkDirectory(file: string): string {
  return `${file}.store`;
}

async function exists(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.stat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class PackedDiskStore extends DiskStore {
  private readonly file: string;
  private readonly work: string;

  /** `options.directory` is ignored: the store works in packedWorkDirectory(file). */
  constructor(file: string, options: Omit<DiskStoreOptions, 'directory'>) {
    const resolved = path.resolve(file);
    super({ ...options, directory: packedWorkDirectory(resolved) });
    this.file = resolved;
    this.work = packedWorkDirectory(resolved);
  }

  static async openFile(file: string, options: Omit<DiskStoreOptions, 'directory'>): Promise<PackedDiskStore> {
    const store = new PackedDiskStore(file, options);
    await store.open();
    return store;
  }

  /** Unpacks the file into the work folder unless that folder is there already (a crash left it). */
  override async open(): Promise<void> {
    const packed = await exists(this.file);
    if (packed !== undefined && !packed.isFile()) throw new Error(`${this.file} is not a file`);
    if (packed !== undefined && (await exists(this.work)) === undefined) {
      const data = await fs.promises.readFile(this.file);
      const header = readHeader(data, SNAPSHOT_MAGIC, this.file);
      // Mosquitto's own mosquitto.db, for one, is not a store this broker reads
      if ('error' in header) throw new Error(`${this.file} is not a store file of this broker (${header.error}): move it away or name another persistence_file`);
      await fs.promises.mkdir(this.work, { recursive: true });
      await writeFileAtomically(this.work, snapshotName(header.generation), data);
    }
    await super.open();
  }

  /** Closes, then packs: one snapshot holding everything becomes the file, and the folder goes. */
  override async close(): Promise<void> {
    await this.compact().catch(() => undefined);
    await super.close();
    const listing = await listDirectory(this.work).catch(() => undefined);
    const newest = listing?.snapshots[listing.snapshots.length - 1];
    if (listing === undefined || newest === undefined) return;
    // the newest snapshot holds it all only when no log after it has records
    for (const g of listing.logs) {
      if (g >= newest && (await fs.promises.stat(path.join(this.work, logName(g)))).size > HEADER_SIZE) return;
    }
    const data = await fs.promises.readFile(path.join(this.work, snapshotName(newest)));
    if (typeof decodeSnapshot(data, newest) === 'string') return; // keep the folder: it is still complete
    await writeFileAtomically(path.dirname(this.file), path.basename(this.file), data);
    await fs.promises.rm(this.work, { recursive: true, force: true });
    await syncDirectory(path.dirname(this.file));
  }
}
