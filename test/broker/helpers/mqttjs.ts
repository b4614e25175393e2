// MQTT.js clients for the "normal behaviour" parts of the conformance suites: a real, independent
// client library against our broker. Messages are queued so a test can await the next one.
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient, IPublishPacket } from 'mqtt';
import { uniqueId } from './raw-client';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

export interface TestClient {
  client: MqttClient;
  messages: ReceivedMessage[];
  /** Next message (in arrival order), rejecting after timeoutMs. */
  nextMessage(timeoutMs?: number): Promise<ReceivedMessage>;
  /** True if no message arrives within ms. */
  noMessageFor(ms: number): Promise<boolean>;
  end(): Promise<void>;
}

export async function connectMqttJs(port: number, version: 4 | 5, opts: IClientOptions = {}): Promise<TestClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: version,
    clientId: uniqueId('js'),
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...opts,
  });
  // Listen before the CONNACK: a resumed session's messages may come in the same read.
  const wrapped = wrap(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  return wrapped;
}

export function wrap(client: MqttClient): TestClient {
  const messages: ReceivedMessage[] = [];
  let waiter: (() => void) | undefined;
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, packet });
    waiter?.();
  });
  client.on('error', () => undefined);
  const nextMessage = async (timeoutMs = 4000): Promise<ReceivedMessage> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = messages.shift();
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiter = () => {
          clearTimeout(t);
          waiter = undefined;
          resolve();
        };
      });
    }
  };
  return {
    client,
    messages,
    nextMessage,
    noMessageFor: async (ms) => {
      try {
        const m = await nextMessage(ms);
        messages.unshift(m);
        return false;
      } catch {
        return true;
      }
    },
    end: async () => {
      if (client.disconnected || !client.connected) {
        client.end(true);
        return;
      }
      await client.endAsync();
    },
  };
}
