// Broker options (the names follow mosquitto.conf where one exists) and their defaults.
import type { Duplex } from 'node:stream';
import type { PublishPacket, QoS } from '../codec/types';
import type { BrokerMessage } from './message';
import type { BrokerStore } from './store/types';

/** TLS settings of an `mqtts` or `wss` listener: PEM contents, not paths. */
export interface ListenerTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA certificates client certificates are verified against. */
  ca?: string | Buffer;
  passphrase?: string;
  /** A client certificate signed by `ca` is required (requestCert + rejectUnauthorized). */
  requireCertificate?: boolean;
  /** A client certificate is asked for but optional; an unverified one counts as none. */
  requestCertificate?: boolean;
  /** Certificate revocation lists (PEM): a revoked client certificate fails verification (Mosquitto's crlfile). */
  crl?: string | Buffer;
}

/** A TLS-PSK listener: the identity hint it offers (TLS 1.2 only: TLS 1.3 has none) and the key of each identity. */
export interface ListenerPskOptions {
  hint?: string;
  /** The key for a client's identity, or undefined to refuse the handshake (unknown_psk_identity). */
  key(identity: string): Buffer | undefined;
}

export type ListenerProtocol = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface ListenerOptions {
  /** 0 = any free port; `addresses()` tells the one bound. */
  port: number;
  host?: string;
  protocol?: ListenerProtocol;
  /** WebSocket path (any path when absent). */
  path?: string;
  /** Required for `mqtts` and `wss`, unless an `mqtts` listener has `psk`. */
  tls?: ListenerTlsOptions;
  /**
   * TLS-PSK in place of certificates, on an `mqtts` listener without `tls` (Mosquitto's psk_hint and
   * psk_file). With useIdentityAsUsername the client's PSK identity is its username.
   */
  psk?: ListenerPskOptions;
  /**
   * The verified client certificate's subject CN (on a PSK listener: the PSK identity) becomes the
   * username `authenticate` sees (as Mosquitto's use_identity_as_username); a client without one is
   * refused with 0x86 / 4.
   */
  useIdentityAsUsername?: boolean;
  /**
   * As useIdentityAsUsername, with the certificate's whole subject as the username, in RFC 2253 form
   * ("CN=device,O=Plant,C=GB"), as Mosquitto's use_subject_as_username.
   */
  useSubjectAsUsername?: boolean;
  /**
   * Hooks for the connections accepted on this listener, in place of the broker's (Mosquitto's
   * per_listener_settings): a hook left out here lets everything through on this listener.
   * `createSecurityHooks` builds them.
   */
  security?: ListenerSecurity;
  /**
   * A prefix (usually ending in '/') put before every topic and filter of this listener's clients on the
   * way in and taken off on the way out (Mosquitto's mount_point): they see only the topics below it.
   */
  mountPoint?: string;
}

/** The hooks a listener may have of its own. */
export type ListenerSecurity = Pick<BrokerOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeRead'>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface BrokerLogger {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
  /**
   * false: the broker does not log clients connecting, subscribing, being taken over or timing out,
   * because the logger's owner writes its own lines for them from the broker's events (the CLI, in
   * Mosquitto's words). Default true.
   */
  clientEvents?: boolean;
}

/** What hooks see of a client. */
export interface ClientHandle {
  readonly id: string;
  readonly address: string;
  readonly protocolVersion: number;
  readonly username: string | undefined;
  /** The listener the client came in on (undefined for a stream given to `handle` without one). */
  readonly listener?: ListenerOptions;
  /**
   * On a listener with useIdentityAsUsername: the verified certificate's CN, which is then the
   * username (no password is asked for), or null without a certificate (the client is refused).
   */
  readonly certificateIdentity?: string | null;
  /** A part of the broker in-process (a bridge's local session): see ConnectionInfo.internal. */
  readonly internal?: boolean;
}

/** An authentication verdict: true/false, or a reason code (0 = accepted; 5.0 codes, mapped for 3.1.1). */
export type AuthenticateResult = boolean | { reasonCode: number; reasonString?: string };

