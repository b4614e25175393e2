// 13-malformed: bad input over raw sockets. Each case closes only the offending connection (another
// client keeps working), with DISCONNECT carrying the right reason code under 5.0
// [MQTT-4.13.1-1] and nothing under 3.1.1 [MQTT-4.8.0-1].
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker, type Harness } from './helpers/harness';
import { VERSIONS, versionName, type Version } from './helpers/broker';
import { uniqueId, type RawClient, type RawPacket } from './helpers/raw-client';
import { packet, publishBytes, str, u16, vbi } from './helpers/bytes';

const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;

/** After a bad packet: the connection closes; under 5.0 a DISCONNECT with one of `codes` comes first. */
async function assertClosedWith(client: RawClient, version: Version, codes: number[]): Promise<void> {
  const before = await client.closedByBroker(3000);
  const disconnects = before.filter((p) => p.cmd === 'disconnect');
  assert.deepEqual(
    before.filter((p) => p.cmd !== 'disconnect').map((p) => p.cmd),
    [],
    'nothing but DISCONNECT before the close',
  );
  if (version === 5) {
    assert.equal(disconnects.length, 1, `[MQTT-4.13.1-1] DISCONNECT with reason code ${codes.map((c) => '0x' + c.toString(16)).join(' or ')} before closing`);
    const code = (disconnects[0] as Extract<RawPacket, { cmd: 'disconnect' }>).reasonCode ?? 0;
    assert.ok(codes.includes(code), `reason code 0x${code.toString(16)}, expected ${codes.map((c) => '0x' + c.toString(16)).join(' or ')}`);
  } else {
    assert.equal(disconnects.length, 0, 'MQTT 3.1.1 has no server DISCONNECT');
  }
}

/** A connected client on its own topic, to prove the broker still serves others afterwards. */
async function sentinel(h: Harness, version: Version): Promise<() => Promise<void>> {
  const { client } = await h.raw(version);
  const t = `${uniqueId('sentinel')}/t`;
  await client.subscribe(t, 1);
  return async () => {
    await client.publish(t, 'alive', 1);
    const p = await client.receive();
    assert.equal(p.payload.toString(), 'alive', 'another connection keeps working');
  };
}

