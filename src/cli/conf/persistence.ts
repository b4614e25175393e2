// `persistence true`: the broker's sessions, queued and retained messages in a DiskStore in
// persistence_location. Mosquitto writes its whole database every autosave_interval seconds and at
// shutdown; the store writes every change to its log at once, so autosave_interval only sets how
// often that log is fsync'd (a process crash loses nothing written, a machine crash at most that period).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskStore, type DiskStoreOptions } from '../../persistence';
import type { ConfPersistence } from '../mosquitto-conf';

/**
 * The store's folder: persistence_location, or with persistence_file the folder of that name in it.
 * Mosquitto keeps one file there, the store a snapshot and a log, so persistence_file names a folder:
 * two brokers with different persistence_file share a location without touching each other's files.
 */
export function storeDirectory(p: ConfPersistence): string {
  const location = p.location ?? process.cwd();
  return p.file !== undefined ? path.join(location, p.file) : location;
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
  await fs.promises.mkdir(options.directory, { recursive: true });
  return DiskStore.open(options);
}