/** Enhanced authentication (5.0 AUTH exchange) step: what the client sent and what to answer. */
export interface EnhancedAuthStep {
  method: string;
  data?: Buffer;
}
export interface EnhancedAuthResult {
  /** 0x00 Success, 0x18 Continue authentication (send `data` in AUTH), or a failure code. */
  reasonCode: number;
  data?: Buffer;
  reasonString?: string;
}

export type MaybePromise<T> = T | Promise<T>;

export interface BrokerOptions {
  listeners?: ListenerOptions[];
  /** Simultaneous clients; further CONNECTs are refused (0x97 / return code 3). 0 or less = no limit. */
  maxConnections?: number;
  /**
   * Largest packet accepted from a client (fixed header included), and advertised as Maximum Packet Size
   * (5.0); a larger one is refused at its fixed header, before any of it is buffered (5.0 DISCONNECT 0x95).
   * Default DEFAULT_MAX_PACKET_SIZE (1 MiB, or messageSizeLimit plus room for topic and properties);
   * 0 = no limit but MQTT's own (268,435,460 bytes).
   */
  maxPacketSize?: number;
  /**
   * Tell 5.0 clients maxPacketSize in CONNACK (Maximum Packet Size). Default: when maxPacketSize was set,
   * as Mosquitto sends its max_packet_size; the default bound alone is then enforced without being
   * advertised, as Mosquitto 2.0's clients and its own test suite expect a CONNACK without it.
   */
  advertiseMaximumPacketSize?: boolean;
  /** Largest PUBLISH (and Will) payload accepted; larger PUBLISHes are dropped, a larger Will refused. 0 = no limit. */
  messageSizeLimit?: number;
  /** QoS 1/2 messages queued per session beyond the in-flight window; what exceeds is dropped. 0 = no limit. */
  maxQueuedMessages?: number;
  /**
   * Subscriptions one session may hold (default 100,000); more are refused (5.0 0x97 Quota exceeded,
   * 3.1.1 0x80), logged once per connection. 0 = no limit.
   */
  maxSubscriptionsPerClient?: number;
  /**
   * Deliver at the QoS of the matching subscription even above the QoS published (Mosquitto's
   * upgrade_outgoing_qos). Off by default: the specification delivers at the lower of the two [MQTT-3.8.4-8].
   */
  upgradeOutgoingQos?: boolean;
  /**
   * Before a retained message goes to a new subscription, ask authorizePublish again whether its
   * publisher (client identifier, username, listener) may still publish it (Mosquitto's
   * check_retain_source); a message its publisher may no longer write is not sent. Off by default.
   */
  checkRetainSource?: boolean;
  /**
   * Outbound QoS 1/2 window per client (bounded further by the client's Receive Maximum), and the
   * default of receiveMaximum, as Mosquitto's max_inflight_messages. 20; 0 = 65,535.
   */
  maxInflightMessages?: number;
  /**
   * Receive Maximum advertised to 5.0 clients: the QoS 1/2 PUBLISHes a client may have unacknowledged
   * towards the broker. As Mosquitto queues what comes past it, a client may have maxQueuedMessages more
   * (MQTT.js does not hold to it); one past that is DISCONNECT 0x93 [MQTT-3.3.4-7]. Default maxInflightMessages.
   */
  receiveMaximum?: number;
  /** Largest keepalive allowed; 5.0 clients asking for more get Server Keep Alive, 3.1.1 ones are refused. */
  maxKeepalive?: number;
  /** Seconds a 3.1.1 persistent session outlives its client; 0 = forever. */
  persistentClientExpiration?: number;
  allowZeroLengthClientId?: boolean;
  /** Seconds between $SYS updates; 0 = off. */
  sysInterval?: number;
  /** Milliseconds a new connection has to send CONNECT. */
  connectTimeout?: number;
  /** Topic Alias Maximum advertised to 5.0 clients (inbound aliases); 0 = none. */
  topicAliasMaximum?: number;
  /** Highest QoS accepted from clients (advertised as Maximum QoS when below 2). */
  maximumQoS?: QoS;
  retainAvailable?: boolean;
  /** Payload bytes queued per session (beside maxQueuedMessages); what exceeds is dropped. 0 = no limit. */
  maxQueuedBytes?: number;
  /** PUBLISH packets a second one client may send (token bucket, a second's burst); beyond it the client is disconnected (5.0 0x96). 0 = no limit. */
  maxPublishRate?: number;
  /** Bytes waiting in a socket beyond which the client counts as not reading (see outgoingBufferPolicy). */
  maxOutgoingBufferSize?: number;
  /** A client past maxOutgoingBufferSize: its QoS 0 messages are dropped ('drop-qos0', default), or it is disconnected. */
  outgoingBufferPolicy?: 'drop-qos0' | 'disconnect';
  tcpNoDelay?: boolean;
  /** Sent as Response Information to 5.0 clients that request it. */
  responseInformation?: string;
  store?: BrokerStore;
  logger?: BrokerLogger;
  /** Level at which protocol violations by clients are logged. */
  protocolErrorLogLevel?: LogLevel;
  authenticate?: (client: ClientHandle, username: string | undefined, password: Buffer | undefined) => MaybePromise<AuthenticateResult>;
  /** 5.0 enhanced authentication; without it an Authentication Method is refused with 0x8C. */
  enhancedAuthenticate?: (client: ClientHandle, step: EnhancedAuthStep) => MaybePromise<EnhancedAuthResult>;
  /** true/false or a reason code (0x87 Not authorized...). */
  authorizePublish?: (client: ClientHandle, packet: PublishPacket) => MaybePromise<boolean | number>;
  /** Granted QoS (0..2), a failure reason code (>= 0x80), or true (as requested) / false. */
  authorizeSubscribe?: (client: ClientHandle, subscription: { topicFilter: string; qos: QoS }) => MaybePromise<boolean | number>;
  /**
   * Synchronous: may this client receive this message? Asked for every delivery as it goes out (live,
   * retained on subscribe, from the queue); false drops it for that client (an ACL `read` rule).
   */
  authorizeRead?: (client: ClientHandle, topic: string, message: BrokerMessage) => boolean;
}

