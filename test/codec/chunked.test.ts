import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, ProtocolError, encode } from '../../src/codec';
import type { Packet } from '../../src/codec';
import { samplesFor } from './fixtures/sample-packets';

/** Feeds the chunks in order and collects every packet; fails on an error. */
function decodeChunks(chunks: Buffer[]): Packet[] {
  const d = new PacketDecoder(); // starts at 4: the stream's CONNECT switches it
  const out: Packet[] = [];
  for (const c of chunks) {
    d.push(c);
    for (let p = d.next(); p !== null; p = d.next()) {
      if (p instanceof ProtocolError) throw p;
      out.push(p);
    }
  }
  assert.equal(d.bufferedBytes, 0);
  return out;
}

for (const version of [3, 4, 5] as const) {
  describe(`a stream of every packet type under level ${version}`, () => {
    // CONNECT first, as on a real connection, so the decoder learns the level from it.
    const packets = samplesFor(version);
    const stream = Buffer.concat(packets.map((p) => encode(p, version)));

    test('in one chunk', () => assert.deepEqual(decodeChunks([stream]), packets));

    test('one byte at a time', () => {
      const bytes = [...stream].map((x) => Buffer.from([x]));
      assert.deepEqual(decodeChunks(bytes), packets);
    });

    test(`split in two at every one of ${stream.length - 1} points`, () => {
      for (let i = 1; i < stream.length; i++) {
        // Copies, so each split owns its chunks like bytes off a socket would.
        const got = decodeChunks([Buffer.from(stream.subarray(0, i)), Buffer.from(stream.subarray(i))]);
        assert.deepEqual(got, packets, `split at ${i}`);
      }
    });

    test('in random chunk sizes (seeded), payloads intact after later chunks arrive', () => {
      let seed = 12345 + version;
      const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
      for (let round = 0; round < 50; round++) {
        const chunks: Buffer[] = [];
        for (let pos = 0; pos < stream.length; ) {
          const n = 1 + Math.floor(random() * 40);
          chunks.push(Buffer.from(stream.subarray(pos, pos + n)));
          pos += n;
        }
        // Compared only after the whole stream went through: nothing returned earlier was overwritten.
        assert.deepEqual(decodeChunks(chunks), packets);
      }
    });
  });
}

describe('maximum packet size', () => {
  const publish = (n: number): Packet => ({
    type: 'publish', topic: 't', payload: Buffer.alloc(n, 1), qos: 0, retain: false, dup: false,
  });

  test('a fixed header announcing too much fails with 0x95 before any body arrives', () => {
    const d = new PacketDecoder({ maximumPacketSize: 1000 });
    d.push(Buffer.from([0x30, 0x80, 0x80, 0x40])); // PUBLISH, remaining length 1048576, no body
    const err = d.next();
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.reasonCode, 0x95);
    assert.equal(d.bufferedBytes, 0);
  });

  test('the limit counts the whole packet: exactly the limit passes, one more fails', () => {
    const buf = encode(publish(100), 4);
    const ok = new PacketDecoder({ maximumPacketSize: buf.length });
    ok.push(buf);
    assert.equal((ok.next() as Packet).type, 'publish');
    const tooBig = new PacketDecoder({ maximumPacketSize: buf.length - 1 });
    tooBig.push(buf.subarray(0, 2));
    assert.equal((tooBig.next() as ProtocolError).reasonCode, 0x95);
  });

  test('the limit can change on a live decoder (after CONNACK says so)', () => {
    const d = new PacketDecoder();
    d.push(encode(publish(500), 4));
    assert.equal((d.next() as Packet).type, 'publish');
    d.maximumPacketSize = 100;
    d.push(encode(publish(500), 4).subarray(0, 3));
    assert.equal((d.next() as ProtocolError).reasonCode, 0x95);
  });
});

describe('protocol version', () => {
  test('a 5.0 CONNECT switches the decoder to 5.0 for what follows', () => {
    const stream = Buffer.concat([
      encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'x' }, 5),
      encode({ type: 'disconnect', reasonCode: 0x04 }, 5),
    ]);
    const d = new PacketDecoder({ protocolVersion: 4 });
    d.push(stream);
    assert.equal((d.next() as Packet).type, 'connect');
    assert.equal(d.protocolVersion, 5);
    assert.deepEqual(d.next(), { type: 'disconnect', reasonCode: 0x04 });
  });

  test('a whole packet in one chunk is decoded without copying its payload', () => {
    const chunk = encode({ type: 'publish', topic: 't', payload: Buffer.from('abc'), qos: 0, retain: false, dup: false }, 4);
    const d = new PacketDecoder();
    d.push(chunk);
    const p = d.next() as Packet;
    assert.ok(p.type === 'publish');
    assert.equal(p.payload.buffer, chunk.buffer);
  });
});

