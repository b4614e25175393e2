// 01-connect: CONNECT / CONNACK, client identifiers, session takeover, keep alive, PINGREQ.
// MQTT 3.1.1 §3.1, §3.2, §3.12 and MQTT 5.0 §3.1, §3.2, §3.12.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { VERSIONS, againstMosquitto, versionName } from './helpers/broker';
import { RawClient, connackCode, uniqueId } from './helpers/raw-client';

const SUCCESS = 0;

for (const version of VERSIONS) {
  describe(`01-connect ${versionName(version)}`, { timeout: 30_000 }, () => {
    const h = useBroker();

    test('[MQTT-3.2.0-1] [MQTT-3.1.4-4] a valid CONNECT is answered with CONNACK, code 0', async () => {
      const { connack } = await h.raw(version);
      assert.equal(connack.cmd, 'connack');
      assert.equal(connackCode(connack), SUCCESS);
      assert.equal(connack.sessionPresent, false, '[MQTT-3.2.2-1] clean start: session present 0');
    });

    test('[MQTT-3.12.4-1] PINGREQ is answered with PINGRESP', async () => {
      const { client } = await h.raw(version);
      client.send({ cmd: 'pingreq' });
      await client.expect('pingresp');
      client.send({ cmd: 'pingreq' });
      await client.expect('pingresp');
    });

    test('[MQTT-3.1.2-1] a wrong protocol name closes the connection', async () => {
      const client = await h.open(version);
      // CONNECT with protocol name "MQTX", level, clean, keepalive 60, client id "x".
      const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x58, version, 0x02, 0x00, 0x3c, ...(version === 5 ? [0x00] : []), 0x00, 0x01, 0x78];
      client.sendBytes([0x10, body.length, ...body]);
      const before = await client.closedByBroker();
      for (const p of before) {
        assert.equal(p.cmd, 'connack', 'nothing but a refusing CONNACK may come back');
        assert.notEqual(connackCode(p as never), SUCCESS);
      }
    });

    test('[MQTT-3.1.2-2] an unsupported protocol level is refused (0x01 / 0x84) and the connection closed', async () => {
      const client = await h.open(version);
      const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x07, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x78];
      client.sendBytes([0x10, body.length, ...body]);
      await client.closedByBroker().catch((err) => {
        // mqtt-packet cannot parse a CONNACK of an unknown level; only the close matters then.
        if (!client.closed) throw err;
      });
      assert.ok(client.closed);
      const bytes = client.rawData;
      if (bytes.length > 0) {
        assert.equal(bytes[0], 0x20, 'only a CONNACK may be sent');
        assert.ok(bytes[3] === 0x01 || bytes[3] === 0x84, `return code 0x01 (3.1.1) or 0x84 (5.0), got ${bytes[3]}`);
      }
    });

    test('[MQTT-3.1.2-3] the reserved CONNECT flag set closes the connection', async () => {
      const client = await h.open(version);
      const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, version, 0x03, 0x00, 0x3c, ...(version === 5 ? [0x00] : []), 0x00, 0x01, 0x78];
      client.sendBytes([0x10, body.length, ...body]);
      const before = await client.closedByBroker();
      assert.ok(before.every((p) => p.cmd === 'connack' && connackCode(p) !== SUCCESS));
    });

    test('[MQTT-3.1.3-6] [MQTT-3.2.2-16] a zero-length client id with clean start is accepted', async () => {
      const { connack } = await h.raw(version, { clientId: '', clean: true });
      assert.equal(connackCode(connack), SUCCESS);
      if (version === 5) {
        const assigned = connack.properties?.assignedClientIdentifier;
        assert.ok(typeof assigned === 'string' && assigned.length > 0, '[MQTT-3.2.2-16] Assigned Client Identifier in CONNACK');
      }
    });

    if (version === 4) {
      test('[MQTT-3.1.3-8] a zero-length client id without clean session is refused with 0x02', async () => {
        const client = await h.open(version);
        // mqtt-packet refuses to encode this CONNECT: written by hand (clean session 0, empty id).
        client.sendBytes([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x3c, 0x00, 0x00]);
        const connack = await client.expect('connack');
        assert.equal(connackCode(connack), 0x02);
        await client.closedByBroker();
      });
    }

    test('[MQTT-3.1.3-5] client ids of 1-23 characters from [0-9a-zA-Z] are accepted, and longer ones too', async () => {
      const { connack } = await h.raw(version, { clientId: 'abcdefghijklmnopqrstuvw' });
      assert.equal(connackCode(connack), SUCCESS);
      const { connack: long } = await h.raw(version, { clientId: 'a-much-longer-client-identifier/with:punctuation' });
      assert.equal(connackCode(long), SUCCESS);
    });

    test('[MQTT-3.1.4-2] a second connection with the same client id takes over the session', async () => {
      const clientId = uniqueId('takeover');
      const { client: first } = await h.raw(version, { clientId });
      const { client: second, connack } = await h.raw(version, { clientId });
      assert.equal(connackCode(connack), SUCCESS);
      const before = await first.closedByBroker();
      if (version === 5) {
        // The Server SHOULD send DISCONNECT 0x8E (Session taken over) to the old connection.
        for (const p of before) {
          assert.equal(p.cmd, 'disconnect');
          assert.equal((p as { reasonCode?: number }).reasonCode, 0x8e);
        }
      } else {
        assert.deepEqual(before, [], '3.1.1 has no server DISCONNECT');
      }
      second.send({ cmd: 'pingreq' });
      await second.expect('pingresp');
    });

    test('3.1.1 [MQTT-3.1.2-24] / 5.0 [MQTT-3.1.2-22]: a client silent for 1.5 x keep alive is disconnected', async () => {
      const { client, connack } = await h.raw(version, { keepalive: 1 });
      assert.equal(connackCode(connack), SUCCESS);
      const before = await client.closedByBroker(7000); // Mosquitto checks keep alive coarsely (~5 s)
      if (version === 5) {
        for (const p of before) {
          assert.equal(p.cmd, 'disconnect');
          assert.equal((p as { reasonCode?: number }).reasonCode, 0x8d, 'Keep alive timeout');
        }
      }
    });

    test('[MQTT-3.1.2-23] keep alive is kept by PINGREQ within the interval', async () => {
      const { client } = await h.raw(version, { keepalive: 1 });
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 500));
        client.send({ cmd: 'pingreq' });
        await client.expect('pingresp');
      }
      assert.equal(client.closed, false);
    });

    test('[MQTT-3.14.4-1] after DISCONNECT the server closes the network connection', async () => {
      const { client } = await h.raw(version);
      client.send({ cmd: 'disconnect' });
      const before = await client.closedByBroker();
      assert.deepEqual(before, []);
    });

    test('MQTT.js connects, and its clean connect gets session present 0', async () => {
      const c = await h.js(version, { clean: true });
      assert.equal(c.client.connected, true);
    });
  });
}

