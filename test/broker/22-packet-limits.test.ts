// 22-packet-limits: the bounded defaults a gateway needs against clients it cannot trust.
// - Maximum packet size: 1 MiB by default, advertised to 5.0 clients, a larger packet refused at its fixed
//   header before it is buffered (5.0 DISCONNECT 0x95, 3.1.1 close), raised by max_packet_size /
//   message_size_limit; messageSizeLimit holds for Will payloads too (CONNACK 0x95 / return code 5).
// - Receive Maximum: 20 by default, from maxInflightMessages (Mosquitto's max_inflight_messages). As
//   Mosquitto queues what a client sends past it (MQTT.js does not hold to it), a client may have
//   maxQueuedMessages more QoS 1/2 PUBLISHes unacknowledged; one past that is DISCONNECT 0x93 [MQTT-3.3.4-7].
// - CONNACK within the client's Maximum Packet Size [MQTT-3.1.2-24]; no Session Present under MQTT 3.1.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { useBroker } from './helpers/harness';
import { vbi } from './helpers/bytes';
import { VERSIONS, versionName, startBroker as startTestBroker } from './helpers/broker';
import { RawClient, uniqueId } from './helpers/raw-client';
import { connectMqttJs } from './helpers/mqttjs';
import { MemoryStore } from '../../src/broker';
import { DiskStore } from '../../src/persistence';
import { freePort, waitForPort } from '../helpers/net';
import { start } from './helpers/processes';
import { MAIN, removeTmpDirs, startBroker as startCliBroker, tmpConf } from '../cli/helpers/cli-broker';

const MiB = 1024 * 1024;

/** The fixed header of a QoS 0 PUBLISH whose Remaining Length says `remaining`, with its topic. */
function publishHeader(remaining: number, topic = 'big/t'): Buffer {
  const t = Buffer.from(topic);
  return Buffer.from([0x30, ...vbi(remaining), t.length >> 8, t.length & 0xff, ...t]);
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS in /proc');
  return Number(m[1]);
}

after(removeTmpDirs);

describe('22-packet-limits: maximum packet size', { timeout: 60_000 }, () => {
  const h = useBroker({});

  test('the default bound, 1 MiB, is enforced but not advertised (as Mosquitto sends Maximum Packet Size only for max_packet_size); set, it is advertised', async () => {
    const { connack } = await h.raw(5);
    assert.equal(connack.properties?.maximumPacketSize, undefined);
    const set = await startTestBroker({ maxPacketSize: MiB });
    try {
      const { client, connack: told } = await RawClient.connect(set.port, 5, { clientId: uniqueId('told') });
      assert.equal(told.properties?.maximumPacketSize, MiB);
      client.destroy();
    } finally {
      await set.close();
    }
  });

  for (const version of VERSIONS) {
    test(`${versionName(version)}: a PUBLISH declaring 256 MiB is refused at its fixed header${version === 5 ? ' with DISCONNECT 0x95' : ''}`, async () => {
      const { client } = await h.raw(version);
      client.sendBytes(publishHeader(256 * MiB - 1));
      const before = await client.closedByBroker(2000);
      assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), version === 5 ? [['disconnect', 0x95]] : []);
    });

    test(`${versionName(version)}: a packet of exactly 1 MiB is accepted and delivered`, async () => {
      const { client } = await h.raw(version);
      const topic = `${uniqueId('max')}/t`;
      await client.subscribe(topic, 0);
      const overhead = 1 + 3 + 2 + topic.length + (version === 5 ? 1 : 0);
      const payload = Buffer.alloc(MiB - overhead, 0x61);
      client.send({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
      const p = await client.receive(10_000);
      assert.equal(p.payload.length, payload.length);
    });
  }

  test('the 256 MiB PUBLISH in a broker process of its own: closed at once, RSS grows by less than 5 MB', async (t) => {
    const port = await freePort();
    const broker = start(process.execPath, [MAIN, 'broker', '-p', String(port)]);
    try {
      await waitForPort(port, '127.0.0.1', 15_000);
      // warm up: one client through CONNECT and a message, so the measurement sees only the big PUBLISH
      const warm = await connectMqttJs(port, 5);
      await warm.client.publishAsync('warm/t', 'x', { qos: 1 });
      await warm.end();
      await new Promise((r) => setTimeout(r, 200));
      const rssBefore = rssKb(broker.child.pid!);
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.resume();
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00]));
      socket.write(publishHeader(256 * MiB - 1));
      // then up to 96 MiB of the body, as fast as the socket takes it, until the broker closes
      const chunk = Buffer.alloc(MiB, 0x62);
      let sent = 0;
      let closed = false;
      const closedAt = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve())));
      while (!closed && sent < 96 * MiB) {
        if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closedAt]);
        sent += MiB;
      }
      await Promise.race([closedAt, new Promise((r) => setTimeout(r, 3000))]);
      const rssAfter = rssKb(broker.child.pid!);
      socket.destroy();
      t.diagnostic(`256 MiB PUBLISH: ${(sent / MiB).toFixed(0)} MiB written before the close; broker RSS ${rssBefore} kB -> ${rssAfter} kB (+${((rssAfter - rssBefore) / 1024).toFixed(1)} MB)`);
      assert.ok(closed, 'the broker closed the connection');
      assert.ok(rssAfter - rssBefore < 5 * 1024, `RSS grew by ${rssAfter - rssBefore} kB`);
    } finally {
      await broker.kill();
    }
  });
});

