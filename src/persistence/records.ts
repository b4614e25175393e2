// The records of the log and the snapshot: one change to the store each, framed as
//   u32 body length | u32 CRC-32 of the body | body = u8 operation, then its fields.
// The changes the log commits together (one write, one fsync) are wrapped in a group record, so a
// crash keeps all of them or none.
// A file starts with a 16-byte header: 4-byte magic, u32 format version, u32 generation, and the
// CRC-32 of those 12 bytes (so a damaged header is told apart from one of another format version).
import { type BrokerMessage, messageFields } from '../broker/message';
import type { StoredDelivery, StoredInflight, StoredSession, StoredSubscription } from '../broker/store/types';
import { crc32 } from './crc32';
import { ByteReader, ByteWriter, DecodeError, type StoredValue } from './value-codec';

export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 16;
export const LOG_MAGIC = 'MQHL';
export const SNAPSHOT_MAGIC = 'MQHS';
/** Frame: length and CRC. */
export const FRAME_SIZE = 8;
/** No record is larger (a group is split before this); a bigger length is damage. */
export const MAX_RECORD_SIZE = 0x7fffffff;
/** A group's frame, operation and record count, before its records. */
export const GROUP_HEADER_SIZE = FRAME_SIZE + 5;

export const enum Op {
  RetainSet = 1,
  RetainDelete = 2,
  SessionSave = 3,
  SessionDelete = 4,
  SubscriptionsAdd = 5,
  SubscriptionsRemove = 6,
  Enqueue = 7,
  QueueClear = 8,
  InflightPut = 9,
  InflightRemove = 10,
  InflightClear = 11,
  /** Last record of a snapshot: how many records came before it. A snapshot without it is incomplete. */
  SnapshotEnd = 12,
  /** Records committed together (one batch of the log): replayed all or none. */
  Group = 13,
  /** The first `count` deliveries of a queue went into flight. */
  Dequeue = 14,
}

export type StoreOp =
  | { op: Op.RetainSet; message: BrokerMessage }
  | { op: Op.RetainDelete; topic: string }
  | { op: Op.SessionSave; session: StoredSession }
  | { op: Op.SessionDelete; clientId: string }
  | { op: Op.SubscriptionsAdd; clientId: string; subscriptions: StoredSubscription[] }
  | { op: Op.SubscriptionsRemove; clientId: string; topicFilters: string[] }
  | { op: Op.Enqueue; clientId: string; delivery: StoredDelivery }
  | { op: Op.QueueClear; clientId: string }
  | { op: Op.Dequeue; clientId: string; count: number }
  | { op: Op.InflightPut; clientId: string; entry: StoredInflight }
  | { op: Op.InflightRemove; clientId: string; packetId: number }
  | { op: Op.InflightClear; clientId: string }
  | { op: Op.SnapshotEnd; count: number }
  | { op: Op.Group; records: StoreOp[] };

function asValue(v: object): StoredValue {
  return v as unknown as StoredValue;
}

/** Appends one framed record to the writer. */
export function writeRecord(w: ByteWriter, r: StoreOp): void {
  const lengthAt = w.reserve(FRAME_SIZE);
  const bodyStart = w.length;
  w.u8(r.op);
  switch (r.op) {
    case Op.RetainSet:
      w.value(asValue(r.message));
      break;
    case Op.RetainDelete:
      w.string(r.topic);
      break;
    case Op.SessionSave:
      w.value(asValue(r.session));
      break;
    case Op.SessionDelete:
    case Op.QueueClear:
    case Op.InflightClear:
      w.string(r.clientId);
      break;
    case Op.SubscriptionsAdd:
      w.string(r.clientId);
      w.value(asValue(r.subscriptions));
      break;
    case Op.SubscriptionsRemove:
      w.string(r.clientId);
      w.value(r.topicFilters);
      break;
    case Op.Enqueue:
      w.string(r.clientId);
      w.value(asValue(r.delivery));
      break;
    case Op.InflightPut:
      w.string(r.clientId);
      w.value(asValue(r.entry));
      break;
    case Op.InflightRemove:
      w.string(r.clientId);
      w.u32(r.packetId);
      break;
    case Op.Dequeue:
      w.string(r.clientId);
      w.u32(r.count);
      break;
    case Op.SnapshotEnd:
      w.u32(r.count);
      break;
    case Op.Group:
      throw new Error('a group is framed by the commit log (finishGroup)');
  }
  const bodyEnd = w.length;
  const bytes = w.finish();
  w.patchU32(lengthAt, bodyEnd - bodyStart);
  w.patchU32(lengthAt + 4, crc32(bytes, bodyStart, bodyEnd));
}

function object<T>(v: StoredValue, what: string): T {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || Array.isArray(v)) throw new DecodeError(`${what} is not an object`);
  return v as unknown as T;
}

function array<T>(v: StoredValue, what: string): T[] {
  if (!Array.isArray(v)) throw new DecodeError(`${what} is not a list`);
  return v as unknown as T[];
}

/** A message read back: only its own fields, also from files that hold more (a connection's cache, which earlier versions wrote). */
function message(m: BrokerMessage): BrokerMessage {
  if (typeof m.topic !== 'string' || !Buffer.isBuffer(m.payload)) throw new DecodeError('message without topic or payload');
  return messageFields(m);
}