/** A transport entering the broker: `handle(stream, info)`. */
export interface ConnectionInfo {
  address?: string;
  port?: number;
  listener?: ListenerOptions;
  /** The local port the connection came in on (a listener's own port). */
  localPort?: number;
  /** Subject CN of a client certificate the TLS layer verified. */
  certificateIdentity?: string;
  /**
   * The connection is a part of the broker, not a client of it: a bridge's own session, which an
   * in-process caller of `handle()` opens. Its CONNECT is not authenticated and its publishes,
   * subscriptions and deliveries are not authorized (no hook is asked): a bridge carries what its
   * topic lines say, whatever the users and the ACL. Listeners never set it.
   */
  internal?: boolean;
}

export type ResolvedOptions = Required<
  Omit<BrokerOptions, 'store' | 'logger' | 'authenticate' | 'enhancedAuthenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeRead' | 'responseInformation'>
> &
  Pick<BrokerOptions, 'authenticate' | 'enhancedAuthenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeRead' | 'responseInformation' | 'logger'>;

export const MAX_PACKET_SIZE = 268_435_455 + 5;
/**
 * The default maxPacketSize: 1 MiB. Each connection holds at most one packet while it arrives, so this
 * bounds what a broken or hostile client can make a small gateway (a Raspberry Pi running Node-RED)
 * buffer, while sensor readings and camera snapshots fit many times over.
 */
export const DEFAULT_MAX_PACKET_SIZE = 1024 * 1024;
/** Beside messageSizeLimit's payload: the fixed header, the longest topic and 64 KiB of properties. */
const PUBLISH_OVERHEAD = 5 + 2 + 65_535 + 2 + 65_536;

function maxPacketSize(options: BrokerOptions): number {
  const v = options.maxPacketSize;
  if (v === 0) return MAX_PACKET_SIZE;
  if (v !== undefined && v > 0) return Math.min(v, MAX_PACKET_SIZE);
  // a payload limit set above the default packet size raises the packet size to fit it (Mosquitto's message_size_limit)
  const payload = options.messageSizeLimit ?? 0;
  return payload > 0 ? Math.min(MAX_PACKET_SIZE, Math.max(DEFAULT_MAX_PACKET_SIZE, payload + PUBLISH_OVERHEAD)) : DEFAULT_MAX_PACKET_SIZE;
}

