// `persistence true`: the broker's sessions, queued and retained messages in a DiskStore in
// persistence_location. Mosquitto writes its whole database every autosave_interval seconds and at
// shutdown; the store writes every change to its log at once, so autosave_interval only sets how
// often that log is fsync'd (a process crash loses nothing written, a machine crash at most that period).
// With persistence_file the store is that one file at rest, as Mosquitto's (PackedDiskStore).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskStore, type DiskStoreOptions, PackedDiskStore, packedWorkDirectory } from '../../persistence';
import type { ConfPersistence } from '../mosquitto-conf';

/** persistence_file in persistence_location, when given. */
export function storeFile(p: ConfPersistence): string | undefined {
  return p.file !== undefined ? path.join(p.location ?? process.cwd(), p.file) : undefined;
}

/**
 * Where the store works: persistence_location, or with persistence_file the folder beside that file
 * (`<file>.store`), so two brokers with different persistence_file share a location safely.
 */
export function storeDirectory(p: ConfPersistence): string {
  const file = storeFile(p);
  return file !== undefined ? packedWorkDirectory(file) : (p.location ?? process.cwd());
}

export function diskStoreOptions(p: ConfPersistence, logger: DiskStoreOptions['logger']): DiskStoreOptions {
  const options: DiskStoreOptions = { directory: storeDirectory(p), logger };
  if (p.autosaveInterval !== undefined) {
    // 0: Mosquitto saves only at shutdown; here the system decides when the log reaches the disk.
    if (p.autosaveInterval === 0) options.fsync = 'never';
    else Object.assign(options, { fsync: 'interval', fsyncIntervalMs: p.autosaveInterval * 1000 });
  }
  return options;
}

export async function openPersistence(p: ConfPersistence, logger: DiskStoreOptions['logger']): Promise<DiskStore | undefined> {
  if (!p.enabled) return undefined;
  const options = diskStoreOptions(p, logger);
  const file = storeFile(p);
  await fs.promises.mkdir(file !== undefined ? path.dirname(file) : options.directory, { recursive: true });
  if (file !== undefined) return PackedDiskStore.openFile(file, options);
  return DiskStore.open(options);
}

/** What the start-up line names: the file (and its working folder), or the store's folder. */
export function persistenceWhere(p: ConfPersistence): string {
  const file = storeFile(p);
  return file !== undefined ? `${file} (working in ${packedWorkDirectory(file)} while running)` : storeDirectory(p);
}
