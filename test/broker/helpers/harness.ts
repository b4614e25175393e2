// One broker per describe block, and every client a test opens is closed after it, pass or fail.
import { after, afterEach, before } from 'node:test';
import type { IClientOptions } from 'mqtt';
import type { IConnectPacket } from 'mqtt-packet';
import { startBroker, type BrokerLike, type BrokerOptionsLike, type TestBroker } from './broker';
import { RawClient, connectPacket, type Version } from './raw-client';
import { connectMqttJs, type TestClient } from './mqttjs';

export interface Harness {
  readonly port: number;
  readonly broker: BrokerLike;
  /** Raw connection, CONNECT sent and CONNACK awaited. */
  raw(version: Version, connect?: Partial<IConnectPacket>): Promise<{ client: RawClient; connack: Awaited<ReturnType<typeof RawClient.connect>>['connack'] }>;
  /** Raw connection with nothing sent. */
  open(version: Version): Promise<RawClient>;
  /** Connected MQTT.js client. */
  js(version: 4 | 5, opts?: IClientOptions): Promise<TestClient>;
  /** Registers something to close after the current test. */
  defer(cleanup: () => unknown): void;
}

export function useBroker(options: BrokerOptionsLike = {}): Harness {
  let tb: TestBroker | undefined;
  let cleanups: Array<() => unknown> = [];
  before(async () => {
    tb = await startBroker(options);
  });
  afterEach(async () => {
    const list = cleanups.reverse();
    cleanups = [];
    for (const c of list) {
      try {
        await c();
      } catch {
        // a client the broker already closed
      }
    }
  });
  after(async () => {
    await tb?.close();
  });
  const h: Harness = {
    get port() {
      if (!tb) throw new Error('broker did not start');
      return tb.port;
    },
    get broker() {
      if (!tb) throw new Error('broker did not start');
      return tb.broker;
    },
    raw: async (version, connect) => {
      const client = await RawClient.open(h.port, version);
      cleanups.push(() => client.destroy());
      client.send(connectPacket(version, connect));
      const connack = await client.expect('connack');
      return { client, connack };
    },
    open: async (version) => {
      const client = await RawClient.open(h.port, version);
      cleanups.push(() => client.destroy());
      return client;
    },
    js: async (version, opts) => {
      const c = await connectMqttJs(h.port, version, opts);
      cleanups.push(() => c.client.end(true));
      return c;
    },
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
  return h;
}
