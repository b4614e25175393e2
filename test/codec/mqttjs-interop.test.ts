// MQTT.js (a dev dependency) as the client of a minimal server built from our codec alone: what we
// encode (including a fan-out PublishEncoding) MQTT.js accepts, and what MQTT.js sends we decode.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import mqtt from 'mqtt';
import { PacketDecoder, ProtocolError, PublishEncoding, encode } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';
import { freePort } from '../helpers/net';

/** Answers each client packet the way a broker would, and records what it decoded. */
function codecServer(): { server: net.Server; received: Packet[]; errors: ProtocolError[] } {
  const received: Packet[] = [];
  const errors: ProtocolError[] = [];
  const server = net.createServer((socket) => {
    const decoder = new PacketDecoder();
    let version: ProtocolVersion = 4;
    const send = (p: Packet) => socket.write(encode(p, version));
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      decoder.push(chunk);
      for (let p = decoder.next(); p !== null; p = decoder.next()) {
        if (p instanceof ProtocolError) {
          errors.push(p);
          socket.destroy();
          return;
        }
        received.push(p);
        switch (p.type) {
          case 'connect':
            version = p.protocolVersion;
            send({ type: 'connack', sessionPresent: false, reasonCode: 0, properties: version === 5 ? { receiveMaximum: 10, topicAliasMaximum: 0, assignedClientIdentifier: p.clientId || 'assigned' } : undefined });
            break;
          case 'subscribe': {
            send({ type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((s) => s.qos) });
            // One message to the new subscriber through the fan-out encoding, QoS 1, with properties.
            const enc = new PublishEncoding({
              topic: 'codec/out', payload: Buffer.from('from the codec'),
              properties: { contentType: 'text/plain', userProperties: [['origin', 'codec']] },
            });
            socket.write(enc.encode({ protocolVersion: version, qos: 1, retain: false, packetId: 77, subscriptionIdentifiers: [3] }));
            break;
          }
          case 'publish':
            if (p.qos === 1) send({ type: 'puback', packetId: p.packetId as number });
            if (p.qos === 2) send({ type: 'pubrec', packetId: p.packetId as number });
            break;
          case 'pubrel':
            send({ type: 'pubcomp', packetId: p.packetId });
            break;
          case 'unsubscribe':
            send({ type: 'unsuback', packetId: p.packetId, reasonCodes: p.topicFilters.map(() => 0) });
            break;
          case 'pingreq':
            send({ type: 'pingresp' });
            break;
          case 'disconnect':
            socket.end();
            break;
          default:
            break;
        }
      }
    });
  });
  return { server, received, errors };
}

describe('codec against MQTT.js', () => {
  const servers: net.Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`MQTT.js ${protocolVersion === 5 ? '5.0' : '3.1.1'} client: connect, subscribe, receive, publish QoS 0-2, ping, unsubscribe, disconnect`, async () => {
      const { server, received, errors } = codecServer();
      servers.push(server);
      const port = await freePort();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

      const client = mqtt.connect({
        host: '127.0.0.1', port, protocolVersion, clientId: `mqttjs-${protocolVersion}`, keepalive: 30, reconnectPeriod: 0,
        will: { topic: 'codec/will', payload: Buffer.from('bye'), qos: 1, retain: true },
        properties: protocolVersion === 5 ? { sessionExpiryInterval: 30, userProperties: { a: '1' } } : undefined,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('connect', () => resolve());
          client.once('error', reject);
        });
        const message = new Promise<[string, Buffer, mqtt.IPublishPacket]>((resolve) => {
          client.once('message', (topic, payload, packet) => resolve([topic, payload, packet]));
        });
        const granted = await client.subscribeAsync('codec/#', { qos: 2, properties: protocolVersion === 5 ? { subscriptionIdentifier: 3 } : undefined });
        assert.equal(granted[0].qos, 2);
        const [topic, payload, packet] = await message;
        assert.equal(topic, 'codec/out');
        assert.equal(payload.toString(), 'from the codec');
        if (protocolVersion === 5) {
          assert.equal(packet.properties?.contentType, 'text/plain');
          assert.deepEqual({ ...packet.properties?.userProperties }, { origin: 'codec' });
          assert.equal(packet.properties?.subscriptionIdentifier, 3);
        }
        for (const qos of [0, 1, 2] as const) {
          await client.publishAsync(`codec/in/${qos}`, Buffer.from(`q${qos}`), {
            qos, properties: protocolVersion === 5 ? { contentType: 'x/y', messageExpiryInterval: 9 } : undefined,
          });
        }
        await client.unsubscribeAsync('codec/#');
        await client.endAsync();

        // The server decoded exactly what MQTT.js meant.
        const connect = received.find((p) => p.type === 'connect');
        assert.ok(connect?.type === 'connect');
        assert.equal(connect.protocolVersion, protocolVersion);
        assert.deepEqual(connect.will, { topic: 'codec/will', payload: Buffer.from('bye'), qos: 1, retain: true });
        if (protocolVersion === 5) assert.deepEqual(connect.properties, { sessionExpiryInterval: 30, userProperties: [['a', '1']] });
        const publishes = received.filter((p) => p.type === 'publish');
        assert.deepEqual(publishes.map((p) => p.type === 'publish' && [p.topic, p.qos, p.payload.toString()]), [
          ['codec/in/0', 0, 'q0'], ['codec/in/1', 1, 'q1'], ['codec/in/2', 2, 'q2'],
        ]);
        if (protocolVersion === 5) {
          for (const p of publishes) assert.deepEqual(p.type === 'publish' && p.properties, { contentType: 'x/y', messageExpiryInterval: 9 });
        }
        assert.ok(received.some((p) => p.type === 'puback' && p.packetId === 77), 'MQTT.js acknowledged our QoS 1 message');
        assert.ok(received.some((p) => p.type === 'pubrel'));
        assert.ok(received.some((p) => p.type === 'unsubscribe'));
        assert.deepEqual(errors, []);
      } finally {
        client.end(true);
      }
    });
  }
});