/** Decodes a record body (CRC already checked). Throws DecodeError on a body that makes no sense. */
export function readBody(buf: Buffer, start: number, end: number): StoreOp {
  const r = new ByteReader(buf, start, end);
  const op = r.u8() as Op;
  let out: StoreOp;
  switch (op) {
    case Op.RetainSet:
      out = { op, message: message(object<BrokerMessage>(r.value(), 'retained message')) };
      break;
    case Op.RetainDelete:
      out = { op, topic: r.string() };
      break;
    case Op.SessionSave: {
      const session = object<StoredSession>(r.value(), 'session');
      if (typeof session.clientId !== 'string') throw new DecodeError('session without client identifier');
      out = { op, session };
      break;
    }
    case Op.SessionDelete:
    case Op.QueueClear:
    case Op.InflightClear:
      out = { op, clientId: r.string() };
      break;
    case Op.SubscriptionsAdd:
      out = { op, clientId: r.string(), subscriptions: array<StoredSubscription>(r.value(), 'subscriptions') };
      break;
    case Op.SubscriptionsRemove:
      out = { op, clientId: r.string(), topicFilters: array<string>(r.value(), 'topic filters') };
      break;
    case Op.Enqueue: {
      const clientId = r.string();
      const delivery = object<StoredDelivery>(r.value(), 'delivery');
      delivery.message = message(delivery.message);
      out = { op, clientId, delivery };
      break;
    }
    case Op.InflightPut: {
      const clientId = r.string();
      const entry = object<StoredInflight>(r.value(), 'in-flight entry');
      entry.message = message(entry.message);
      out = { op, clientId, entry };
      break;
    }
    case Op.InflightRemove:
      out = { op, clientId: r.string(), packetId: r.u32() };
      break;
    case Op.Dequeue:
      out = { op, clientId: r.string(), count: r.u32() };
      break;
    case Op.SnapshotEnd:
      out = { op, count: r.u32() };
      break;
    case Op.Group: {
      const count = r.u32();
      const inner = scanRecords(buf, r.pos, end);
      if (inner.stop !== 'end' || inner.records.length !== count || inner.records.some((x) => x.op === Op.Group)) throw new DecodeError('damaged group');
      r.pos = end;
      out = { op, records: inner.records };
      break;
    }
    default:
      throw new DecodeError(`unknown operation ${op as number}`);
  }
  if (!r.done) throw new DecodeError('bytes left over after the record');
  return out;
}

export type ScanStop = 'end' | 'torn' | 'crc' | 'invalid';

export interface ScanResult {
  records: StoreOp[];
  /** Offset just after the last good record: where the file should end. */
  goodEnd: number;
  /** Why reading stopped; anything but 'end' means damage at goodEnd. */
  stop: ScanStop;
  detail?: string;
}

/**
 * Fills in the group header reserved at the start of `bytes` (GROUP_HEADER_SIZE bytes, then
 * `count` framed records) and returns the group as one record.
 */
export function finishGroup(bytes: Buffer, count: number): Buffer {
  bytes.writeUInt32BE(bytes.length - FRAME_SIZE, 0);
  bytes[FRAME_SIZE] = Op.Group;
  bytes.writeUInt32BE(count, FRAME_SIZE + 1);
  bytes.writeUInt32BE(crc32(bytes, FRAME_SIZE, bytes.length), 4);
  return bytes;
}

/** Reads framed records from `start` until `end` or the first bad record. */
export function scanRecords(buf: Buffer, start: number, end = buf.length): ScanResult {
  const records: StoreOp[] = [];
  let pos = start;
  for (;;) {
    if (pos === end) return { records, goodEnd: pos, stop: 'end' };
    if (pos + FRAME_SIZE > end) return { records, goodEnd: pos, stop: 'torn', detail: 'partial record header' };
    const length = buf.readUInt32BE(pos);
    if (length === 0 || length > MAX_RECORD_SIZE) return { records, goodEnd: pos, stop: 'invalid', detail: `record length ${length}` };
    const bodyStart = pos + FRAME_SIZE;
    const bodyEnd = bodyStart + length;
    if (bodyEnd > end) return { records, goodEnd: pos, stop: 'torn', detail: `record of ${length} bytes cut short` };
    if (crc32(buf, bodyStart, bodyEnd) !== buf.readUInt32BE(pos + 4)) return { records, goodEnd: pos, stop: 'crc', detail: 'CRC mismatch' };
    try {
      records.push(readBody(buf, bodyStart, bodyEnd));
    } catch (err) {
      return { records, goodEnd: pos, stop: 'invalid', detail: (err as Error).message };
    }
    pos = bodyEnd;
  }
}

export function writeHeader(w: ByteWriter, magic: string, generation: number): void {
  const at = w.reserve(HEADER_SIZE);
  const bytes = w.finish();
  bytes.write(magic, at, 'latin1');
  bytes.writeUInt32BE(FORMAT_VERSION, at + 4);
  bytes.writeUInt32BE(generation, at + 8);
  bytes.writeUInt32BE(crc32(bytes, at, at + 12), at + 12);
}

/** Thrown for a file written in another format version: damage it is not, so nothing is repaired. */
export class FormatVersionError extends Error {}

/**
 * The generation in a header, or an explanation of why the header is not one. A header of another
 * format version throws: a store written by a newer release must not be "repaired" by an older one.
 */
export function readHeader(buf: Buffer, magic: string, file: string): { generation: number } | { error: string } {
  if (buf.length < HEADER_SIZE) return { error: 'header cut short' };
  if (buf.toString('latin1', 0, 4) !== magic) return { error: 'not a store file (magic)' };
  if (crc32(buf, 0, 12) !== buf.readUInt32BE(12)) return { error: 'header CRC mismatch' };
  const version = buf.readUInt32BE(4);
  if (version !== FORMAT_VERSION) throw new FormatVersionError(`${file} is in store format ${version}; this release reads format ${FORMAT_VERSION}`);
  return { generation: buf.readUInt32BE(8) };
}
