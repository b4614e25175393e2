// The client's `bridge` option: CONNECT carries protocol level | 0x80 under 3.1 and 3.1.1, and a real
// Mosquitto then treats the client as a bridge, which does not get back what it published itself.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/client';
import type { ConnectPacket, Packet } from '../../src/codec/types';
import type { ProtocolVersion } from '../../src/codec/types';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { ClientPool } from './helpers/clients';
import { collectMessages } from './helpers/events';
import { waitUntil } from '../helpers/net';

let mq: MosquittoInstance;
let url: string;
const pool = new ClientPool();

before(async () => {
  mq = await startMosquitto();
  url = `mqtt://127.0.0.1:${mq.port}`;
});
after(async () => {
  await disposeMosquitto(mq);
});
afterEach(() => pool.endAll());

/** Publishes on a topic the client subscribes to, then a marker from another client; what came back before the marker. */
async function ownMessagesEchoed(protocolVersion: ProtocolVersion, bridge: boolean, topic: string): Promise<string[]> {
  const self = await pool.connected(url, { protocolVersion, bridge });
  const got = collectMessages(self);
  await self.subscribe(topic, { qos: 1 });
  await self.publish(topic, 'own', { qos: 1 });
  const other = await pool.connected(url, { protocolVersion: 4 });
  await other.publish(topic, 'marker', { qos: 1 });
  await waitUntil(() => got.some((m) => m.payload === 'marker'), 5000, 'the marker');
  return got.map((m) => m.payload);
}

for (const [protocolVersion, name] of [[3, 'MQTT 3.1'], [4, 'MQTT 3.1.1']] as [ProtocolVersion, string][]) {
  describe(`${name}: bridge bit`, () => {
    test('the CONNECT sent carries the bridge flag only with bridge: true', async () => {
      for (const bridge of [true, false]) {
        const client = connect(url, { protocolVersion, bridge, reconnectPeriod: 0 });
        const sent: Packet[] = [];
        client.on('packetsend', (p: Packet) => sent.push(p));
        await new Promise<void>((resolve, reject) => {
          client.once('connect', () => resolve());
          client.once('error', reject);
        });
        const c = sent.find((p): p is ConnectPacket => p.type === 'connect');
        assert.equal(c?.bridge === true, bridge);
        await client.end({ force: true });
      }
    });

    test('Mosquitto does not echo a bridge its own messages', async () => {
      assert.deepEqual(await ownMessagesEchoed(protocolVersion, true, `bridgebit/${protocolVersion}/on`), ['marker']);
    });

    test('without the option Mosquitto echoes them (control)', async () => {
      assert.deepEqual(await ownMessagesEchoed(protocolVersion, false, `bridgebit/${protocolVersion}/off`), ['own', 'marker']);
    });
  });
}

describe('MQTT 5.0: bridge bit', () => {
  test('the option is ignored: the CONNECT is a plain 5.0 one and Mosquitto accepts it', async () => {
    const client = connect(url, { protocolVersion: 5, bridge: true, reconnectPeriod: 0 });
    const sent: Packet[] = [];
    client.on('packetsend', (p: Packet) => sent.push(p));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const c = sent.find((p): p is ConnectPacket => p.type === 'connect');
    assert.equal(c?.protocolVersion, 5);
    assert.equal(c?.bridge, undefined);
    await client.end({ force: true });
  });
});
