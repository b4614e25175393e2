// Seeded structure-aware fuzzing of the decoder: valid packets of every type, mutated, fed in random
// chunks. Whatever comes in, the decoder returns packets and at most one ProtocolError, never throws,
// and never holds more than the maximum packet size while it waits for bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, ProtocolError, encode } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';
import { canonical } from './fixtures/mqtt-packet-mapping';
import { Random, randomPacket } from './fixtures/random-packets';
import { DECODER_REASONS, MAX_PACKET_SIZE, feed, makeInput, mutate } from './fuzz-engine';

const ROUNDS = 30_000;

test(`fuzz: ${ROUNDS} mutated streams of valid packets and random bytes, both versions`, () => {
  const r = new Random(20240611);
  let packets = 0;
  let errors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const { version, stream, maximumPacketSize } = makeInput(r);
    const out = feed(r, stream, version, maximumPacketSize);
    for (const p of out) {
      if (p instanceof ProtocolError) {
        errors++;
        assert.ok(DECODER_REASONS.includes(p.reasonCode), `reason 0x${p.reasonCode.toString(16)}`);
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
    for (const p of feed(r, bytes, 4, MAX_PACKET_SIZE)) {
      if (p instanceof ProtocolError) continue;
      assert.equal(p.type === 'connect' ? p.protocolVersion : level, level);
    }
  }
});
