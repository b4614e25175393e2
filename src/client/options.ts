// Client options: what the caller may set, the defaults, and the one place that merges a URL
// with an options object into the resolved settings the client runs on.
import type { ConnectionOptions } from 'node:tls';
import type { ClientOptions as WebSocketClientOptions } from 'ws';
import type { AuthPacket, Properties, ProtocolVersion, QoS } from '../codec/types';
import type { Clock } from './clock';
import { MqttError } from './errors';

export type Scheme = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface WillOptions {
  topic: string;
  payload: string | Buffer | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  /** 5.0 Will Properties: willDelayInterval, messageExpiryInterval, contentType, userProperties... */
  properties?: Properties;
}

/** What the enhanced-authentication hook answers to an AUTH packet from the server. */
export interface AuthResponse {
  /** 0x18 Continue authentication (the default) or 0x00 Success. */
  reasonCode?: number;
  /** authenticationMethod is filled in from the CONNECT when left out. */
  properties?: Properties;
}

/** Called for every AUTH packet the server sends (5.0 enhanced authentication, section 4.12). */
export type AuthenticateHook = (auth: AuthPacket) => Promise<AuthResponse>;

export interface ClientOptions {
  /** Transport; taken from the URL scheme when a URL is given. Default 'mqtt'. */
  protocol?: Scheme;
  host?: string;
  /** Default 1883 (mqtt), 8883 (mqtts), 80 (ws), 443 (wss). */
  port?: number;
  /** WebSocket path, default '/mqtt'. */
  path?: string;

  /** 3 = MQTT 3.1, 4 = 3.1.1 (default), 5 = 5.0. */
  protocolVersion?: ProtocolVersion;
  /**
   * Default `mqtthub_` + 8 hex digits. Under 5.0 an explicit '' is sent as is and the server's
   * Assigned Client Identifier is adopted.
   */
  clientId?: string;
  /** Clean Session (3.1.1) / Clean Start (5.0). Default true. */
  clean?: boolean;
  /**
   * Mosquitto's bridge bit: the protocol level is sent as level | 0x80 on levels 3 and 4, so a broker
   * that knows it does not send back to a bridge what the bridge published (try_private). Ignored for 5.0,
   * which has No Local instead.
   */
  bridge?: boolean;
  /** Seconds, 0 = off. Default 60. */
  keepalive?: number;
  /** Milliseconds to wait for PINGRESP before the link is taken for dead. Default: one keepalive period, at most 30 s. */
  pingTimeout?: number;
  username?: string;
  password?: string | Buffer;
  will?: WillOptions;
  /**
   * 5.0 CONNECT properties: sessionExpiryInterval, receiveMaximum, maximumPacketSize,
   * topicAliasMaximum, requestResponseInformation, requestProblemInformation, userProperties,
   * authenticationMethod, authenticationData.
   */
  properties?: Properties;
  /** 5.0 enhanced authentication: answers AUTH packets from the server. */
  authenticate?: AuthenticateHook;

  /** Milliseconds from opening the transport to CONNACK. Default 30000. */
  connectTimeout?: number;
  /** Base of the exponential reconnect backoff in ms; 0 turns reconnecting off. Default 1000. */
  reconnectPeriod?: number;
  /** Upper bound of the backoff in ms. Default 30000. */
  reconnectPeriodMax?: number;
  /** Subscribe again to what the caller subscribed when the server kept no session. Default true. */
  resubscribe?: boolean;
  /** Publishes (and subscribes) held while disconnected; more are rejected. Default 1000. */
  queueLimit?: number;
  /** 5.0: give topics aliases on the way out when the server allows them. Default false. */
  autoAssignTopicAlias?: boolean;

  /** TLS (mqtts, wss). */
  ca?: ConnectionOptions['ca'];
  cert?: ConnectionOptions['cert'];
  key?: ConnectionOptions['key'];
  passphrase?: string;
  /** PKCS#12 key and certificate chain, instead of `key` and `cert`. */
  pfx?: ConnectionOptions['pfx'];
  /** Certificate revocation lists. */
  crl?: ConnectionOptions['crl'];
  /** SNI name; default the host when it is a name. */
  servername?: string;
  /** Default true: a certificate that does not verify fails the connection. */
  rejectUnauthorized?: boolean;
  /**
   * Replaces Node's check that the certificate names the host (or `servername`): return an Error
   * to refuse. The chain is still verified against `ca` unless `rejectUnauthorized` is false.
   */
  checkServerIdentity?: ConnectionOptions['checkServerIdentity'];
  /** Lowest and highest TLS version to negotiate, e.g. 'TLSv1.2', 'TLSv1.3'. */
  minVersion?: ConnectionOptions['minVersion'];
  maxVersion?: ConnectionOptions['maxVersion'];
  /** OpenSSL cipher list (TLS 1.2 and below), signature algorithms, ECDH curves. */
  ciphers?: string;
  sigalgs?: string;
  ecdhCurve?: string;
  ALPNProtocols?: string[];

  /**
   * TLS-PSK instead of certificates (TLS 1.2 and below, which is then the highest version offered):
   * the identity and the key shared with the server. Without `ciphers`, the PSK cipher suites are offered.
   */
  psk?: { identity: string; key: Buffer };

  /** Local address the socket binds to before connecting: the interface the connection leaves by. */
  localAddress?: string;
  /**
   * Decides every reconnection in place of reconnectPeriod's backoff (a bridge walking its
   * addresses): called once a connection is lost or an attempt failed, with the number of failed
   * attempts since the last connection; undefined ends the client as reconnectPeriod 0 would. The
   * session (packet ids, in-flight QoS 1/2 messages) carries over to the next connection.
   */
  nextAttempt?: (failedAttempts: number) => NextAttempt | undefined;

