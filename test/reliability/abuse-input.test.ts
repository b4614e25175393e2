// The broker (a child process) under malformed and hostile input over real sockets: random bytes,
// truncated and oversize packets, a CONNECT flood and slowloris connections. In every scenario a
// well-behaved MQTT.js pair keeps exchanging QoS 1 messages (none lost), and the broker's RSS stays
// under a stated bound.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import { BrokerProcess, MB } from './helpers/broker-process';
import { closedWithin, inBatches, openSocket, underAttack } from './helpers/attack';
import { seededRandom } from './helpers/random';
import { RawMqtt } from './helpers/raw-mqtt';

const RSS_BOUND = 200 * MB;
const CONNECT_TIMEOUT_MS = 1000;
const MAX_PACKET_SIZE = 1024 * 1024;
/** Generous: the machine may be busy. Closing is what is asserted, never how fast. */
const CLOSE_WAIT_MS = 20_000;
const CONNECT_FLOOD = Number(process.env.RELIABILITY_CONNECT_FLOOD ?? 2000);

function connectBytes(version: 4 | 5, clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}): Buffer {
  return mqttPacket.generate(
    { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId, ...extra },
    { protocolVersion: version },
  );
}

describe('broker under hostile input', () => {
  let broker: BrokerProcess;
  const random = seededRandom();
  before(async () => {
    broker = await BrokerProcess.start({ connectTimeout: CONNECT_TIMEOUT_MS, maxPacketSize: MAX_PACKET_SIZE });
  });
  after(async () => {
    await broker?.stop();
  });

  test(`random bytes on 400 connections, before and after a valid CONNECT (seed ${random.seed})`, async (t) => {
    const { value } = await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        let closedByBroker = 0;
        const results = await inBatches([...Array(400).keys()], 50, async (i) => {
          const s = await openSocket(broker.port);
          const afterConnect = i % 2 === 1;
          if (afterConnect) s.write(connectBytes(i % 4 === 1 ? 4 : 5, `garbage-${i}`));
          s.write(random.bytes(random.int(1, 4000)));
          if (afterConnect) {
            // garbage after CONNECT may read as the start of a long packet: the broker waits for
            // the rest, which never comes; we leave, and the broker must forget the client
            const closed = await closedWithin(s, 300);
            s.destroy();
            return closed;
          }
          // before CONNECT: refused at once, or closed by the connect timeout [MQTT-3.1.0-1]
          const closed = await closedWithin(s, CLOSE_WAIT_MS);
          s.destroy();
          return closed;
        });
        for (let i = 0; i < results.length; i += 2) if (results[i]) closedByBroker++;
        return { closedByBroker, preConnect: results.length / 2 };
      },
      (l) => t.diagnostic(l),
    );
    assert.equal(value.closedByBroker, value.preConnect, 'every connection sending garbage before CONNECT is closed by the broker');
    // the watchdog's pair is leaving too: wait for the broker to see every socket gone
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while ((await broker.stats()).clients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const stats = await broker.stats();
    t.diagnostic(`broker clients after: ${stats.clients}; disconnects ${JSON.stringify(stats.disconnects)}`);
    assert.equal(stats.clients, 0, 'no garbage client left registered');
  });

  test('truncated packets: a CONNECT cut short waits for the connect timeout; a PUBLISH cut short and abandoned leaves nothing behind', async (t) => {
    const { value } = await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        const full = connectBytes(5, 'truncated');
        const cutConnects = await inBatches([...Array(100).keys()], 50, async (i) => {
          const s = await openSocket(broker.port);
          s.write(full.subarray(0, 1 + (i % (full.length - 1))));
          const closed = await closedWithin(s, CLOSE_WAIT_MS);
          s.destroy();
          return closed;
        });
        const publish = mqttPacket.generate({ cmd: 'publish', topic: 'truncated/x', payload: Buffer.alloc(5000, 1), qos: 1, messageId: 7, retain: false, dup: false }, { protocolVersion: 4 });
        await inBatches([...Array(100).keys()], 50, async (i) => {
          const s = await openSocket(broker.port);
          s.write(connectBytes(4, `cut-publish-${i}`));
          s.write(publish.subarray(0, 1 + random.int(0, publish.length - 2)));
          await new Promise((r) => setTimeout(r, 20));
          s.destroy();
        });
        return cutConnects.filter((c) => c).length;
      },
      (l) => t.diagnostic(l),
    );
    assert.equal(value, 100, 'every truncated CONNECT closed by the connect timeout');
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while ((await broker.stats()).clients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await broker.stats()).clients, 0, 'clients that left mid-PUBLISH are gone');
  });

  test(`oversize packets: Remaining Length beyond maxPacketSize (${MAX_PACKET_SIZE} bytes) closes the connection without buffering the body (0x95)`, async (t) => {
    const { value } = await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        const body = Buffer.alloc(64 * 1024, 0x61);
        const results = await inBatches([...Array(40).keys()], 20, async (i) => {
          const s = await openSocket(broker.port);
          const version = i % 2 === 0 ? 4 : 5;
          s.write(connectBytes(version, `oversize-${i}`));
          // PUBLISH QoS 0 announcing 200 MB, then streaming body bytes until the broker closes
          s.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64]));
          const closed = closedWithin(s, CLOSE_WAIT_MS);
          let written = 0;
          while (!s.destroyed && written < 8 * MB) {
            if (!s.write(body)) await new Promise((r) => setTimeout(r, 5));
            written += body.length;
          }
          const ok = await closed;
          s.destroy();
          return ok;
        });
        return results.filter((c) => c).length;
      },
      (l) => t.diagnostic(l),
    );
    assert.equal(value, 40, 'every oversize sender closed by the broker');
  });

  test(`CONNECT flood: ${CONNECT_FLOOD} connections, all accepted and held, then all gone`, async (t) => {
    const sockets: net.Socket[] = [];
    try {
      const { value, peakRss } = await underAttack(
        broker,
        RSS_BOUND,
        async () => {
          const connacks = await inBatches([...Array(CONNECT_FLOOD).keys()], 100, async (i) => {
            const s = await openSocket(broker.port);
            sockets.push(s);
            const version = i % 2 === 0 ? 4 : 5;
            const parser = mqttPacket.parser({ protocolVersion: version });
            const connack = new Promise<number>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`no CONNACK for flood client ${i}`)), CLOSE_WAIT_MS);
              parser.on('packet', (p: mqttPacket.Packet) => {
                if (p.cmd !== 'connack') return;
                clearTimeout(timer);
                resolve(p.reasonCode ?? p.returnCode ?? -1);
              });
            });
            s.on('data', (d: Buffer) => parser.parse(d));
            s.write(connectBytes(version, `flood-${process.pid}-${i}`));
            return connack;
          });
          const held = (await broker.stats()).clients;
          return { accepted: connacks.filter((c) => c === 0).length, held };
        },
        (l) => t.diagnostic(l),
      );
      t.diagnostic(`${value.accepted} CONNACKs 0, ${value.held} clients held at once, peak RSS ${(peakRss / MB).toFixed(1)} MB`);
      assert.equal(value.accepted, CONNECT_FLOOD);
      assert.ok(value.held >= CONNECT_FLOOD, `broker held ${value.held} clients`);
    } finally {
      for (const s of sockets) s.destroy();
    }
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while ((await broker.stats()).clients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await broker.stats()).clients, 0, 'every flood client forgotten after its socket closed');
  });

  test(`slowloris: 300 silent connections and 30 sending a CONNECT a byte at a time are closed by the connect timeout (${CONNECT_TIMEOUT_MS} ms)`, async (t) => {
    const { value } = await underAttack(
      broker,
      RSS_BOUND,
      async () => {
        const silent = await inBatches([...Array(300).keys()], 100, () => openSocket(broker.port));
        const dribblers = await inBatches([...Array(30).keys()], 30, () => openSocket(broker.port));
        const connect = connectBytes(4, 'slowloris');
        let offset = 0;
        // a byte every 200 ms: the connect timeout runs from the opening, not from the last byte
        const drip = setInterval(() => {
          for (const s of dribblers) if (!s.destroyed) s.write(connect.subarray(offset % (connect.length - 1), (offset % (connect.length - 1)) + 1));
          offset++;
        }, 200);
        try {
          const closed = await Promise.all([...silent, ...dribblers].map((s) => closedWithin(s, CLOSE_WAIT_MS)));
          return { closed: closed.filter((c) => c).length, dribbledBytes: offset };
        } finally {
          clearInterval(drip);
          for (const s of [...silent, ...dribblers]) s.destroy();
        }
      },
      (l) => t.diagnostic(l),
    );
    t.diagnostic(`closed ${value.closed} of 330; dribblers sent ${value.dribbledBytes} bytes each before being closed`);
    assert.equal(value.closed, 330);
    assert.ok(value.dribbledBytes < connectBytes(4, 'slowloris').length, 'dribblers closed before their CONNECT was complete');
  });
});

