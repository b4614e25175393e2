// Stores that keep the broker's state on disk.
export { DiskStore, type DiskStoreOptions, type DiskStoreLogger } from './disk-store';
export type { FsyncMode } from './commit-log';
