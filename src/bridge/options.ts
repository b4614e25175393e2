// Bridge options in Mosquitto's bridge vocabulary (mosquitto.conf(5), "Configuring bridges"), so a
// `connection` section maps to them one to one, and their resolution into what the bridge runs on.
import * as net from 'node:net';
import * as os from 'node:os';
import type { SecureContextOptions } from 'node:tls';
import type { ProtocolVersion } from '../codec/types';
import type { Scheme } from '../client';
import { type BridgeTopic, type TopicMapping, compileTopic } from './topic-map';

/** `bridge_protocol_version`, or the protocol level itself. */
export type BridgeProtocolVersion = 'mqttv31' | 'mqttv311' | 'mqttv50' | ProtocolVersion;

/** `restart_timeout constant` (seconds) or `restart_timeout base cap` (decorrelated jitter). */
export type RestartTimeout = number | { base: number; cap: number };

/**
 * `bridge_cafile` / `bridge_capath`, `bridge_certfile`, `bridge_keyfile` (contents, not paths),
 * `bridge_insecure`, `bridge_alpn`, `bridge_tls_version`, `bridge_identity` with `bridge_psk`.
 */
export interface BridgeTlsOptions {
  /** CA certificates: one, or several (each file of a `bridge_capath` directory). */
  ca?: SecureContextOptions['ca'];
  cert?: SecureContextOptions['cert'];
  key?: SecureContextOptions['key'];
  passphrase?: string;
  /** Default true: a certificate that does not verify fails the connection. */
  rejectUnauthorized?: boolean;
  /** SNI name and the name the certificate must carry; default the host when it is a name. */
  servername?: string;
  /** `bridge_alpn`. */
  alpn?: string[];
  /** `bridge_tls_version`: the lowest TLS version accepted (Mosquitto's meaning too); Node's default otherwise. */
  minVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** `bridge_identity` and `bridge_psk`: TLS-PSK (TLS 1.2) instead of certificates. */
  psk?: { identity: string; key: Buffer };
}

/** `start_type`: with the broker and again after failures, on demand, or a single time. */
export type BridgeStartType = 'automatic' | 'lazy' | 'once';

export interface BridgeOptions {
  /** `connection`: names the bridge; part of the default client ids and of log lines. */
  name: string;
  /**
   * `address` / `addresses`: `host[:port]` (1883 by default; `[v6]:port`) or a URL (`mqtt://`,
   * `mqtts://`, `ws://`, `wss://`); several, as an array or separated by spaces, are tried in turn.
   */
  address: string | string[];
  /** `topic` lines; at least one. */
  topics: BridgeTopic[];
  /** `remote_clientid`; default `<hostname>.<name>`. */
  remoteClientId?: string;
  remoteUsername?: string;
  remotePassword?: string | Buffer;
  /** `local_clientid`; default `local.<remoteClientId>`. */
  localClientId?: string;
  /** `local_username` / `local_password`: for a local broker that authenticates its clients. */
  localUsername?: string;
  localPassword?: string | Buffer;
  /** `bridge_protocol_version`; default mqttv311. */
  protocolVersion?: BridgeProtocolVersion;
  /** `cleansession`; default false (the remote keeps the bridge's subscriptions and queue). */
  cleanSession?: boolean;
  /** `keepalive_interval` in seconds; default 60. */
  keepalive?: number;
  /** `restart_timeout` in seconds; default { base: 5, cap: 30 }. */
  restartTimeout?: RestartTimeout;
  /** `try_private`: the bridge bit on CONNECT (levels 3 and 4); default true. */
  tryPrivate?: boolean;
  /** `notifications`: connection state 1/0, retained, on the notification topic; default true. */
  notifications?: boolean;
  /** `notifications_local_only`: not on the remote broker (neither the state nor the Will); default false. */
  notificationsLocalOnly?: boolean;
  /** `notification_topic`; default `$SYS/broker/connection/<remoteClientId>/state`. */
  notificationTopic?: string;
  /** `bridge_attempt_unsubscribe`: unsubscribe remotely from out-only topics on connect; default true. */
  attemptUnsubscribe?: boolean;
  /** `bridge_outgoing_retain`: false clears RETAIN on everything sent out; default true. */
  outgoingRetain?: boolean;
  /**
   * `round_robin`: false (default) treats the first address as the primary: on a secondary the
   * bridge probes the primary every restart timeout base and returns to it once it is back.
   * true: every address is equal, the bridge stays where it connected until that fails.
   */
  roundRobin?: boolean;
  /** TLS for addresses without a URL scheme (they then use mqtts), and for mqtts/wss URLs. */
  tls?: BridgeTlsOptions;
  /** Milliseconds a connection attempt may take up to CONNACK; default 30000. */
  connectTimeout?: number;
  /** `bridge_bind_address`: the local address the connection to the remote broker leaves from. */
  bindAddress?: string;
  /**
   * `bridge_max_packet_size` in bytes, 0 = no limit (default): a message whose PUBLISH would be larger
   * is not sent out; under 5.0 it is also our Maximum Packet Size in CONNECT. A 5.0 remote's own,
   * smaller maximum holds as well.
   */
  maxPacketSize?: number;
  /**
   * `local_cleansession`: false keeps the bridge's session on our broker (subscriptions, QoS 1/2
   * messages waiting to go out) across a stop and a restart of the bridge or, with a store, of the
   * broker. Default true here; mosquitto.conf's default, the value of `cleansession`, is applied by
   * its reader.
   */
  localCleanSession?: boolean;
  /**
   * `start_type`: 'automatic' (default) connects at start and after every failure; 'lazy' connects
   * once `threshold` QoS 1/2 messages wait to go out and disconnects after `idleTimeout` seconds
   * without traffic; 'once' connects at start and never again (a failure stops the bridge).
   */
  startType?: BridgeStartType;
  /** `threshold`: messages waiting that start a lazy bridge; default 10. */
  threshold?: number;
  /** `idle_timeout` in seconds: a lazy bridge this long without traffic disconnects; default 60. */
  idleTimeout?: number;
}

