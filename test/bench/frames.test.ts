// The load generator's frame scanning and pre-encoded packets, checked against mqtt-packet (the
// reference the generator is allowed to use): frames found across any chunking, and what it writes
// parses as the packets intended.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, parser } from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { AckBatch, FrameScanner, PUBACK, PUBCOMP, PublishTemplate, PUBREC, PUBREL } from '../../bench/load/frames';

function parseAll(bytes: Buffer): Packet[] {
  const out: Packet[] = [];
  const p = parser({ protocolVersion: 4 });
  p.on('packet', (packet: Packet) => out.push(packet));
  p.on('error', (err: Error) => assert.fail(err));
  p.parse(bytes);
  return out;
}

const packets: Buffer[] = [
  generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
  generate({ cmd: 'publish', topic: 'bench/a', payload: Buffer.alloc(10, 1), qos: 0, dup: false, retain: false }),
  // Remaining Length of two bytes, then three bytes.
  generate({ cmd: 'publish', topic: 'bench/b', payload: Buffer.alloc(300, 2), qos: 1, messageId: 7, dup: false, retain: true }),
  generate({ cmd: 'publish', topic: 'bench/c', payload: Buffer.alloc(20_000, 3), qos: 2, messageId: 65535, dup: false, retain: false }),
  generate({ cmd: 'puback', messageId: 9 }),
  generate({ cmd: 'suback', messageId: 1, granted: [1] }),
  generate({ cmd: 'pingresp' }),
];
const stream = Buffer.concat(packets);

function scan(chunks: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  const scanner = new FrameScanner((first, buf, start, end) => frames.push(Buffer.concat([Buffer.from([first]), buf.subarray(start, end)])));
  for (const c of chunks) scanner.push(c);
  return frames;
}

/** A packet as the scanner reports it: first byte and body, without the Remaining Length bytes. */
function firstAndBody(packet: Buffer): Buffer {
  let i = 1;
  while (packet[i] & 0x80) i++;
  return Buffer.concat([packet.subarray(0, 1), packet.subarray(i + 1)]);
}

describe('FrameScanner', () => {
  test('finds every frame whatever the split into two chunks', () => {
    const expected = packets.map(firstAndBody);
    for (let cut = 0; cut <= stream.length; cut += cut < 400 ? 1 : 97) {
      assert.deepEqual(scan([stream.subarray(0, cut), stream.subarray(cut)]), expected, `cut at ${cut}`);
    }
  });

  test('finds every frame fed one byte at a time', () => {
    const bytes = Buffer.concat(packets.filter((p) => p.length < 1000));
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    assert.deepEqual(scan(chunks), packets.filter((p) => p.length < 1000).map(firstAndBody));
  });

  test('rejects a Remaining Length longer than four bytes', () => {
    const scanner = new FrameScanner(() => assert.fail('no frame expected'));
    assert.throws(() => scanner.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), /Remaining Length/);
  });
});

describe('what the generator writes', () => {
  test('PublishTemplate copies parse with their packet identifiers and payloads', () => {
    const template = new PublishTemplate('bench/qos1', Buffer.alloc(64, 0x61), 1);
    const out = Buffer.alloc(template.bytes.length * 3);
    [1, 300, 65535].forEach((id, k) => template.writeTo(out, k * template.bytes.length, id));
    out.writeBigUInt64BE(123456789n, 2 * template.bytes.length + template.payloadOffset);
    const parsed = parseAll(out);
    assert.deepEqual(parsed.map((p) => (p.cmd === 'publish' ? [p.topic, p.qos, p.messageId] : p.cmd)), [
      ['bench/qos1', 1, 1],
      ['bench/qos1', 1, 300],
      ['bench/qos1', 1, 65535],
    ]);
    const last = parsed[2] as Extract<Packet, { cmd: 'publish' }>;
    assert.equal((last.payload as Buffer).readBigUInt64BE(0), 123456789n);
    assert.equal((last.payload as Buffer).length, 64);
  });

  test('QoS 0 batches are back-to-back copies', () => {
    const template = new PublishTemplate('bench/fan-in/3', Buffer.alloc(16), 0);
    const parsed = parseAll(template.repeat(5));
    assert.equal(parsed.length, 5);
    for (const p of parsed) assert.deepEqual(p.cmd === 'publish' && [p.topic, p.qos], ['bench/fan-in/3', 0]);
  });

  test('AckBatch writes PUBACK, PUBREC, PUBREL (flags 0b0010) and PUBCOMP', () => {
    const batch = new AckBatch();
    batch.add(PUBACK, 1);
    batch.add(PUBREC, 2);
    batch.add(PUBREL, 513);
    batch.add(PUBCOMP, 65535);
    const bytes = batch.take()!;
    assert.equal(bytes[8], 0x62);
    assert.deepEqual(parseAll(bytes).map((p) => [p.cmd, (p as { messageId?: number }).messageId]), [
      ['puback', 1],
      ['pubrec', 2],
      ['pubrel', 513],
      ['pubcomp', 65535],
    ]);
    assert.equal(batch.take(), null);
  });
});
