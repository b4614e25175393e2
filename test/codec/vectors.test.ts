import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, ProtocolError, encode, encodedLength } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';
import { Reader, variableByteIntegerLength, writeVariableByteInteger } from '../../src/codec/primitives';
import { errorVectors } from './vectors/errors';
import { packetVectors, variableByteIntegerVectors } from './vectors/packets';

function decodeAll(buf: Buffer, version: ProtocolVersion): (Packet | ProtocolError)[] {
  const d = new PacketDecoder({ protocolVersion: version });
  d.push(buf);
  const out: (Packet | ProtocolError)[] = [];
  for (let p = d.next(); p !== null; p = d.next()) {
    out.push(p);
    if (p instanceof ProtocolError) break;
  }
  return out;
}

describe('golden packet vectors', () => {
  for (const v of packetVectors) {
    describe(v.name, () => {
      test('decodes to the packet', () => {
        assert.deepEqual(decodeAll(Buffer.from(v.hex, 'hex'), v.version), [v.packet]);
      });
      if (v.decodeOnly) return;
      test('encodes to the bytes', () => {
        assert.equal(encode(v.packet, v.version).toString('hex'), v.hex);
        assert.equal(encodedLength(v.packet, v.version), v.hex.length / 2);
      });
    });
  }
});

describe('variable byte integer vectors (3.1.1 Table 2.4, 5.0 Table 1-1)', () => {
  for (const { value, hex } of variableByteIntegerVectors) {
    test(`${value} is ${hex}`, () => {
      const buf = Buffer.alloc(4);
      const end = writeVariableByteInteger(buf, 0, value);
      assert.equal(buf.subarray(0, end).toString('hex'), hex);
      assert.equal(variableByteIntegerLength(value), hex.length / 2);
      const bytes = Buffer.from(hex, 'hex');
      assert.equal(new Reader().reset(bytes, 0, bytes.length).variableByteInteger(), value);
    });
  }

  // A PUBLISH whose Remaining Length is exactly each boundary value, whole packets through the decoder.
  for (const { value, hex } of variableByteIntegerVectors.filter((x) => x.value >= 3 && x.value <= 2_097_152)) {
    test(`PUBLISH with remaining length ${value}`, () => {
      const packet: Packet = {
        type: 'publish', topic: 't', payload: Buffer.alloc(value - 3, 0x5a), qos: 0, retain: false, dup: false,
      };
      const buf = encode(packet, 4);
      assert.equal(buf.subarray(1, 1 + hex.length / 2).toString('hex'), hex);
      assert.deepEqual(decodeAll(buf, 4), [packet]);
    });
  }

  test('the largest remaining length, 268435455, is read from the fixed header', () => {
    const d = new PacketDecoder({ maximumPacketSize: 1024 });
    d.push(Buffer.from('30ffffff7f', 'hex'));
    const err = d.next();
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.reasonCode, 0x95);
    assert.match(err.message, /268435460 bytes/);
  });
});

describe('error vectors', () => {
  for (const v of errorVectors) {
    test(`${v.name} ${v.statement} -> 0x${v.reasonCode.toString(16)}`, () => {
      const out = decodeAll(Buffer.from(v.hex, 'hex'), v.version);
      assert.equal(out.length, 1, 'exactly one result');
      const err = out[0];
      assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${JSON.stringify(err)}`);
      assert.equal(err.reasonCode, v.reasonCode, err.message);
    });
  }

  test('a reserved packet type fails on its first byte, before any length', () => {
    const d = new PacketDecoder();
    d.push(Buffer.from([0x00]));
    assert.equal((d.next() as ProtocolError).reasonCode, 0x81);
  });

  test('after an error the decoder stays failed and drops input', () => {
    const d = new PacketDecoder();
    d.push(Buffer.from('c100', 'hex')); // [MQTT-2.2.2-2]
    const err = d.next();
    assert.ok(err instanceof ProtocolError);
    d.push(Buffer.from('c000', 'hex'));
    assert.equal(d.next(), err);
    assert.equal(d.bufferedBytes, 0);
  });

  test('a CONNECT failing after its level was read reports and adopts that level', () => {
    const d = new PacketDecoder({ protocolVersion: 4 });
    // 5.0 CONNECT with a property CONNECT may not carry (topic alias).
    d.push(Buffer.from('101000044d51545405020000032300010001', 'hex').subarray(0, 18));
    const err = d.next();
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.reasonCode, 0x81);
    assert.equal(err.protocolVersion, 5);
    assert.equal(d.protocolVersion, 5);
  });
});
