// Starts the broker under test in-process on a free loopback port.
// The broker is loaded through this one seam, typed by the contract in docs/architecture.md, so the
// conformance suites describe the broker from the standard and not from its sources.
import * as path from 'node:path';

export interface ListenerOptionsLike {
  port: number;
  host?: string;
  protocol?: 'mqtt' | 'ws';
  path?: string;
}

export interface BrokerOptionsLike {
  listeners?: ListenerOptionsLike[];
  maxConnections?: number;
  maxPacketSize?: number;
  messageSizeLimit?: number;
  maxQueuedMessages?: number;
  maxInflightMessages?: number;
  maxKeepalive?: number;
  persistentClientExpiration?: number;
  allowZeroLengthClientId?: boolean;
  sysInterval?: number;
  connectTimeout?: number;
  [option: string]: unknown;
}

export interface AddressLike {
  port: number;
  address?: string;
  host?: string;
  protocol?: string;
}

export interface BrokerLike {
  listen(): Promise<void>;
  close(): Promise<void>;
  addresses(): AddressLike[];
  publish(message: { topic: string; payload: Buffer | string; qos?: 0 | 1 | 2; retain?: boolean; properties?: Record<string, unknown> }): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface BrokerModule {
  createBroker(options?: BrokerOptionsLike): BrokerLike;
}

export function loadBrokerModule(): BrokerModule {
  // Resolved at run time from the build folder next to this file (dist/test/broker/helpers).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, '..', '..', '..', 'src', 'broker')) as BrokerModule;
}

export interface TestBroker {
  broker: BrokerLike;
  /** Port of the first listener. */
  port: number;
  close(): Promise<void>;
}

/**
 * Set CONFORMANCE_TARGET=mosquitto to run the suites against a real Mosquitto instead: it checks the
 * suites themselves against a reference broker (options are translated to mosquitto.conf lines,
 * tests that need the broker object are skipped).
 */
export const againstMosquitto = process.env.CONFORMANCE_TARGET === 'mosquitto';

/** `skip` value for tests that need the broker object itself (events, publish, options). */
export const needsBrokerObject: string | false = againstMosquitto ? 'needs the in-process broker' : false;

const MOSQUITTO_OPTION: Record<string, (v: unknown) => string> = {
  maxConnections: (v) => `max_connections ${v}`,
  allowZeroLengthClientId: (v) => `allow_zero_length_clientid ${v ? 'true' : 'false'}`,
  maxKeepalive: (v) => `max_keepalive ${v}`,
  maxPacketSize: (v) => `max_packet_size ${v}`,
  messageSizeLimit: (v) => `message_size_limit ${v}`,
  maxQueuedMessages: (v) => `max_queued_messages ${v}`,
  maxInflightMessages: (v) => `max_inflight_messages ${v}`,
  sysInterval: (v) => `sys_interval ${v}`,
  maximumQoS: (v) => `max_qos ${v}`,
  retainAvailable: (v) => `retain_available ${v ? 'true' : 'false'}`,
};

async function startMosquittoTarget(options: BrokerOptionsLike): Promise<TestBroker> {
  // Loaded lazily: only this mode needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startMosquitto, disposeMosquitto } = require('../../helpers/mosquitto') as typeof import('../../helpers/mosquitto');
  const extra = Object.entries(options)
    .filter(([k]) => MOSQUITTO_OPTION[k])
    .map(([k, v]) => MOSQUITTO_OPTION[k](v));
  const inst = await startMosquitto({ extraConfig: extra });
  const unsupported = (): never => {
    throw new Error('not available against mosquitto');
  };
  const broker: BrokerLike = {
    listen: async () => undefined,
    close: () => disposeMosquitto(inst),
    addresses: () => [{ port: inst.port, address: '127.0.0.1' }],
    publish: unsupported,
    on: unsupported,
    off: unsupported,
  };
  return { broker, port: inst.port, close: () => disposeMosquitto(inst) };
}

/** A broker on 127.0.0.1, port chosen by the OS, with a short connect timeout for tests. */
export async function startBroker(options: BrokerOptionsLike = {}): Promise<TestBroker> {
  if (againstMosquitto) return startMosquittoTarget(options);
  const { createBroker } = loadBrokerModule();
  const broker = createBroker({
    connectTimeout: 2000,
    listeners: [{ host: '127.0.0.1', port: 0 }],
    ...options,
  });
  await broker.listen();
  const port = broker.addresses()[0].port;
  let closed = false;
  return {
    broker,
    port,
    close: async () => {
      if (closed) return;
      closed = true;
      await broker.close();
    },
  };
}

/** Both protocol levels each suite runs for: 3.1.1 (4) and 5.0 (5). */
export const VERSIONS = [4, 5] as const;
export type Version = (typeof VERSIONS)[number];
export const versionName = (v: Version): string => (v === 5 ? 'MQTT 5.0' : 'MQTT 3.1.1');
