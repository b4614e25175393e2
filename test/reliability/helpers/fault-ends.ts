// The two ends of a fault scenario, a subscriber and a publisher on persistent sessions (clean=false,
// 5.0 with a Session Expiry Interval), either our client or MQTT.js: numbered messages out, and how
// often each number arrived.
import { once } from 'node:events';
import mqtt from 'mqtt';
import { connect, type ClientOptions, type MqttClient } from '../../../src/client';
import type { QoS } from '../../../src/codec/types';

/** The two ends of a scenario: publish numbered messages and count what arrives. */
export interface Ends {
  publish(seq: number): Promise<unknown>;
  received: Map<number, number>;
  close(): Promise<void>;
}

export async function ourClients(url: string, tag: string, version: 4 | 5, qos: QoS, extra: ClientOptions = {}): Promise<Ends> {
  const session = {
    protocolVersion: version,
    clean: false,
    reconnectPeriod: 20,
    reconnectPeriodMax: 100,
    connectTimeout: 5000,
    keepalive: 10,
    properties: version === 5 ? { sessionExpiryInterval: 600 } : undefined,
    ...extra,
  };
  const received = new Map<number, number>();
  const sub: MqttClient = connect(url, { ...session, clientId: `${tag}-sub` });
  const pub: MqttClient = connect(url, { ...session, clientId: `${tag}-pub` });
  for (const c of [sub, pub]) c.on('error', () => undefined);
  sub.on('message', (_topic, payload) => {
    const seq = Number(payload.toString());
    received.set(seq, (received.get(seq) ?? 0) + 1);
  });
  await Promise.all([once(sub, 'connect'), once(pub, 'connect')]);
  await sub.subscribe(`${tag}/#`, { qos: 2 });
  return {
    publish: (seq) => pub.publish(`${tag}/m`, String(seq), { qos }),
    received,
    close: async () => {
      await Promise.all([sub.end({ force: true }), pub.end({ force: true })]);
    },
  };
}

export async function mqttJsClients(url: string, tag: string, version: 4 | 5, qos: QoS): Promise<Ends> {
  const session = {
    protocolVersion: version,
    clean: false,
    reconnectPeriod: 20,
    connectTimeout: 5000,
    keepalive: 10,
    properties: version === 5 ? { sessionExpiryInterval: 600 } : undefined,
  };
  const received = new Map<number, number>();
  const sub = mqtt.connect(url, { ...session, clientId: `${tag}-sub` });
  const pub = mqtt.connect(url, { ...session, clientId: `${tag}-pub` });
  for (const c of [sub, pub]) c.on('error', () => undefined);
  sub.on('message', (_topic, payload) => {
    const seq = Number(payload.toString());
    received.set(seq, (received.get(seq) ?? 0) + 1);
  });
  await Promise.all([sub, pub].map((c) => new Promise<void>((resolve) => c.once('connect', () => resolve()))));
  await sub.subscribeAsync(`${tag}/#`, { qos: 2 });
  return {
    publish: (seq) => pub.publishAsync(`${tag}/m`, String(seq), { qos: qos as 0 | 1 | 2 }),
    received,
    close: async () => {
      await Promise.all([sub.endAsync(true), pub.endAsync(true)]);
    },
  };
}
