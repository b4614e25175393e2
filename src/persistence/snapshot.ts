// A snapshot: the header, the records that rebuild the whole store, and an end record with their
// count; a file without that end record (or with any bad record) is not used.
import { HEADER_SIZE, Op, SNAPSHOT_MAGIC, readHeader, scanRecords, writeHeader, writeRecord } from './records';
import { snapshotName } from './files';
import { StoreState } from './store-state';
import { ByteWriter } from './value-codec';

export function encodeSnapshot(state: StoreState, generation: number): Buffer {
  const w = new ByteWriter(64 * 1024);
  writeHeader(w, SNAPSHOT_MAGIC, generation);
  let count = 0;
  for (const record of state.records()) {
    writeRecord(w, record);
    count++;
  }
  writeRecord(w, { op: Op.SnapshotEnd, count });
  return w.finish();
}

/** The state a snapshot holds, or why it cannot be used. */
export function decodeSnapshot(data: Buffer, generation: number): StoreState | string {
  const header = readHeader(data, SNAPSHOT_MAGIC, snapshotName(generation));
  if ('error' in header) return header.error;
  if (header.generation !== generation) return `header says generation ${header.generation}`;
  const scan = scanRecords(data, HEADER_SIZE);
  if (scan.stop !== 'end') return `${scan.detail ?? scan.stop} at byte ${scan.goodEnd}`;
  const last = scan.records[scan.records.length - 1];
  if (last === undefined || last.op !== Op.SnapshotEnd || last.count !== scan.records.length - 1) return 'incomplete (no end record)';
  const state = new StoreState();
  for (const r of scan.records) state.apply(r);
  return state;
}