/**
 * The broker's hooks when some listener has its own: each call goes to the hooks of the client's
 * listener, or to the broker's for the other listeners. Without per-listener hooks the broker's are
 * kept as they are, so nothing is paid for this.
 */
export function perListenerHooks(options: BrokerOptions): ListenerSecurity {
  const global: ListenerSecurity = {
    authenticate: options.authenticate,
    authorizePublish: options.authorizePublish,
    authorizeSubscribe: options.authorizeSubscribe,
    authorizeRead: options.authorizeRead,
  };
  if (!(options.listeners ?? []).some((l) => l.security !== undefined)) return global;
  const hooksOf = (client: ClientHandle): ListenerSecurity => client.listener?.security ?? global;
  const needed = (name: keyof ListenerSecurity): boolean => global[name] !== undefined || (options.listeners ?? []).some((l) => l.security?.[name] !== undefined);
  return {
    authenticate: needed('authenticate') ? (client, username, password) => hooksOf(client).authenticate?.(client, username, password) ?? true : undefined,
    authorizePublish: needed('authorizePublish') ? (client, packet) => hooksOf(client).authorizePublish?.(client, packet) ?? true : undefined,
    authorizeSubscribe: needed('authorizeSubscribe') ? (client, subscription) => hooksOf(client).authorizeSubscribe?.(client, subscription) ?? true : undefined,
    authorizeRead: needed('authorizeRead') ? (client, topic, message) => hooksOf(client).authorizeRead?.(client, topic, message) ?? true : undefined,
  };
}

/**
 * Subscriptions one client may hold by default. A subscription to a filter of its own costs about 1.5 KB
 * (its tree nodes and entry), so 100,000 keep a single client under some 150 MB: room for a gateway
 * that subscribes per device of a large fleet, while a runaway client is still stopped.
 */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT = 100_000;

export function resolveOptions(options: BrokerOptions): ResolvedOptions {
  const hooks = perListenerHooks(options);
  const inflight = options.maxInflightMessages === 0 ? 65535 : options.maxInflightMessages && options.maxInflightMessages > 0 ? Math.min(options.maxInflightMessages, 65535) : 20;
  return {
    listeners: options.listeners ?? [{ host: '127.0.0.1', port: 1883 }],
    maxConnections: options.maxConnections ?? 0,
    maxPacketSize: maxPacketSize(options),
    advertiseMaximumPacketSize: options.advertiseMaximumPacketSize ?? (options.maxPacketSize !== undefined && options.maxPacketSize > 0),
    messageSizeLimit: options.messageSizeLimit ?? 0,
    maxQueuedMessages: options.maxQueuedMessages ?? 1000,
    maxSubscriptionsPerClient: options.maxSubscriptionsPerClient ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CLIENT,
    upgradeOutgoingQos: options.upgradeOutgoingQos ?? false,
    checkRetainSource: options.checkRetainSource ?? false,
    maxInflightMessages: inflight,
    receiveMaximum: options.receiveMaximum && options.receiveMaximum > 0 ? Math.min(options.receiveMaximum, 65535) : inflight,
    maxKeepalive: options.maxKeepalive ?? 65535,
    persistentClientExpiration: options.persistentClientExpiration ?? 0,
    allowZeroLengthClientId: options.allowZeroLengthClientId ?? true,
    sysInterval: options.sysInterval ?? 10,
    connectTimeout: options.connectTimeout ?? 10_000,
    topicAliasMaximum: options.topicAliasMaximum ?? 10,
    maximumQoS: options.maximumQoS ?? 2,
    retainAvailable: options.retainAvailable ?? true,
    maxOutgoingBufferSize: options.maxOutgoingBufferSize ?? 16 * 1024 * 1024,
    outgoingBufferPolicy: options.outgoingBufferPolicy ?? 'drop-qos0',
    maxQueuedBytes: options.maxQueuedBytes ?? 0,
    maxPublishRate: options.maxPublishRate ?? 0,
    tcpNoDelay: options.tcpNoDelay ?? true,
    protocolErrorLogLevel: options.protocolErrorLogLevel ?? 'info',
    responseInformation: options.responseInformation,
    logger: options.logger,
    enhancedAuthenticate: options.enhancedAuthenticate,
    ...hooks,
  };
}

export type { Duplex };