for (const version of VERSIONS) {
  describe(`13-malformed ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker({ maxPacketSize: 4096 });

    async function badPacket(bytes: Buffer | number[], codes: number[]): Promise<void> {
      const stillAlive = await sentinel(h, version);
      const { client } = await h.raw(version);
      client.sendBytes(bytes);
      await assertClosedWith(client, version, codes);
      await stillAlive();
    }

    test('[MQTT-3.8.1-1] [MQTT-2.2.2-2] SUBSCRIBE with reserved flags 0000 instead of 0010', async () => {
      await badPacket(packet(0x80, [...u16(1), ...str('a/b'), 0x00].concat(version === 5 ? [] : [])), [MALFORMED]);
    });

    test('[MQTT-3.6.1-1] PUBREL with reserved flags 0000 instead of 0010', async () => {
      await badPacket(packet(0x60, version === 5 ? [...u16(1), 0x00, 0x00] : [...u16(1)]), [MALFORMED]);
    });

    test('[MQTT-2.2.2-2] PINGREQ with a reserved flag bit set', async () => {
      await badPacket(Buffer.from([0xc1, 0x00]), [MALFORMED]);
    });

    test('[MQTT-2.2.2-2] reserved packet type 0', async () => {
      await badPacket(Buffer.from([0x00, 0x00]), [MALFORMED, PROTOCOL_ERROR]);
    });

    test('[MQTT-1.5.5-1] a Remaining Length of more than four bytes', async () => {
      await badPacket(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]), [MALFORMED]);
    });

    test('[MQTT-1.5.3-1] a topic that is not well-formed UTF-8', async () => {
      await badPacket(publishBytes({ version, topic: [0x61, 0xc3, 0x28] }), [MALFORMED]);
    });

    test('[MQTT-1.5.3-1] a topic with an encoded surrogate (U+D800)', async () => {
      await badPacket(publishBytes({ version, topic: [0x61, 0xed, 0xa0, 0x80] }), [MALFORMED]);
    });

    test('[MQTT-1.5.3-2] a topic containing U+0000', async () => {
      await badPacket(publishBytes({ version, topic: [0x61, 0x00, 0x62] }), [MALFORMED]);
    });

    test('[MQTT-3.3.1-4] PUBLISH with QoS 3', async () => {
      await badPacket(publishBytes({ version, topic: [...Buffer.from('a/b')], qos: 3, packetId: 1 }), [MALFORMED]);
    });

    test('[MQTT-3.3.2-2] a wildcard in a PUBLISH topic name', async () => {
      // 0x90 Topic Name invalid is the 5.0 code for a topic name the server does not accept.
      await badPacket(publishBytes({ version, topic: [...Buffer.from('a/+/b')], qos: 1, packetId: 3 }), [0x90, MALFORMED, PROTOCOL_ERROR]);
    });

    test('[MQTT-2.3.1-1] PUBLISH QoS 1 with packet identifier 0', async () => {
      await badPacket(publishBytes({ version, topic: [...Buffer.from('a/b')], qos: 1, packetId: 0 }), [MALFORMED, PROTOCOL_ERROR]);
    });

    test('[MQTT-2.3.1-1] SUBSCRIBE with packet identifier 0', async () => {
      await badPacket(packet(0x82, [...u16(0), ...(version === 5 ? [0x00] : []), ...str('a/b'), 0x00]), [MALFORMED, PROTOCOL_ERROR]);
    });

    test('3.1.1 [MQTT-3.8.3-3] / 5.0 [MQTT-3.8.3-2]: SUBSCRIBE without any topic filter', async () => {
      await badPacket(packet(0x82, [...u16(5), ...(version === 5 ? [0x00] : [])]), [MALFORMED, PROTOCOL_ERROR]);
    });

    test('[MQTT-3.10.3-2] UNSUBSCRIBE without any topic filter', async () => {
      await badPacket(packet(0xa2, [...u16(5), ...(version === 5 ? [0x00] : [])]), [MALFORMED, PROTOCOL_ERROR]);
    });

    test('3.1.1 [MQTT-3.8.3-4] / 5.0 [MQTT-3.8.3-5]: SUBSCRIBE options with reserved bits set', async () => {
      await badPacket(packet(0x82, [...u16(5), ...(version === 5 ? [0x00] : []), ...str('a/b'), 0xc1]), [MALFORMED]);
    });

    test('3.1.1 [MQTT-3.8.3-4] (malformed) / 5.0 §3.8.3.1 (protocol error): SUBSCRIBE asking for QoS 3', async () => {
      await badPacket(packet(0x82, [...u16(6), ...(version === 5 ? [0x00] : []), ...str('a/b'), 0x03]), [version === 5 ? PROTOCOL_ERROR : MALFORMED]);
    });

    test('a string length running past the end of the packet', async () => {
      await badPacket(packet(0x30, [0x00, 0x20, 0x61, 0x62]), [MALFORMED]);
    });

    test('[MQTT-3.1.0-2] a second CONNECT is a protocol error', async () => {
      const stillAlive = await sentinel(h, version);
      const { client } = await h.raw(version);
      client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: uniqueId() });
      await assertClosedWith(client, version, [PROTOCOL_ERROR]);
      await stillAlive();
    });

    test('[MQTT-3.1.0-1] a packet before CONNECT closes the connection, nothing answered', async () => {
      const stillAlive = await sentinel(h, version);
      const client = await h.open(version);
      client.sendBytes(publishBytes({ version, topic: [...Buffer.from('a/b')] }));
      const before = await client.closedByBroker(3000);
      assert.deepEqual(before.map((p) => p.cmd), [], '[MQTT-3.14.0-1] no DISCONNECT before a CONNACK');
      await stillAlive();
    });

    test('[MQTT-3.1.2-11] [MQTT-3.1.2-13] Will QoS set without the Will Flag: the CONNECT is refused', async () => {
      const stillAlive = await sentinel(h, version);
      const client = await h.open(version);
      const body = [...str('MQTT'), version, 0x0a /* clean + will QoS 1, no will flag */, ...u16(60), ...(version === 5 ? [0x00] : []), ...str(uniqueId())];
      client.sendBytes(packet(0x10, body));
      const before = await client.closedByBroker(3000);
      for (const p of before) {
        assert.equal(p.cmd, 'connack', 'only a refusing CONNACK may come back');
        const code = (p as { reasonCode?: number; returnCode?: number }).reasonCode ?? (p as { returnCode?: number }).returnCode;
        assert.ok(code !== 0, 'not accepted');
        if (version === 5) assert.ok(code === MALFORMED || code === PROTOCOL_ERROR, `0x81 / 0x82, got ${code}`);
      }
      await stillAlive();
    });

    if (version === 4) {
      test('[MQTT-3.1.2-22] 3.1.1: password flag without user name flag: the CONNECT is refused', async () => {
        const stillAlive = await sentinel(h, version);
        const client = await h.open(version);
        client.sendBytes(packet(0x10, [...str('MQTT'), 4, 0x42, ...u16(60), ...str(uniqueId()), ...str('secret')]));
        const before = await client.closedByBroker(3000);
        for (const p of before) {
          assert.equal(p.cmd, 'connack');
          assert.notEqual((p as { returnCode?: number }).returnCode, 0);
        }
        await stillAlive();
      });
    }

    if (version === 5) {
      test('[MQTT-2.2.2-2] 5.0: a property not allowed on PUBLISH (Session Expiry Interval)', async () => {
        await badPacket(publishBytes({ version, topic: [...Buffer.from('a/b')], properties: [0x11, 0, 0, 0, 10] }), [MALFORMED, PROTOCOL_ERROR]);
      });

      test('[MQTT-2.2.2-2] 5.0: a property given twice that may appear once (Content Type)', async () => {
        await badPacket(publishBytes({ version, topic: [...Buffer.from('a/b')], properties: [0x03, ...str('a'), 0x03, ...str('b')] }), [MALFORMED, PROTOCOL_ERROR]);
      });

      test('§3.8.2.1.2 5.0: Subscription Identifier 0 in SUBSCRIBE', async () => {
        await badPacket(packet(0x82, [...u16(7), 0x02, 0x0b, 0x00, ...str('a/b'), 0x00]), [MALFORMED, PROTOCOL_ERROR]);
      });

      test('[MQTT-3.3.4-6] [MQTT-4.13.1-1] 5.0: a client PUBLISH carrying a Subscription Identifier is a protocol error', async () => {
        await badPacket(publishBytes({ version, topic: [...Buffer.from('a/b')], properties: [0x0b, 0x05] }), [MALFORMED, PROTOCOL_ERROR]);
      });

      test('[MQTT-3.3.2-8] 5.0: Topic Alias 0', async () => {
        await badPacket(publishBytes({ version, topic: [...Buffer.from('a/b')], properties: [0x23, ...u16(0)] }), [0x94]);
      });

      test('5.0: a property length running past the end of the packet', async () => {
        await badPacket(packet(0x30, [...str('a/b'), ...vbi(50), 0x01, 0x01]), [MALFORMED]);
      });

      test('[MQTT-3.3.2-19] 5.0: Payload Format Indicator 1 with a payload that is not UTF-8 (validating is a MAY; this broker validates)', async () => {
        const stillAlive = await sentinel(h, version);
        const { client } = await h.raw(version);
        client.sendBytes(publishBytes({ version, topic: [...Buffer.from('a/b')], qos: 1, packetId: 4, properties: [0x01, 0x01], payload: [0xff, 0xfe] }));
        // The receiver MAY answer with PUBACK 0x99 or close with DISCONNECT 0x99 [MQTT-3.3.2-20].
        const r = await client.nextOrClose(3000);
        if (r === 'closed') assert.fail('expected PUBACK or DISCONNECT with 0x99');
        assert.ok(r.cmd === 'puback' || r.cmd === 'disconnect', `got ${r.cmd}`);
        assert.equal((r as { reasonCode?: number }).reasonCode, 0x99, 'Payload format invalid');
        await stillAlive();
      });
    }

    test('a packet larger than maxPacketSize closes the connection (5.0: 0x95 Packet too large)', async () => {
      const stillAlive = await sentinel(h, version);
      const { client, connack } = await h.raw(version);
      if (version === 5) assert.equal(connack.properties?.maximumPacketSize, 4096, 'Maximum Packet Size advertised in CONNACK');
      client.sendBytes(publishBytes({ version, topic: [...Buffer.from('big')], payload: [...Buffer.alloc(8000, 0x61)] }));
      await assertClosedWith(client, version, [0x95]);
      await stillAlive();
    });
  });
}
