// MQTT 3.1 (protocol level 3) set DUP on a PUBREL, SUBSCRIBE or UNSUBSCRIBE sent again; 3.1.1 and 5.0
// fix those flags at 0b0010 [MQTT-2.2.2-2], [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1].
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, ProtocolError } from '../../src/codec';
import type { ProtocolVersion } from '../../src/codec';

function decodeOne(version: ProtocolVersion, hex: string) {
  const d = new PacketDecoder({ protocolVersion: version });
  d.push(Buffer.from(hex, 'hex'));
  return d.next();
}

const resent = [
  ['PUBREL', '6a020001', 'pubrel'],
  ['SUBSCRIBE', '8a06000100016101', 'subscribe'], // requests QoS 1
  ['UNSUBSCRIBE', 'aa050001000161', 'unsubscribe'],
] as const;

describe('MQTT 3.1: DUP on a re-sent PUBREL, SUBSCRIBE and UNSUBSCRIBE', () => {
  for (const [name, hex, type] of resent) {
    test(`${name} with flags 0b1010 is read at level 3`, () => {
      const p = decodeOne(3, hex);
      assert.ok(!(p instanceof ProtocolError), String(p));
      assert.equal(p?.type, type);
    });
    for (const version of [4, 5] as const) {
      test(`${name} with flags 0b1010 is malformed at level ${version} [MQTT-2.2.2-2]`, () => {
        const p = decodeOne(version, version === 5 ? insertPropertyLength(hex, type) : hex);
        assert.ok(p instanceof ProtocolError);
        assert.equal(p.reasonCode, 0x81);
        assert.match(p.message, /fixed header flags/);
      });
    }
  }
});

/** The same packet with an empty property length (5.0), for SUBSCRIBE and UNSUBSCRIBE. */
function insertPropertyLength(hex: string, type: string): string {
  if (type === 'pubrel') return hex;
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.from([b[0], b[1] + 1, b[2], b[3], 0]), b.subarray(4)]).toString('hex');
}