  /** Extra options for the `ws` WebSocket (headers, agent...). */
  wsOptions?: WebSocketClientOptions;

  /** Time source and timers; tests may pass a fake one. */
  clock?: Clock;
  /** Random source for client ids and backoff jitter, in [0, 1). */
  random?: () => number;
}

/** When and where the next connection attempt goes (`nextAttempt`); the address parts left out stay. */
export interface NextAttempt {
  /** Milliseconds before the attempt. */
  delay: number;
  protocol?: Scheme;
  host?: string;
  port?: number;
  path?: string;
}

/** Options after defaults: what the client runs on. */
export interface ResolvedOptions extends ClientOptions {
  protocol: Scheme;
  host: string;
  port: number;
  path: string;
  protocolVersion: ProtocolVersion;
  clientId: string;
  clean: boolean;
  keepalive: number;
  pingTimeout: number;
  connectTimeout: number;
  reconnectPeriod: number;
  reconnectPeriodMax: number;
  resubscribe: boolean;
  queueLimit: number;
  autoAssignTopicAlias: boolean;
  rejectUnauthorized: boolean;
}

const defaultPorts: Record<Scheme, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

function isScheme(s: string): s is Scheme {
  return s in defaultPorts;
}

export function generateClientId(random: () => number = Math.random): string {
  let id = 'mqtthub_';
  for (let i = 0; i < 8; i++) id += Math.floor(random() * 16).toString(16);
  return id;
}

function fail(message: string): never {
  throw new MqttError('INVALID_ARGUMENT', message);
}

function nonNegativeInteger(name: string, v: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < 0 || v > max) fail(`${name} must be an integer from 0 to ${max}, got ${v}`);
  return v;
}

/** Merges a URL (scheme, host, port, path, user:password) with options; options win. */
export function resolveOptions(urlOrOptions: string | URL | ClientOptions, extra: ClientOptions = {}): ResolvedOptions {
  let fromUrl: ClientOptions = {};
  let opts: ClientOptions;
  if (typeof urlOrOptions === 'string' || urlOrOptions instanceof URL) {
    const url = typeof urlOrOptions === 'string' ? new URL(urlOrOptions) : urlOrOptions;
    const scheme = url.protocol.replace(/:$/, '');
    if (!isScheme(scheme)) fail(`unsupported URL scheme '${scheme}:' (use mqtt:, mqtts:, ws: or wss:)`);
    fromUrl = { protocol: scheme, host: url.hostname.replace(/^\[|\]$/g, '') };
    if (url.port) fromUrl.port = Number(url.port);
    if (url.pathname && url.pathname !== '/') fromUrl.path = url.pathname + url.search;
    if (url.username) fromUrl.username = decodeURIComponent(url.username);
    if (url.password) fromUrl.password = decodeURIComponent(url.password);
    opts = { ...fromUrl, ...extra };
  } else {
    opts = { ...urlOrOptions, ...extra };
  }

  const protocol = opts.protocol ?? 'mqtt';
  if (!isScheme(protocol)) fail(`unsupported protocol '${String(protocol)}'`);
  const protocolVersion = opts.protocolVersion ?? 4;
  if (protocolVersion !== 3 && protocolVersion !== 4 && protocolVersion !== 5) {
    fail(`protocolVersion must be 3, 4 or 5, got ${String(protocolVersion)}`);
  }
  const keepalive = nonNegativeInteger('keepalive', opts.keepalive ?? 60, 65535);
  let clientId = opts.clientId ?? '';
  // 5.0 lets the server assign an id to an empty one [MQTT-3.1.3-6]; older levels get one of ours.
  if (clientId === '' && !(protocolVersion === 5 && opts.clientId === '')) clientId = generateClientId(opts.random);
  if (opts.will) {
    if (typeof opts.will.topic !== 'string' || opts.will.topic === '' || /[#+]/.test(opts.will.topic)) {
      fail(`will topic '${opts.will.topic}' is not a valid topic name`);
    }
  }
  if (opts.password !== undefined && opts.username === undefined && protocolVersion < 5) {
    fail('a password needs a username before MQTT 5 [MQTT-3.1.2-22]');
  }
  const reconnectPeriod = nonNegativeInteger('reconnectPeriod', opts.reconnectPeriod ?? 1000);
  return {
    ...opts,
    protocol,
    host: opts.host ?? 'localhost',
    port: nonNegativeInteger('port', opts.port ?? defaultPorts[protocol], 65535),
    path: opts.path ?? '/mqtt',
    protocolVersion,
    clientId,
    clean: opts.clean ?? true,
    keepalive,
    // 0: derived from the keepalive in force (the server's Keep Alive may replace ours).
    pingTimeout: nonNegativeInteger('pingTimeout', opts.pingTimeout ?? 0),
    connectTimeout: nonNegativeInteger('connectTimeout', opts.connectTimeout ?? 30000),
    reconnectPeriod,
    reconnectPeriodMax: Math.max(reconnectPeriod, nonNegativeInteger('reconnectPeriodMax', opts.reconnectPeriodMax ?? 30000)),
    resubscribe: opts.resubscribe ?? true,
    queueLimit: nonNegativeInteger('queueLimit', opts.queueLimit ?? 1000),
    autoAssignTopicAlias: opts.autoAssignTopicAlias ?? false,
    rejectUnauthorized: opts.rejectUnauthorized ?? true,
  };
}
