// Our codec against mqtt-packet (a dev dependency, used here only): random valid packets of every type,
// encoded by one and decoded by the other, must mean the same.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as mqttPacket from 'mqtt-packet';
import { PacketDecoder, ProtocolError, encode } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';
import { canonical, fromMp, toMp } from './fixtures/mqtt-packet-mapping';
import type { MpObject } from './fixtures/mqtt-packet-mapping';
import { Random, randomPacket, typesFor } from './fixtures/random-packets';

const PER_VERSION = 1500;

function oursDecode(buf: Buffer, version: ProtocolVersion): Packet {
  const d = new PacketDecoder({ protocolVersion: version });
  d.push(buf);
  const p = d.next();
  if (p === null || p instanceof ProtocolError) throw new Error(`ours could not decode ${buf.toString('hex')}: ${String(p)}`);
  return p;
}

function theirsDecode(buf: Buffer, version: ProtocolVersion): MpObject {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const out: MpObject[] = [];
  parser.on('packet', (p) => out.push(p as unknown as MpObject));
  parser.on('error', (e: Error) => {
    throw new Error(`mqtt-packet could not decode ${buf.toString('hex')}: ${e.message}`);
  });
  parser.parse(buf);
  assert.equal(out.length, 1);
  return out[0];
}

/** Random packets, each type equally often; CONNECT under 3.1 as well when version is 4. */
function* packets(seed: number, version: ProtocolVersion): Generator<[Packet, ProtocolVersion]> {
  const r = new Random(seed);
  const types = typesFor(version);
  for (let i = 0; i < PER_VERSION; i++) {
    const type = types[i % types.length];
    const level: ProtocolVersion = type === 'connect' && version === 4 && r.bool(0.3) ? 3 : version;
    const packet = randomPacket(r, type, level);
    // mqtt-packet refuses a password without a user name even under 5.0, where it is allowed.
    if (packet.type === 'connect' && packet.password !== undefined && packet.username === undefined) packet.username = 'u';
    yield [packet, level];
  }
}

for (const version of [4, 5] as const) {
  describe(`cross-check with mqtt-packet under ${version === 5 ? '5.0' : '3.1.1 (and 3.1 CONNECT)'}`, () => {
    test(`${PER_VERSION} packets encoded by mqtt-packet decode the same with ours`, () => {
      for (const [packet, level] of packets(1000 + version, version)) {
        const theirs = mqttPacket.generate(toMp(packet, level) as unknown as mqttPacket.Packet, { protocolVersion: level });
        assert.deepEqual(canonical(oursDecode(theirs, level), level), canonical(packet, level), theirs.toString('hex'));
      }
    });

    test(`${PER_VERSION} packets encoded by ours decode the same with mqtt-packet`, () => {
      for (const [packet, level] of packets(2000 + version, version)) {
        const ours = encode(packet, level);
        assert.deepEqual(canonical(fromMp(theirsDecode(ours, level), level), level), canonical(packet, level), ours.toString('hex'));
      }
    });
  });
}
