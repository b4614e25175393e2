// What the bridge tests share: our broker on a free port, a real Mosquitto as the remote broker,
// clients on both sides that record what they receive, and one cleanup list per test.
import mqtt from 'mqtt';
import { createBroker, type Broker, type BrokerOptions } from '../../src/broker';
import { connect, type MqttClient } from '../../src/client';
import { Bridge, type BridgeOptions } from '../../src/bridge';
import { startMosquitto, disposeMosquitto, type MosquittoInstance, type MosquittoOptions } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** Cleanups registered during a test, run in reverse order by `run()` (from afterEach). */
export class Cleanups {
  private list: (() => unknown)[] = [];
  add(fn: () => unknown): void {
    this.list.push(fn);
  }
  async run(): Promise<void> {
    const list = this.list.reverse();
    this.list = [];
    for (const fn of list) {
      try {
        await fn();
      } catch {
        // already closed
      }
    }
  }
}

export async function localBroker(cleanups: Cleanups, options: BrokerOptions = {}): Promise<{ broker: Broker; port: number }> {
  const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], sysInterval: 0, ...options });
  await broker.listen();
  cleanups.add(() => broker.close());
  return { broker, port: broker.addresses()[0].port };
}

export async function mosquitto(cleanups: Cleanups, options: MosquittoOptions = {}): Promise<MosquittoInstance> {
  const inst = await startMosquitto(options);
  cleanups.add(() => disposeMosquitto(inst));
  return inst;
}

/** Starts a bridge and waits for its first connection to the remote broker. */
export async function startBridge(cleanups: Cleanups, broker: Broker, options: BridgeOptions, waitConnected = true): Promise<Bridge> {
  const bridge = new Bridge(broker, { restartTimeout: { base: 0.05, cap: 0.3 }, ...options });
  cleanups.add(() => bridge.stop());
  const connected = new Promise<void>((resolve) => bridge.once('connect', () => resolve()));
  await bridge.start();
  if (waitConnected) await withTimeout(connected, 10_000, `bridge ${options.name} to connect`);
  return bridge;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Our client on our broker, recording every message. */
export async function localClient(cleanups: Cleanups, port: number, protocolVersion: 4 | 5 = 5): Promise<{ client: MqttClient; received: Received[] }> {
  const client = connect({ host: '127.0.0.1', port, protocolVersion, reconnectPeriod: 0 });
  cleanups.add(() => client.end({ force: true }));
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
  await withTimeout(new Promise((resolve) => client.once('connect', resolve)), 5000, 'local client to connect');
  return { client, received };
}

/** MQTT.js on Mosquitto, recording every message. */
export async function remoteClient(
  cleanups: Cleanups,
  port: number,
  protocolVersion: 4 | 5 = 5,
  options: mqtt.IClientOptions = {},
): Promise<{ client: mqtt.MqttClient; received: Received[] }> {
  const client = mqtt.connect({ host: '127.0.0.1', port, protocolVersion, reconnectPeriod: 100, ...options });
  cleanups.add(() => client.endAsync(true));
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
  await withTimeout(new Promise((resolve) => client.once('connect', resolve)), 5000, 'MQTT.js to connect to mosquitto');
  return { client, received };
}

/** Waits until `received` holds a message with this payload, and returns it. */
export function arrival(received: Received[], payload: string, what = payload, timeoutMs = 8000): Promise<Received> {
  return waitUntil(() => received.find((m) => m.payload === payload), timeoutMs, `message "${what}"`) as Promise<Received>;
}

export const count = (received: Received[], payload: string): number => received.filter((m) => m.payload === payload).length;

export const VERSIONS = [
  { name: '3.1.1', protocolVersion: 'mqttv311', level: 4 },
  { name: '5.0', protocolVersion: 'mqttv50', level: 5 },
] as const;
