// 21-invalid-filters: SUBSCRIBE and UNSUBSCRIBE with a topic filter that breaks the wildcard rules or is
// empty. MQTT 3.1.1 has no way to refuse one filter for being malformed (its SUBACK 0x80 is a refusal by
// the server), so the connection closes [MQTT-4.7.1-2], [MQTT-4.8.0-1]; MQTT 5.0 answers that filter with
// 0x8F Topic Filter invalid and keeps the connection. U+0000 makes the packet malformed in both
// [MQTT-1.5.3-2] (5.0 [MQTT-1.5.4-2]).
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, versionName, type Version } from './helpers/broker';
import type { RawClient, RawPacket } from './helpers/raw-client';
import { packet, u16 } from './helpers/bytes';

const SHAPES: [string, number[]][] = [
  ['a/#/b ("#" not last)', [...Buffer.from('a/#/b')]],
  ['a+ ("+" not a whole level)', [...Buffer.from('a+')]],
  ['#/a ("#" not last)', [...Buffer.from('#/a')]],
  ['a/b# ("#" not a whole level)', [...Buffer.from('a/b#')]],
  ['the empty filter', []],
];
const NUL: number[] = [0x61, 0x00, 0x62]; // "a\u0000b"

function lengthPrefixed(bytes: number[]): number[] {
  return [...u16(bytes.length), ...bytes];
}

function subscribeBytes(version: Version, filter: number[], packetId: number): Buffer {
  // a valid filter first, then the bad one: under 3.1.1 neither is subscribed
  return packet(0x82, [...u16(packetId), ...(version === 5 ? [0x00] : []), ...lengthPrefixed([...Buffer.from('ok/first')]), 0x01, ...lengthPrefixed(filter), 0x01]);
}

function unsubscribeBytes(version: Version, filter: number[], packetId: number): Buffer {
  return packet(0xa2, [...u16(packetId), ...(version === 5 ? [0x00] : []), ...lengthPrefixed([...Buffer.from('ok/first')]), ...lengthPrefixed(filter)]);
}

async function assertClosed(client: RawClient, version: Version, reasonCode: number): Promise<void> {
  const before = await client.closedByBroker(3000);
  const expected = version === 5 ? [['disconnect', reasonCode]] : [];
  assert.deepEqual(before.map((p: RawPacket) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), expected, 'closed, with nothing but (5.0) DISCONNECT first');
}

for (const version of VERSIONS) {
  describe(`21-invalid-filters ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker({});

    for (const [name, filter] of SHAPES) {
      if (version === 4) {
        test(`[MQTT-4.7.1-2] SUBSCRIBE with ${name} closes the connection, no SUBACK`, async () => {
          const { client } = await h.raw(version);
          client.sendBytes(subscribeBytes(version, filter, 7));
          await assertClosed(client, version, 0);
        });
        test(`[MQTT-4.7.1-2] UNSUBSCRIBE with ${name} closes the connection, no UNSUBACK`, async () => {
          const { client } = await h.raw(version);
          client.sendBytes(unsubscribeBytes(version, filter, 8));
          await assertClosed(client, version, 0);
        });
      } else {
        test(`SUBSCRIBE with ${name}: SUBACK 0x8F for it, the valid filter granted, the connection kept`, async () => {
          const { client } = await h.raw(version);
          client.sendBytes(subscribeBytes(version, filter, 7));
          const suback = await client.expect('suback');
          assert.equal(suback.messageId, 7);
          assert.deepEqual(suback.granted, [1, 0x8f], '[MQTT-3.9.3-1] one reason code per filter, in order');
          client.send({ cmd: 'pingreq' });
          await client.expect('pingresp');
        });
        test(`UNSUBSCRIBE with ${name}: UNSUBACK 0x8F for it, the connection kept`, async () => {
          const { client } = await h.raw(version);
          client.sendBytes(unsubscribeBytes(version, filter, 8));
          const unsuback = await client.expect('unsuback');
          assert.equal(unsuback.messageId, 8);
          assert.deepEqual((unsuback as { granted?: number[] }).granted, [0x11, 0x8f], "0x11 No subscription existed, then 0x8F");
          client.send({ cmd: 'pingreq' });
          await client.expect('pingresp');
        });
      }
    }

    test('[MQTT-1.5.3-2] SUBSCRIBE with U+0000 in a filter is malformed: the connection closes', async () => {
      const { client } = await h.raw(version);
      client.sendBytes(subscribeBytes(version, NUL, 9));
      await assertClosed(client, version, 0x81);
    });

    test('[MQTT-1.5.3-2] UNSUBSCRIBE with U+0000 in a filter is malformed: the connection closes', async () => {
      const { client } = await h.raw(version);
      client.sendBytes(unsubscribeBytes(version, NUL, 10));
      await assertClosed(client, version, 0x81);
    });
  });
}