export interface RemoteAddress {
  protocol: Scheme;
  host: string;
  port: number;
  path?: string;
}

export interface ResolvedBridgeOptions {
  name: string;
  addresses: RemoteAddress[];
  mappings: TopicMapping[];
  remoteClientId: string;
  remoteUsername: string | undefined;
  remotePassword: string | Buffer | undefined;
  localClientId: string;
  localUsername: string | undefined;
  localPassword: string | Buffer | undefined;
  protocolVersion: ProtocolVersion;
  cleanSession: boolean;
  keepalive: number;
  restartTimeout: { base: number; cap: number };
  tryPrivate: boolean;
  notifications: boolean;
  notificationsLocalOnly: boolean;
  notificationTopic: string;
  attemptUnsubscribe: boolean;
  outgoingRetain: boolean;
  roundRobin: boolean;
  tls: BridgeTlsOptions | undefined;
  connectTimeout: number;
  bindAddress: string | undefined;
  maxPacketSize: number;
  localCleanSession: boolean;
  startType: BridgeStartType;
  threshold: number;
  idleTimeout: number;
}

const protocolVersions: Record<string, ProtocolVersion> = { mqttv31: 3, mqttv311: 4, mqttv50: 5, mqttv5: 5, '3': 3, '4': 4, '5': 5 };
const defaultPorts: Record<Scheme, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

function fail(name: string, message: string): never {
  throw new TypeError(`bridge ${name}: ${message}`);
}

/** One address: a URL, or host[:port] as mosquitto.conf writes it. */
export function parseAddress(text: string, secure: boolean, name = '?'): RemoteAddress {
  if (text.includes('://')) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      fail(name, `invalid address "${text}"`);
    }
    const protocol = url.protocol.replace(/:$/, '');
    if (!(protocol in defaultPorts)) fail(name, `unsupported scheme in "${text}" (use mqtt, mqtts, ws or wss)`);
    const scheme = protocol as Scheme;
    const address: RemoteAddress = { protocol: scheme, host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : defaultPorts[scheme] };
    if ((scheme === 'ws' || scheme === 'wss') && url.pathname !== '/') address.path = url.pathname + url.search;
    return address;
  }
  // Mosquitto's default port is 1883 whether or not TLS is on.
  const protocol: Scheme = secure ? 'mqtts' : 'mqtt';
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { protocol, host: v6[1], port: v6[2] ? Number(v6[2]) : 1883 };
  if (net.isIPv6(text)) return { protocol, host: text, port: 1883 };
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { protocol, host: text, port: 1883 };
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(name, `invalid port in address "${text}"`);
  return { protocol, host: text.slice(0, colon), port };
}