describe('22-packet-limits: mosquitto.conf raises the maximum', { timeout: 60_000 }, () => {
  for (const [line, size] of [['max_packet_size 4000000', 3 * MiB], ['message_size_limit 3000000', 2_900_000]] as const) {
    test(`'${line}': a ${size}-byte payload is accepted and delivered; CONNACK advertises max_packet_size (only)`, async () => {
      const port = await freePort();
      const broker = await startCliBroker(tmpConf([`listener ${port} 127.0.0.1`, 'allow_anonymous true', line]));
      try {
        const { client, connack } = await RawClient.connect(port, 5, { clientId: uniqueId('raise') });
        if (line.startsWith('max_packet_size')) assert.equal(connack.properties?.maximumPacketSize, 4_000_000);
        else assert.equal(connack.properties?.maximumPacketSize, undefined, 'message_size_limit is not advertised, as Mosquitto');
        await client.subscribe('raise/t', 0);
        client.send({ cmd: 'publish', topic: 'raise/t', payload: Buffer.alloc(size, 0x63), qos: 0, retain: false, dup: false });
        const p = await client.receive(15_000);
        assert.equal(p.payload.length, size);
        client.destroy();
      } finally {
        await broker.kill();
      }
    });
  }
});

describe('22-packet-limits: a Will beyond messageSizeLimit (messageSizeLimit: 1000)', { timeout: 30_000 }, () => {
  const h = useBroker({ messageSizeLimit: 1000 });
  for (const version of VERSIONS) {
    test(`${versionName(version)}: refused with ${version === 5 ? 'CONNACK 0x95 Packet too large' : 'return code 5 (as Mosquitto)'}; 1000 bytes are fine`, async () => {
      const client = await RawClient.open(h.port, version);
      client.send({
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: uniqueId('will'),
        will: { topic: 'will/t', payload: Buffer.alloc(1001), qos: 0, retain: false },
      } as never);
      const connack = await client.expect('connack');
      assert.equal(version === 5 ? connack.reasonCode : connack.returnCode, version === 5 ? 0x95 : 5);
      await client.closedByBroker();
      const ok = await RawClient.open(h.port, version);
      ok.send({
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: uniqueId('will'),
        will: { topic: 'will/t', payload: Buffer.alloc(1000), qos: 0, retain: false },
      } as never);
      const accepted = await ok.expect('connack');
      assert.equal(version === 5 ? accepted.reasonCode : accepted.returnCode, 0);
      ok.destroy();
    });
  }
});

