// The bytes under the store: CRC-32 and the tagged value encoding.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { crc32, crc32Table } from '../../src/persistence/crc32';
import { FRAME_SIZE, Op, readBody, writeRecord } from '../../src/persistence/records';
import { ByteReader, ByteWriter, DecodeError, plainCopy, type StoredValue } from '../../src/persistence/value-codec';
import { prng } from './helpers/workload';

describe('disk store encoding', () => {
  test('CRC-32: the check value of the standard, and the table agrees with zlib on random data', () => {
    assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32Table(Buffer.alloc(0)), 0);
    const random = prng(1);
    const native = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
    for (let n = 0; n < 300; n += 7) {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
      const whole = crc32Table(b);
      assert.equal(crc32(b), whole);
      if (native !== undefined) assert.equal(native(b) >>> 0, whole);
      if (n > 10) assert.equal(crc32(b, 3, n - 2), crc32Table(b.subarray(3, n - 2)));
    }
  });

  test('values round-trip exactly: Buffers of every byte, strings, numbers of every kind, nesting, order of user properties', () => {
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const value = {
      payload: everyByte,
      empty: Buffer.alloc(0),
      text: 'ü€😀\u0000',
      numbers: [0, 1, 0xffffffff, 0x100000000, -1, 1.5, Number.MAX_SAFE_INTEGER, -0.25],
      flags: [true, false, null],
      userProperties: [['a', '1'], ['a', '2'], ['', '']],
      nested: { deeper: { list: [{ x: Buffer.from([1]) }] } },
      ['__proto__']: 'a key, not a prototype',
    } as unknown as StoredValue;
    const w = new ByteWriter(4);
    w.value(value);
    const bytes = Buffer.from(w.finish());
    const read = new ByteReader(bytes).value();
    assert.deepEqual(read, value);
    assert.equal(Object.getPrototypeOf(read), Object.prototype);
  });

  test('undefined keys are left out, on disk and in the copy kept in memory alike', () => {
    const w = new ByteWriter();
    w.value({ a: 1, b: undefined } as StoredValue);
    assert.deepEqual(new ByteReader(w.finish()).value(), { a: 1 });
    assert.deepEqual(plainCopy({ a: 1, b: undefined, c: { d: undefined, e: [1] } }), { a: 1, c: { e: [1] } });
  });

  test('a payload that is a small view of a large read buffer is copied, a payload of its own is shared', () => {
    const chunk = Buffer.alloc(64 * 1024, 3);
    const view = chunk.subarray(100, 120);
    const copied = plainCopy({ payload: view }).payload;
    assert.ok(copied.equals(view));
    assert.ok(copied.buffer.byteLength < chunk.length, 'does not keep the 64 KiB chunk alive');
    const own = Buffer.alloc(50_000, 1);
    assert.equal(plainCopy({ payload: own }).payload, own);
  });

  test('bytes that are not a value are a DecodeError, never a huge allocation', () => {
    const w = new ByteWriter();
    w.value(['x', Buffer.from('yz')]);
    const bytes = Buffer.from(w.finish());
    for (let cut = 0; cut < bytes.length; cut++) assert.throws(() => new ByteReader(bytes, 0, cut).value(), DecodeError, `cut at ${cut}`);
    const huge = Buffer.from([7, 0xff, 0xff, 0xff, 0xff]); // an array of 4 billion items in 5 bytes
    assert.throws(() => new ByteReader(huge).value(), DecodeError);
    assert.throws(() => new ByteReader(Buffer.from([99])).value(), /unknown value tag 99/);
  });

  test('a message is read back with its own fields only, also from a record that holds what a connection cached on it', () => {
    // what an earlier version wrote: the in-flight message with its per-recipient encoding cache
    const message = { topic: 't', payload: Buffer.from('p'), qos: 2, retain: false, origin: 'pub', encoding: { header: Buffer.from([0x34]), topicLength: 1 }, sentOnce: true };
    const w = new ByteWriter();
    writeRecord(w, { op: Op.InflightPut, clientId: 'c', entry: { packetId: 3, state: 'publish', qos: 2, message } as never });
    const bytes = w.finish();
    const r = readBody(bytes, FRAME_SIZE, bytes.length);
    assert.ok(r.op === Op.InflightPut);
    assert.deepEqual(r.entry.message, { topic: 't', payload: Buffer.from('p'), qos: 2, retain: false, origin: 'pub' });
  });

  test('a retained message keeps every field of its own through a record: expiry, properties, and the publisher check_retain_source asks about', () => {
    const message = {
      topic: 'status/alice/state', payload: Buffer.from('online'), qos: 1, retain: true, properties: { contentType: 'text/plain' },
      expiresAt: 1_800_000_000_000, origin: 'alice-1', originUsername: 'alice', originListener: 2,
    };
    const w = new ByteWriter();
    writeRecord(w, { op: Op.RetainSet, message: message as never });
    const bytes = w.finish();
    const r = readBody(bytes, FRAME_SIZE, bytes.length);
    assert.ok(r.op === Op.RetainSet);
    assert.deepEqual(r.message, message);
  });
});