describe('01-connect MQTT 3.1 (protocol level 3, "MQIsdp")', { timeout: 30_000 }, () => {
  const h = useBroker();
  test('a 3.1 client connects, subscribes and receives', async () => {
    const { client, connack } = await h.raw(3, { protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'v31-client' });
    assert.equal(connackCode(connack), SUCCESS);
    const suback = await client.subscribe('v31/t', 1);
    assert.deepEqual(suback.granted, [1]);
    const { client: v5 } = await h.raw(5);
    await v5.publish('v31/t', 'to-3.1', 1);
    const p = await client.receive();
    assert.equal(p.payload.toString(), 'to-3.1');
    assert.equal(p.qos, 1);
  });
});

describe('01-connect limits', { timeout: 30_000 }, () => {
  describe('allowZeroLengthClientId: false', () => {
    const h = useBroker({ allowZeroLengthClientId: false });
    for (const version of VERSIONS) {
      test(`[MQTT-3.1.3-8] ${versionName(version)}: a zero-length client id is refused (0x02 / 0x85) when not allowed`, async () => {
        const client = await h.open(version);
        client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: '' });
        const connack = await client.expect('connack');
        assert.equal(connackCode(connack), version === 5 ? 0x85 : 0x02);
        await client.closedByBroker();
      });
    }
  });

  for (const version of VERSIONS) {
    describe(`maxConnections: 2, ${versionName(version)}`, () => {
      const h = useBroker({ maxConnections: 2 });
      test(`${versionName(version)}: a connection over maxConnections is refused, the others keep working`, async () => {
        const { client: a } = await h.raw(version);
        const { client: b } = await h.raw(version);
        const c = await RawClient.open(h.port, version).catch(() => undefined);
        if (c) {
          h.defer(() => c.destroy());
          c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: uniqueId() });
          const before = await c.closedByBroker();
          for (const p of before) {
            assert.equal(p.cmd, 'connack');
            assert.notEqual(connackCode(p), SUCCESS);
          }
        }
        a.send({ cmd: 'pingreq' });
        await a.expect('pingresp');
        b.send({ cmd: 'pingreq' });
        await b.expect('pingresp');
        a.disconnect();
        b.disconnect();
        await a.closedByBroker();
        await b.closedByBroker();
      });
    });
  }

  describe('connectTimeout: 300 ms', () => {
    const h = useBroker({ connectTimeout: 300 });
    test('[MQTT-3.1.0-1] an idle connection without CONNECT is closed by the server', { skip: againstMosquitto && 'no connect timeout option' }, async () => {
      const client = await h.open(4);
      const before = await client.closedByBroker(3000);
      assert.deepEqual(before, []);
    });
  });
});