describe('CONNECT flood beyond maxConnections', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await BrokerProcess.start({ connectTimeout: CONNECT_TIMEOUT_MS, maxConnections: 100 });
  });
  after(async () => {
    await broker?.stop();
  });

  test('500 CONNECTs at once with maxConnections 100: 100 accepted (the watchdog pair among them), the rest refused with 3 / 0x97 [MQTT-3.2.2-6]', async (t) => {
    const held: RawMqtt[] = [];
    try {
      const { value } = await underAttack(
        broker,
        RSS_BOUND,
        async () => {
          // the watchdog holds two of the 100 places
          const results = await Promise.all(
            [...Array(500).keys()].map((i) =>
              RawMqtt.connect(broker.port, i % 2 === 0 ? 4 : 5).then(
                (c) => {
                  held.push(c);
                  return 'accepted';
                },
                (err: Error) => err.message,
              ),
            ),
          );
          const tally: Record<string, number> = {};
          for (const r of results) tally[r] = (tally[r] ?? 0) + 1;
          return tally;
        },
        (l) => t.diagnostic(l),
      );
      t.diagnostic(JSON.stringify(value));
      assert.equal(value.accepted, 98);
      assert.equal((value['CONNACK 3'] ?? 0) + (value['CONNACK 151'] ?? 0), 402, '3.1.1 refused with return code 3, 5.0 with 0x97 Quota exceeded');
    } finally {
      for (const c of held) c.destroy();
    }
    // places free again once the holders left
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while ((await broker.stats()).clients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const again = await RawMqtt.connect(broker.port, 4);
    again.destroy();
  });
});