function restartTimeout(name: string, value: RestartTimeout | undefined): { base: number; cap: number } {
  if (value === undefined) return { base: 5, cap: 30 };
  const t = typeof value === 'number' ? { base: value, cap: value } : value;
  if (!(t.base > 0) || !(t.cap >= t.base)) fail(name, `restartTimeout needs 0 < base <= cap, got ${JSON.stringify(value)}`);
  return { base: t.base, cap: t.cap };
}

export function resolveBridgeOptions(options: BridgeOptions): ResolvedBridgeOptions {
  const name = options.name;
  if (typeof name !== 'string' || name === '') throw new TypeError('a bridge needs a name (connection)');
  const texts = (Array.isArray(options.address) ? options.address : [options.address]).flatMap((a) => String(a).split(/[\s,]+/)).filter((a) => a !== '');
  if (texts.length === 0) fail(name, 'no address');
  const addresses = texts.map((t) => parseAddress(t, options.tls !== undefined, name));
  if (!Array.isArray(options.topics) || options.topics.length === 0) fail(name, 'no topic');
  const mappings = options.topics.map((t) => {
    try {
      return compileTopic(t);
    } catch (err) {
      fail(name, (err as Error).message);
    }
  });
  const protocolVersion = protocolVersions[String(options.protocolVersion ?? 'mqttv311')];
  if (protocolVersion === undefined) fail(name, `protocolVersion must be mqttv31, mqttv311 or mqttv50, not "${String(options.protocolVersion)}"`);
  const keepalive = options.keepalive ?? 60;
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 65535) fail(name, `keepalive must be 0..65535 seconds, got ${keepalive}`);
  if (options.remotePassword !== undefined && options.remoteUsername === undefined && protocolVersion < 5) {
    fail(name, 'remotePassword needs remoteUsername before MQTT 5 [MQTT-3.1.2-22]');
  }
  const remoteClientId = options.remoteClientId ?? `${os.hostname()}.${name}`;
  const startType = options.startType ?? 'automatic';
  if (startType !== 'automatic' && startType !== 'lazy' && startType !== 'once') fail(name, `startType must be automatic, lazy or once, not "${String(startType)}"`);
  const maxPacketSize = options.maxPacketSize ?? 0;
  if (!Number.isInteger(maxPacketSize) || maxPacketSize < 0 || maxPacketSize > 268_435_460) fail(name, `maxPacketSize must be 0 (no limit) or a number of bytes, got ${maxPacketSize}`);
  const threshold = options.threshold ?? 10;
  if (!Number.isInteger(threshold) || threshold < 1) fail(name, `threshold must be a positive number of messages, got ${threshold}`);
  const idleTimeout = options.idleTimeout ?? 60;
  if (!(idleTimeout > 0)) fail(name, `idleTimeout must be a positive number of seconds, got ${idleTimeout}`);
  const psk = options.tls?.psk;
  if (psk !== undefined && (typeof psk.identity !== 'string' || psk.identity === '' || !Buffer.isBuffer(psk.key) || psk.key.length === 0)) fail(name, 'TLS-PSK needs an identity and a key');
  if (psk !== undefined && (options.tls?.ca !== undefined || options.tls?.cert !== undefined)) fail(name, 'certificates and TLS-PSK cannot be used together');
  return {
    name,
    addresses,
    mappings,
    remoteClientId,
    remoteUsername: options.remoteUsername,
    remotePassword: options.remotePassword,
    localClientId: options.localClientId ?? `local.${remoteClientId}`,
    localUsername: options.localUsername,
    localPassword: options.localPassword,
    protocolVersion,
    cleanSession: options.cleanSession ?? false,
    keepalive,
    restartTimeout: restartTimeout(name, options.restartTimeout),
    tryPrivate: options.tryPrivate ?? true,
    notifications: options.notifications ?? true,
    notificationsLocalOnly: options.notificationsLocalOnly ?? false,
    notificationTopic: options.notificationTopic ?? `$SYS/broker/connection/${remoteClientId}/state`,
    attemptUnsubscribe: options.attemptUnsubscribe ?? true,
    outgoingRetain: options.outgoingRetain ?? true,
    roundRobin: options.roundRobin ?? false,
    tls: options.tls,
    connectTimeout: options.connectTimeout ?? 30_000,
    bindAddress: options.bindAddress,
    maxPacketSize,
    localCleanSession: options.localCleanSession ?? true,
    startType,
    threshold,
    idleTimeout,
  };
}
