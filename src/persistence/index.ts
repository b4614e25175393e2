// Stores that keep the broker's state on disk.
//
// DiskStore (`const store = await DiskStore.open({ directory })`, then `createBroker({ store })`):
// - Files in its directory: `snapshot-N.mqhs` (the whole store when log N began), `log-N.mqhl`
//   (every change since, appended), `LOCK` (pid of the owning process), briefly `*.tmp`.
// - A change's promise resolves once it is in the log (fsync'd with the default fsync 'always').
//   Changes made in one synchronous stretch of code share one write and one fsync and are one
//   record on disk, so a crash keeps all of them or none: a broker that queues a message for
//   several sessions and then awaits those promises before PUBACK/PUBREC loses nothing it
//   acknowledged and half-writes nothing.
// - At start the newest snapshot that passes its checks is read (the one before it when it is
//   damaged), then the logs after it; a log ends at its first cut-short or CRC-failing record, and
//   the newest log is truncated there (logged).
// - The log is compacted into a new snapshot once it passes `compactEvery` bytes and the size of
//   the last snapshot; two generations are kept.
export { DiskStore, type DiskStoreOptions, type DiskStoreLogger } from './disk-store';
export { PackedDiskStore, packedWorkDirectory } from './packed-store';
export type { FsyncMode } from './commit-log';