describe('22-packet-limits: Receive Maximum', { timeout: 60_000 }, () => {
  const h = useBroker({});
  /** Room past the Receive Maximum, as Mosquitto's max_inflight_messages plus max_queued_messages. */
  const small = useBroker({ maxQueuedMessages: 5 });

  test('CONNACK advertises 20 by default (maxInflightMessages)', async () => {
    const { connack } = await h.raw(5);
    assert.equal(connack.properties?.receiveMaximum, 20);
  });

  test('[MQTT-3.3.4-7] past Receive Maximum 20 and maxQueuedMessages 5, the 26th unacknowledged QoS 2 PUBLISH: DISCONNECT 0x93 Receive Maximum exceeded', async () => {
    const { client } = await small.raw(5);
    for (let id = 1; id <= 25; id++) {
      client.send({ cmd: 'publish', topic: 'rm/t', payload: 'x', qos: 2, retain: false, dup: false, messageId: id });
      await client.expect('pubrec'); // no PUBREL: each flow stays open
    }
    client.send({ cmd: 'publish', topic: 'rm/t', payload: 'x', qos: 2, retain: false, dup: false, messageId: 26 });
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x93]]);
  });

  test('[MQTT-3.3.4-7] by default (maxQueuedMessages 1000) the 1,021st unacknowledged QoS 2 PUBLISH is DISCONNECT 0x93; 1,020 are answered', async () => {
    const { client } = await h.raw(5);
    const burst = (from: number, n: number) =>
      Buffer.concat(Array.from({ length: n }, (_, i) => client.encode({ cmd: 'publish', topic: 'rm/t', payload: 'x', qos: 2, retain: false, dup: false, messageId: from + i })));
    client.sendBytes(burst(1, 1020));
    for (let i = 0; i < 1020; i++) await client.expect('pubrec');
    client.sendBytes(burst(1021, 1));
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x93]]);
  });

  test('3.1.1 has no Receive Maximum: 30 open QoS 2 flows are fine', async () => {
    const { client } = await small.raw(4);
    for (let id = 1; id <= 30; id++) {
      client.send({ cmd: 'publish', topic: 'rm/t', payload: 'x', qos: 2, retain: false, dup: false, messageId: id });
      await client.expect('pubrec');
    }
    client.send({ cmd: 'pingreq' });
    await client.expect('pingresp');
  });

  test('MQTT.js 5.0, which does not hold to the Receive Maximum: 300 QoS 2 and 300 QoS 1 at once all arrive, the publisher stays connected', async () => {
    const sub = await h.js(5);
    const pub = await h.js(5);
    const topic = `${uniqueId('rmjs')}/t`;
    await sub.client.subscribeAsync(topic, { qos: 2 });
    let reconnects = 0;
    pub.client.on('reconnect', () => reconnects++);
    await Promise.all(Array.from({ length: 300 }, (_, i) => pub.client.publishAsync(topic, `q2-${i}`, { qos: 2 })));
    await Promise.all(Array.from({ length: 300 }, (_, i) => pub.client.publishAsync(topic, `q1-${i}`, { qos: 1 })));
    const got = new Set<string>();
    for (let i = 0; i < 600; i++) got.add((await sub.nextMessage(10_000)).payload.toString());
    assert.equal(got.size, 600, 'each once');
    assert.ok(pub.client.connected, 'the publisher is still connected');
    assert.equal(reconnects, 0);
  });
});

