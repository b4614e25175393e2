// Seeded structure-aware fuzzing of the decoder: valid packets of every type, mutated, fed in random
// chunks. Whatever comes in, the decoder returns packets and at most one ProtocolError, never throws,
// and never holds more than the maximum packet size while it waits for bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, ProtocolError, encode, propertyTable } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';
import { canonical } from './fixtures/mqtt-packet-mapping';
import { Random, randomPacket, typesFor } from './fixtures/random-packets';

const ROUNDS = 30_000;
const propertyIds = propertyTable.map((d) => d.id);

function mutate(r: Random, input: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (r.int(7)) {
    case 0: // flip a few bits
      for (let n = r.range(1, 4); n > 0; n--) b[r.int(b.length)] ^= 1 << r.int(8);
      return b;
    case 1: // truncate
      return b.subarray(0, r.int(b.length));
    case 2: // extend with garbage
      return Buffer.concat([b, r.bytes(20)]);
    case 3: // wrong remaining length
      if (b.length > 1) b[1] = r.int(256);
      return b;
    case 4: // a property identifier (or an unknown one) where something else was
      b[r.range(Math.min(2, b.length - 1), b.length - 1)] = r.bool(0.8) ? r.pick(propertyIds) : r.int(0x80);
      return b;
    case 5: // overwrite a length prefix-like pair of bytes
      if (b.length > 4) b.writeUInt16BE(r.int(65536), r.range(2, b.length - 2));
      return b;
    default: // other first byte (type and flags)
      b[0] = r.int(256);
      return b;
  }
}

/** Feeds `stream` in random chunks and checks the decoder's invariants; returns what it produced. */
function feed(r: Random, stream: Buffer, version: ProtocolVersion, maximumPacketSize: number): (Packet | ProtocolError)[] {
  const d = new PacketDecoder({ protocolVersion: version, maximumPacketSize });
  const out: (Packet | ProtocolError)[] = [];
  let failed = false;
  for (let pos = 0; pos < stream.length; ) {
    const n = r.bool(0.2) ? 1 : r.range(1, 200);
    d.push(stream.subarray(pos, pos + n));
    pos += n;
    for (;;) {
      const p = d.next(); // must not throw: a throw fails the test
      if (p === null) {
        assert.ok(d.bufferedBytes < maximumPacketSize || d.bufferedBytes <= 4, `buffered ${d.bufferedBytes}`);
        break;
      }
      if (p instanceof ProtocolError) {
        if (!failed) out.push(p);
        failed = true;
        assert.equal(d.next(), p, 'stays failed');
        assert.equal(d.bufferedBytes, 0);
        break;
      }
      assert.ok(!failed, 'no packet after an error');
      out.push(p);
    }
  }
  return out;
}

test(`fuzz: ${ROUNDS} mutated streams of valid packets and random bytes, both versions`, () => {
  const r = new Random(20240611);
  let packets = 0;
  let errors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const version: ProtocolVersion = r.bool() ? 5 : 4;
    let stream: Buffer;
    if (r.bool(0.1)) {
      stream = r.bytes(300);
    } else {
      const types = typesFor(version).filter((t) => t !== 'connect'); // keep the level fixed
      const parts = Array.from({ length: r.range(1, 4) }, () => encode(randomPacket(r, r.pick(types), version), version));
      const victim = r.int(parts.length);
      parts[victim] = mutate(r, parts[victim]);
      stream = Buffer.concat(parts);
    }
    const maximumPacketSize = r.bool(0.3) ? r.range(2, 512) : 268_435_460;
    const out = feed(r, stream, version, maximumPacketSize);
    for (const p of out) {
      if (p instanceof ProtocolError) {
        errors++;
        assert.ok([0x81, 0x82, 0x84, 0x90, 0x94, 0x95].includes(p.reasonCode), `reason 0x${p.reasonCode.toString(16)}`);
        continue;
      }
      packets++;
      // What the decoder accepts, the encoder can write again, and it reads back the same.
      // (Up to what may be left out on the wire, like a 0x00 reason code, or DUP at QoS 0.)
      const again = encode(p, version);
      const decoder: PacketDecoder = new PacketDecoder({ protocolVersion: version });
      decoder.push(again);
      const back: Packet | ProtocolError | null = decoder.next();
      assert.ok(back !== null && !(back instanceof ProtocolError), String(back));
      assert.deepEqual(canonical(back, version), canonical(p, version));
    }
  }
  // The mutations must reach both outcomes often, else the test is not exercising anything.
  assert.ok(packets > ROUNDS / 2 && errors > ROUNDS / 4, `packets ${packets}, errors ${errors}`);
});

test('fuzz: valid CONNECTs of every level, mutated, fed to a fresh decoder', () => {
  const r = new Random(7);
  for (let round = 0; round < 5000; round++) {
    const level = r.pick([3, 4, 5] as const);
    const bytes = mutate(r, encode(randomPacket(r, 'connect', level), level));
    for (const p of feed(r, bytes, 4, 268_435_460)) {
      if (p instanceof ProtocolError) continue;
      assert.equal(p.type === 'connect' ? p.protocolVersion : level, level);
    }
  }
});
