// Engine internals: whatever bytes a client sends, only its own connection suffers. Seeded random
// input (so a failure can be replayed), before and after a valid CONNECT, for 3.1.1 and 5.0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { type Broker, createBroker } from '../../src/broker';
import { encode, type ProtocolVersion } from '../../src/codec';
import { waitUntil } from '../helpers/net';
import { RawClient, connectPacket } from './helpers/raw-client';

/** mulberry32: small, seedable. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A valid packet with some bytes flipped: closer to what a broken client sends than pure noise. */
function mutated(rand: () => number, version: ProtocolVersion): Buffer {
  const base = encode(
    {
      type: 'publish',
      topic: 'fuzz/t',
      payload: Buffer.from('payload'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1 + Math.floor(rand() * 100),
      properties: version === 5 ? { userProperties: [['k', 'v']], contentType: 'x' } : undefined,
    },
    version,
  );
  const flips = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < flips; i++) base[Math.floor(rand() * base.length)] = Math.floor(rand() * 256);
  return base;
}

/** A valid CONNECT, from our own codec. */
function connectBytes(version: 4 | 5): Buffer {
  const { clientId } = connectPacket(version);
  return encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 30, clientId }, version);
}

function send(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
      // leave it to the broker to close; cut it ourselves soon in any case
      setTimeout(() => s.destroy(), 100);
    });
    s.on('close', () => resolve());
  });
}

describe('engine: random and mutated input', () => {
  let broker: Broker;
  let port: number;
  before(async () => {
    broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, connectTimeout: 500, maxPacketSize: 64 * 1024 });
    await broker.listen();
    port = broker.addresses()[0].port;
  });
  after(() => broker.close());

  for (const version of [4, 5] as const) {
    test(`protocol ${version}: 150 connections of noise and broken packets; a healthy client is served throughout`, async () => {
      const healthy = await RawClient.connect(port, version);
      const rand = prng(version * 7919);
      for (let round = 0; round < 15; round++) {
        const jobs: Promise<void>[] = [];
        for (let i = 0; i < 10; i++) {
          const connect = connectBytes(version);
          const kind = rand();
          const chunks =
            kind < 0.3
              ? [randomBytes(rand, 1 + Math.floor(rand() * 64))]
              : kind < 0.6
                ? [connect, randomBytes(rand, 1 + Math.floor(rand() * 64))]
                : [connect, mutated(rand, version), mutated(rand, version)];
          jobs.push(send(port, chunks));
        }
        await Promise.all(jobs);
        healthy.client.send({ cmd: 'pingreq' });
        await healthy.client.expect('pingresp');
      }
      await waitUntil(() => broker.clients().length === 1, 3000, 'only the healthy client left');
      healthy.client.destroy();
    });
  }
});
