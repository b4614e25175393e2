// Keepalive over a real connection: PINGREQ when idle, and a link that stops carrying bytes
// (no FIN, no RST) found dead within the ping timeout, then reconnected.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttError } from '../../src/client';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';
import { ClientPool } from './helpers/clients';
import { nextEvent } from './helpers/events';
import { TcpProxy } from './helpers/tcp-proxy';

let mq: MosquittoInstance;
let proxy: TcpProxy;
const pool = new ClientPool();

before(async () => {
  mq = await startMosquitto();
});
after(() => disposeMosquitto(mq));
beforeEach(async () => {
  proxy = await TcpProxy.start(mq.port);
});
afterEach(async () => {
  await pool.endAll();
  await proxy.close();
});

describe('keepalive', () => {
  test('an idle client sends PINGREQ within the keepalive period and gets PINGRESP [MQTT-3.1.2-23]', async () => {
    const c = await pool.connected(`mqtt://127.0.0.1:${proxy.port}`, { keepalive: 1 });
    const [pingreq] = await nextEvent(c, 'packetsend', 3000);
    assert.equal(pingreq.type, 'pingreq');
    const [pingresp] = await nextEvent(c, 'packetreceive', 3000);
    assert.equal(pingresp.type, 'pingresp');
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`a link that stops forwarding is declared dead (KEEPALIVE_TIMEOUT) and reconnected (protocol ${protocolVersion})`, async () => {
      const c = await pool.connected(`mqtt://127.0.0.1:${proxy.port}`, { protocolVersion, keepalive: 1, pingTimeout: 500, reconnectPeriod: 50 });
      const errors: MqttError[] = [];
      c.on('error', (e) => errors.push(e));
      proxy.blackhole();
      const offline = nextEvent(c, 'offline', 5000);
      // Keep publishing QoS 0 meanwhile: outbound traffic alone must not hide a silent server.
      const timer = setInterval(() => void c.publish('ka/x', 'x').catch(() => undefined), 100);
      try {
        await offline;
      } finally {
        clearInterval(timer);
      }
      assert.ok(errors.some((e) => e.code === 'KEEPALIVE_TIMEOUT'), errors.map((e) => e.code).join());
      proxy.resume();
      await nextEvent(c, 'connect', 5000);
      assert.equal(c.state, 'connected');
      await waitUntil(() => proxy.connectionCount === 1, 5000, 'old link gone, one new');
    });
  }
});