describe('22-packet-limits: Receive Maximum with a store (QoS 1 PUBACKs wait for writes)', { timeout: 30_000 }, () => {
  test('[MQTT-3.3.4-7] QoS 1 PUBLISHes waiting for their store write count: past Receive Maximum 20 and maxQueuedMessages 5, DISCONNECT 0x93', async () => {
    const tb = await startTestBroker({ store: new MemoryStore(), maxQueuedMessages: 5 } as never);
    try {
      const { client } = await RawClient.connect(tb.port, 5, { clientId: uniqueId('rmq1') });
      const burst = Buffer.concat(
        Array.from({ length: 26 }, (_, i) => client.encode({ cmd: 'publish', topic: `rm/q1/${i}`, payload: 'x', qos: 1, retain: true, dup: false, messageId: i + 1 })),
      );
      // one write: the broker reads all 26 before its store has written the retained messages, so no PUBACK went yet
      client.sendBytes(burst);
      const before = await client.closedByBroker();
      assert.deepEqual(before.filter((p) => p.cmd === 'disconnect').map((p) => (p as { reasonCode?: number }).reasonCode), [0x93]);
    } finally {
      await tb.close();
    }
  });

  test('MQTT.js 5.0 with a disk store: 300 retained QoS 1 at once, each acknowledged, no disconnect', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-rm-'));
    const store = await DiskStore.open({ directory: dir });
    const tb = await startTestBroker({ store } as never);
    try {
      const pub = mqtt.connect(`mqtt://127.0.0.1:${tb.port}`, { protocolVersion: 5, reconnectPeriod: 0, clientId: uniqueId('rmdisk') });
      await new Promise<void>((resolve, reject) => { pub.once('connect', () => resolve()); pub.once('error', reject); });
      await Promise.all(Array.from({ length: 300 }, (_, i) => pub.publishAsync(`rm/disk/${i}`, `v${i}`, { qos: 1, retain: true })));
      assert.ok(pub.connected, 'still connected');
      await pub.endAsync();
    } finally {
      await tb.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('22-packet-limits: max_inflight_messages in mosquitto.conf', { timeout: 30_000 }, () => {
  test("'max_inflight_messages 5' is the CONNACK's Receive Maximum", async () => {
    const port = await freePort();
    const broker = await startCliBroker(tmpConf([`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'max_inflight_messages 5']));
    try {
      const { client, connack } = await RawClient.connect(port, 5, { clientId: uniqueId('inflight') });
      assert.equal(connack.properties?.receiveMaximum, 5);
      client.destroy();
    } finally {
      await broker.kill();
    }
  });
});

describe('22-packet-limits: CONNACK', { timeout: 30_000 }, () => {
  const h = useBroker({ maxPacketSize: MiB });

  test('[MQTT-3.1.2-24] [MQTT-3.2.2-19] a client allowing 16 bytes gets a CONNACK of at most 16, its limits kept', async () => {
    const client = await RawClient.open(h.port, 5);
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: uniqueId('small'), properties: { maximumPacketSize: 16 } } as never);
    const connack = await client.expect('connack');
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.receiveMaximum, 20, 'Receive Maximum kept');
    assert.equal(connack.properties?.maximumPacketSize, MiB, 'Maximum Packet Size kept');
    const size = client.encode(connack).length;
    assert.ok(size <= 16, `a CONNACK of ${size} bytes`);
    client.destroy();
  });

  test('[MQTT-3.1.2-24] a client allowing fewer bytes than the smallest honest CONNACK gets none, the connection closes', async () => {
    const client = await RawClient.open(h.port, 5);
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: uniqueId('tiny'), properties: { maximumPacketSize: 8 } } as never);
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => p.cmd), []);
  });

  test('MQTT 3.1: the CONNACK of a resumed session leaves the reserved first byte 0 (no Session Present)', async () => {
    const clientId = uniqueId('v31');
    const first = await RawClient.open(h.port, 3);
    first.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clean: false, keepalive: 60, clientId } as never);
    await first.expect('connack');
    first.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const second = await RawClient.open(h.port, 3);
    second.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clean: false, keepalive: 60, clientId } as never);
    const connack = await second.expect('connack');
    assert.equal(connack.sessionPresent, false);
    assert.equal(connack.returnCode, 0);
    second.destroy();
  });
});
