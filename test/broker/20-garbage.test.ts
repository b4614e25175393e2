// 20-garbage: connections that send random bytes (scanners, broken devices, the wrong protocol on the
// port) are closed as soon as the bytes in hand cannot begin a valid packet [MQTT-4.8.0-1]: a first
// packet that is not CONNECT [MQTT-3.1.0-1], a reserved type or reserved flags [MQTT-2.1.3-1], a
// Remaining Length beyond the maximum packet size, a bad protocol name [MQTT-3.1.2-1]... without
// waiting for the rest of a packet that will never come. Well-behaved clients beside them go on.
import { describe, test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { useBroker } from './helpers/harness';
import { uniqueId } from './helpers/raw-client';
import { packet, str, u16 } from './helpers/bytes';
import { prng } from '../persistence/helpers/workload';

function garbage(random: () => number): Buffer {
  const b = Buffer.alloc(64 + Math.floor(random() * 193)); // 64..256 bytes
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(random() * 256);
  return b;
}

function connectBytes(version: 4 | 5, clientId: string): Buffer {
  return packet(0x10, [...str('MQTT'), version, 0x02, ...u16(60), ...(version === 5 ? [0x00] : []), ...str(clientId)]);
}

const CLOSE_WITHIN_MS = 1000;

/**
 * Opens `count` sockets at once; each sends `first` (a CONNECT, or nothing), then, once the broker
 * answered it (or at once), its garbage. Resolves with each one's time from garbage to close, in ms
 * (Infinity for one still open after `waitMs`); every socket is destroyed before it resolves.
 */
async function flood(port: number, count: number, seed: number, withConnect: boolean, waitMs: number): Promise<number[]> {
  const random = prng(seed);
  const sockets: net.Socket[] = [];
  const times = await Promise.all(
    Array.from({ length: count }, (_, n) => {
      const bytes = garbage(random);
      return new Promise<number>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        sockets.push(socket);
        let sentAt = 0;
        let timer: NodeJS.Timeout | undefined;
        const sendGarbage = (): void => {
          sentAt = performance.now();
          socket.write(bytes);
          timer = setTimeout(() => resolve(Infinity), waitMs);
        };
        socket.on('error', () => undefined);
        socket.resume(); // read what the broker sends (a refusing CONNACK), so its close is seen
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(sentAt === 0 ? -1 : performance.now() - sentAt);
        });
        socket.once('connect', () => {
          if (!withConnect) return sendGarbage();
          socket.write(connectBytes(n % 2 === 0 ? 4 : 5, uniqueId('garbage')));
          socket.once('data', sendGarbage); // the CONNACK
        });
      });
    }),
  );
  for (const s of sockets) s.destroy();
  return times;
}

function report(t: TestContext, what: string, times: number[]): void {
  const sorted = [...times].sort((a, b) => a - b);
  const within = times.filter((x) => x >= 0 && x <= CLOSE_WITHIN_MS).length;
  const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
  t.diagnostic(`${what}: ${within} of ${times.length} closed within ${CLOSE_WITHIN_MS} ms; max ${sorted[sorted.length - 1].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
}

describe('20-garbage: random bytes are closed at once [MQTT-4.8.0-1]', { timeout: 60_000 }, () => {
  const h = useBroker({});

  /** Two MQTT.js clients (3.1.1 and 5.0) exchanging QoS 1 messages all through `during`. */
  async function bystanders(during: () => Promise<void>): Promise<void> {
    const topic = `${uniqueId('bystander')}/t`;
    const receiver = await h.js(5);
    const sender = await h.js(4);
    await receiver.client.subscribeAsync(topic, { qos: 1 });
    let sent = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        await sender.client.publishAsync(topic, `m${sent}`, { qos: 1 });
        sent++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await during();
    } finally {
      running = false;
      await loop;
    }
    await sender.client.publishAsync(topic, 'last', { qos: 1 });
    const received: string[] = [];
    for (;;) {
      const m = await receiver.nextMessage(4000);
      if (m.payload.toString() === 'last') break;
      received.push(m.payload.toString());
    }
    assert.ok(sent > 0, 'the bystanders exchanged messages during the flood');
    assert.deepEqual(received, Array.from({ length: sent }, (_, i) => `m${i}`), 'every message of the bystanders arrived, in order');
    assert.ok(sender.client.connected && receiver.client.connected, 'the bystanders stayed connected');
  }

  test('[MQTT-4.8.0-1] [MQTT-3.1.0-1] [MQTT-2.1.3-1] [MQTT-3.1.2-1] 1,000 connections sending 64-256 random bytes first: all closed within 1 s', async (t) => {
    let times: number[] = [];
    await bystanders(async () => {
      times = await flood(h.port, 1000, 0x5eed, false, 3000);
    });
    report(t, 'random bytes first', times);
    const late = times.filter((x) => x < 0 || x > CLOSE_WITHIN_MS);
    assert.equal(late.length, 0, `${late.length} connections were not closed within ${CLOSE_WITHIN_MS} ms`);
  });

  test('[MQTT-4.8.0-1] 300 connections sending a valid CONNECT, then random bytes: all closed within 1 s', async (t) => {
    let times: number[] = [];
    await bystanders(async () => {
      times = await flood(h.port, 300, 0xc0ffee, true, 3000);
    });
    report(t, 'random bytes after CONNECT', times);
    const late = times.filter((x) => x < 0 || x > CLOSE_WITHIN_MS);
    assert.equal(late.length, 0, `${late.length} connections were not closed within ${CLOSE_WITHIN_MS} ms`);
  });
});
