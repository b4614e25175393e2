import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, encode, encodedLength, propertyTable } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';
import { samplesFor } from './fixtures/sample-packets';

function decodeOne(buf: Buffer, version: ProtocolVersion): Packet {
  const d = new PacketDecoder({ protocolVersion: version });
  d.push(buf);
  const p = d.next();
  assert.ok(p !== null && !(p instanceof Error), `decoded ${String(p)}`);
  assert.equal(d.next(), null, 'nothing left over');
  return p;
}

for (const version of [3, 4, 5] as const) {
  describe(`round trip under protocol level ${version}`, () => {
    for (const packet of samplesFor(version)) {
      test(`${packet.type} ${JSON.stringify(packet).slice(0, 80)}`, () => {
        const buf = encode(packet, version);
        assert.equal(buf.length, encodedLength(packet, version));
        assert.deepEqual(decodeOne(buf, version), packet);
        // And encoding what was decoded gives the same bytes.
        assert.deepEqual(encode(decodeOne(buf, version), version), buf);
      });
    }
  });
}

test('every packet type is covered under 3.1.1 and 5.0', () => {
  const types = (v: ProtocolVersion) => new Set(samplesFor(v).map((p) => p.type));
  assert.equal(types(4).size, 14); // AUTH does not exist before 5.0
  assert.equal(types(5).size, 15);
});

test('every property of the table appears on every packet that may carry it', () => {
  const seen = new Map<string, Set<number>>();
  const codes: Record<string, number> = {
    connect: 1, connack: 2, publish: 3, puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7, subscribe: 8, suback: 9,
    unsubscribe: 10, unsuback: 11, disconnect: 14, auth: 15,
  };
  const note = (props: object | undefined, code: number) => {
    for (const k of Object.keys(props ?? {})) {
      if (!seen.has(k)) seen.set(k, new Set());
      seen.get(k)?.add(code);
    }
  };
  for (const p of samplesFor(5)) {
    if ('properties' in p) note(p.properties, codes[p.type]);
    if (p.type === 'connect') note(p.will?.properties, 0);
  }
  for (const d of propertyTable) {
    for (let code = 0; code < 16; code++) {
      if (d.packets & (1 << code)) assert.ok(seen.get(d.name)?.has(code), `${d.name} on packet ${code}`);
    }
  }
});
