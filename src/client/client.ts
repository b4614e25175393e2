// The driver: owns the stream, the decoder, the timers and the state; hands packets and commands
// to the session (session.ts), which holds the protocol state and never touches I/O.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { PacketDecoder, ProtocolError, encode, encodedLength } from '../codec';
import type {
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  PubAckLikePacket,
  PublishPacket,
  SubscribePacket,
  UnsubscribePacket,
} from '../codec/types';
import {
  PublishOptions,
  SubscribeFilters,
  SubscribeOptions,
  UnsubscribeOptions,
  checkQos,
  checkTopicName,
  subscribeProperties,
  toPayload,
  toSubscriptions,
  toTopicFilters,
} from './arguments';
import { reconnectDelay } from './backoff';
import { Clock, Timer, systemClock } from './clock';
import { MqttError, describeReason } from './errors';
import { KeepaliveMonitor } from './keepalive';
import type { ResolvedOptions } from './options';
import { ClientSession, SubscriptionResult, UnsubscriptionResult } from './session';
import { ClientState, assertTransition } from './state';
import { transports } from './transports';
import { WriteBatch } from './write-batch';

/** Every event the client emits, with its arguments. */
export interface ClientEvents {
  connect: [connack: ConnackPacket];
  /** A new connection attempt starts after a loss. */
  reconnect: [];
  /** The stream closed (after every attempt, successful or not). */
  close: [];
  /** A connection that was up is down. */
  offline: [];
  /** Emitted only while someone listens, so an unobserved failure cannot crash the process. */
  error: [err: MqttError];
  /** `end()` finished: nothing runs any more. */
  end: [];
  message: [topic: string, payload: Buffer, packet: PublishPacket];
  /** The server sent DISCONNECT (5.0). */
  disconnect: [packet: DisconnectPacket];
  packetsend: [packet: Packet];
  packetreceive: [packet: Packet];
}

export interface EndOptions {
  /** Close the stream without DISCONNECT (the server then publishes the Will). */
  force?: boolean;
  /** 5.0 DISCONNECT reason code, default 0 (0x04 asks the server to publish the Will). */
  reasonCode?: number;
  /** 5.0: change the Session Expiry Interval on the way out (not from 0 to non-zero [MQTT-3.14.2-2]). */
  sessionExpiry?: number;
  properties?: Properties;
}

/** One shared, already resolved promise for every QoS 0 publish that went straight out. */
const settledUndefined: Promise<undefined> = Promise.resolve(undefined);

/** How long a DISCONNECTed stream may take to close before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

export class MqttClient extends EventEmitter<ClientEvents> {
  readonly options: ResolvedOptions;
  /** The client id in use; under 5.0 possibly the one the server assigned. */
  clientId: string;
  /** The latest successful CONNACK. */
  connack: ConnackPacket | undefined;
  private currentState: ClientState = 'connecting';
  private readonly clock: Clock;
  private readonly session: ClientSession;
  private readonly keepalive: KeepaliveMonitor;
  private readonly connectTimer: Timer;
  private readonly reconnectTimer: Timer;
  private readonly closeTimer: Timer;
  private stream: Duplex | undefined;
  private decoder: PacketDecoder | undefined;
  private readonly batch: WriteBatch;
  private reconnectAttempt = 0;
  private lastValidTopic: string | undefined;
  private wasConnected = false;
  private endWaiters: (() => void)[] = [];
  private readonly protocolVersion: ResolvedOptions['protocolVersion'];
  /** The options with the address of the current attempt (nextAttempt may move it). */
  private endpoint: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    super();
    this.options = options;
    this.endpoint = options;
    this.protocolVersion = options.protocolVersion;
    this.clientId = options.clientId;
    this.clock = options.clock ?? systemClock;
    this.connectTimer = new Timer(this.clock);
    this.reconnectTimer = new Timer(this.clock);
    this.closeTimer = new Timer(this.clock);
    this.batch = new WriteBatch(() => this.keepalive.packetSent());
    this.keepalive = new KeepaliveMonitor(
      this.clock,
      () => this.send({ type: 'pingreq' }),
      (waited) => this.fail(new MqttError('KEEPALIVE_TIMEOUT', `no answer to PINGREQ within ${waited} ms: connection taken for dead`), 0x8d),
    );
    const p = options.properties ?? {};
    this.session = new ClientSession(
      {
        protocolVersion: this.protocolVersion,
        queueLimit: options.queueLimit,
        resubscribe: options.resubscribe,
        autoAssignTopicAlias: options.autoAssignTopicAlias,
        receiveMaximum: p.receiveMaximum ?? 65535,
        topicAliasMaximum: p.topicAliasMaximum ?? 0,
      },
      {
        send: (packet) => this.send(packet),
        message: (packet) => this.emit('message', packet.topic, packet.payload, packet),
        error: (err) => this.emitError(err),
        protocolError: (err) => this.fail(err, err.reasonCode),
        encodedLength: (packet) => encodedLength(packet, this.protocolVersion),
        canWrite: () => this.stream?.writableNeedDrain !== true,
      },
    );
    this.open();
  }

  get state(): ClientState {
    return this.currentState;
  }

  get connected(): boolean {
    return this.currentState === 'connected';
  }

  /** Publishes and subscriptions waiting for the connection or for send quota. */
  get queueLength(): number {
    return this.session.queuedCount;
  }

  /** QoS > 0 publishes sent and not yet acknowledged. */
  get inFlightCount(): number {
    return this.session.inFlightCount;
  }

  // ---- API ----------------------------------------------------------------------------

  /**
   * Resolves when the QoS flow completes: QoS 0 once written, QoS 1 with the PUBACK, QoS 2 with
   * the PUBCOMP. Rejects with an MqttError (reasonCode set for a 5.0 rejection).
   */
  publish(topic: string, payload: string | Buffer | Uint8Array, opts: PublishOptions = {}): Promise<PubAckLikePacket | undefined> {
    let packet: PublishPacket;
    try {
      const qos = opts.qos ?? 0;
      checkQos(qos);
      const properties = this.protocolVersion === 5 ? opts.properties : undefined;
      // Most callers publish to few topics: a topic checked once needs no second look.
      const aliased = properties?.topicAlias !== undefined;
      if (aliased || this.lastValidTopic === undefined || topic !== this.lastValidTopic) {
        checkTopicName(topic, aliased);
        if (!aliased) this.lastValidTopic = topic; // '' is valid only with an alias: never cached
      }
      packet = { type: 'publish', topic, payload: toPayload(payload), qos, retain: opts.retain === true, dup: false };
      if (properties) packet.properties = properties;
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.currentState === 'disconnecting' || this.currentState === 'closed') {
      return Promise.reject(new MqttError('CLIENT_ENDED', 'the client has been ended'));
    }
    // QoS 0 with nothing queued ahead goes out now; a settled promise needs no executor.
    if (this.session.trySendQos0(packet)) return settledUndefined;
    return new Promise((resolve, reject) => this.session.publish(packet, resolve, reject));
  }

  /** Resolves with one result per filter: granted QoS or failure reason code. */
  subscribe(filters: SubscribeFilters, opts: SubscribeOptions = {}): Promise<SubscriptionResult[]> {
    return new Promise((resolve, reject) => {
      const packet: SubscribePacket = { type: 'subscribe', packetId: 0, subscriptions: toSubscriptions(filters, opts) };
      const properties = subscribeProperties(opts, this.protocolVersion);
      if (properties) packet.properties = properties;
      if (this.refuseWhenEnding(reject)) return;
      this.session.subscribe(packet, { resolve, reject });
    });
  }

  /** Resolves with one reason code per filter (5.0; 0 under 3.1.1). */
  unsubscribe(filters: string | string[], opts: UnsubscribeOptions = {}): Promise<UnsubscriptionResult[]> {
    return new Promise((resolve, reject) => {
      const packet: UnsubscribePacket = { type: 'unsubscribe', packetId: 0, topicFilters: toTopicFilters(filters) };
      if (this.protocolVersion === 5 && (opts.userProperties || opts.properties)) {
        packet.properties = { ...opts.properties };
        if (opts.userProperties) packet.properties.userProperties = opts.userProperties;
      }
      if (this.refuseWhenEnding(reject)) return;
      this.session.unsubscribe(packet, { resolve, reject });
    });
  }

  /** 5.0: start re-authentication (AUTH 0x19) with the method given at CONNECT [MQTT-4.12.1-1]. */
  reauthenticate(properties: Properties = {}): void {
    const method = this.options.properties?.authenticationMethod;
    if (this.protocolVersion !== 5 || !method) throw new MqttError('INVALID_ARGUMENT', 're-authentication needs MQTT 5 and an authenticationMethod at CONNECT');
    if (!this.connected) throw new MqttError('INVALID_ARGUMENT', 're-authentication needs a connection');
    this.send({ type: 'auth', reasonCode: 0x19, properties: { ...properties, authenticationMethod: method } });
  }

  /**
   * Sends DISCONNECT (unless `force`) and resolves once the stream is closed and every timer
   * cleared. Whatever is still pending is rejected with CLIENT_ENDED.
   */
  end(opts: EndOptions = {}): Promise<void> {
    if (opts.sessionExpiry !== undefined && !this.options.properties?.sessionExpiryInterval && opts.sessionExpiry > 0) {
      return Promise.reject(new MqttError('INVALID_ARGUMENT', 'session expiry cannot go from 0 at CONNECT to non-zero at DISCONNECT [MQTT-3.14.2-2]'));
    }
    return new Promise((resolve) => {
      if (this.currentState === 'closed') {
        resolve();
        return;
      }
      this.endWaiters.push(resolve);
      if (this.currentState === 'disconnecting') return;
      this.reconnectTimer.clear();
      const stream = this.stream;
      if (!stream) {
        this.finish();
        return;
      }
      const wasConnected = this.currentState === 'connected';
      this.setState('disconnecting');
      this.keepalive.stop();
      this.connectTimer.clear();
      if (wasConnected && !opts.force) {
        const disconnect: DisconnectPacket = { type: 'disconnect' };
        if (this.protocolVersion === 5) {
          disconnect.reasonCode = opts.reasonCode ?? 0;
          const properties: Properties = { ...opts.properties };
          if (opts.sessionExpiry !== undefined) properties.sessionExpiryInterval = opts.sessionExpiry;
          if (Object.keys(properties).length > 0) disconnect.properties = properties;
        }
        this.send(disconnect);
        this.batch.flush();
        // [MQTT-3.14.4-1]: after DISCONNECT the client sends nothing more and closes.
        stream.end();
        this.closeTimer.set(CLOSE_GRACE_MS, () => stream.destroy());
      } else {
        stream.destroy();
      }
    });
  }

  // ---- connection -------------------------------------------------------------------------

  private setState(next: ClientState): void {
    if (next === this.currentState) return;
    assertTransition(this.currentState, next);
    this.currentState = next;
  }

  private emitError(err: MqttError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private refuseWhenEnding(reject: (err: Error) => void): boolean {
    if (this.currentState !== 'disconnecting' && this.currentState !== 'closed') return false;
    reject(new MqttError('CLIENT_ENDED', 'the client has been ended'));
    return true;
  }

  private open(): void {
    this.setState('connecting');
    const o = this.endpoint;
    let stream: Duplex;
    try {
      stream = transports[o.protocol](o);
    } catch (err) {
      // Options the transport refuses at once (a malformed key, say).
      const error = new MqttError('TRANSPORT_ERROR', `${o.protocol}://${o.host}:${o.port}: ${(err as Error).message}`, undefined, { cause: err });
      if (this.reconnectAttempt === 0 && !this.wasConnected) throw error; // first attempt: to the caller of connect()
      this.emitError(error);
      this.settleAfterClose(false); // after the 'error' listeners: one of them may have ended the client
      return;
    }
    const decoder = new PacketDecoder({ protocolVersion: this.protocolVersion });
    if (o.properties?.maximumPacketSize) decoder.maximumPacketSize = o.properties.maximumPacketSize;
    this.stream = stream;
    this.decoder = decoder;
    stream.on('data', (chunk: Buffer) => {
      if (stream === this.stream) this.onData(chunk);
    });
    stream.on('error', (err: Error) => {
      if (stream !== this.stream) return;
      this.emitError(new MqttError('TRANSPORT_ERROR', `${o.protocol}://${o.host}:${o.port}: ${err.message}`, undefined, { cause: err }));
    });
    stream.on('drain', () => {
      if (stream === this.stream) this.session.resume();
    });
    stream.on('close', () => {
      if (stream === this.stream) this.onClose();
    });
    if (o.connectTimeout > 0) {
      this.connectTimer.set(o.connectTimeout, () =>
        this.fail(new MqttError('CONNECT_TIMEOUT', `no CONNACK within ${o.connectTimeout} ms`)),
      );
    }
    // CONNECT waits for the next tick, so listeners attached right after connect() see it
    // ('packetsend' included); the stream is opened now, so bad transport options still throw.
    process.nextTick(() => {
      if (stream === this.stream && this.currentState === 'connecting') this.send(this.connectPacket());
    });
  }

  private connectPacket(): ConnectPacket {
    const o = this.options;
    const packet: ConnectPacket = {
      type: 'connect',
      protocolName: this.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: this.protocolVersion,
      clean: o.clean,
      keepalive: o.keepalive,
      clientId: this.clientId,
    };
    if (o.bridge === true && this.protocolVersion !== 5) packet.bridge = true;
    if (o.username !== undefined) packet.username = o.username;
    if (o.password !== undefined) packet.password = Buffer.isBuffer(o.password) ? o.password : Buffer.from(o.password, 'utf8');
    if (o.will) {
      packet.will = { topic: o.will.topic, payload: toPayload(o.will.payload), qos: o.will.qos ?? 0, retain: o.will.retain === true };
      if (this.protocolVersion === 5 && o.will.properties) packet.will.properties = o.will.properties;
    }
    if (this.protocolVersion === 5 && o.properties) packet.properties = o.properties;
    return packet;
  }

  private onData(chunk: Buffer): void {
    const decoder = this.decoder as PacketDecoder;
    decoder.push(chunk);
    for (;;) {
      const packet = decoder.next();
      if (packet === null) return;
      if (packet instanceof ProtocolError) {
        this.fail(new MqttError('PROTOCOL_ERROR', `from the server: ${packet.message}`, packet.reasonCode), packet.reasonCode);
        return;
      }
      this.onPacket(packet);
      if (decoder !== this.decoder) return; // the packet ended this connection
    }
  }

  private onPacket(packet: Packet): void {
    this.keepalive.packetReceived();
    if (this.listenerCount('packetreceive') > 0) this.emit('packetreceive', packet);
    if (this.currentState === 'disconnecting') return;
    switch (packet.type) {
      case 'connack':
        return this.onConnack(packet);
      case 'auth':
        return this.onAuth(packet);
      case 'disconnect':
        return this.onServerDisconnect(packet);
      case 'pingresp':
        return;
      case 'connect':
      case 'subscribe':
      case 'unsubscribe':
      case 'pingreq':
        return this.fail(new MqttError('PROTOCOL_ERROR', `server sent ${packet.type.toUpperCase()}, which only clients send`, 0x82), 0x82);
      default:
        if (this.currentState !== 'connected') {
          // [MQTT-3.2.0-1]: CONNACK comes first.
          return this.fail(new MqttError('PROTOCOL_ERROR', `server sent ${packet.type.toUpperCase()} before CONNACK`, 0x82), 0x82);
        }
        return this.session.handle(packet);
    }
  }

  private onConnack(connack: ConnackPacket): void {
    if (this.currentState !== 'connecting') {
      return this.fail(new MqttError('PROTOCOL_ERROR', 'second CONNACK on one connection', 0x82), 0x82);
    }
    this.connectTimer.clear();
    if (connack.reasonCode !== 0) {
      const err = new MqttError('CONNACK_REFUSED', `connection refused: ${describeReason(connack.reasonCode, this.protocolVersion, true)}${connack.properties?.reasonString ? ` - ${connack.properties.reasonString}` : ''}`, connack.reasonCode);
      this.emitError(err);
      this.stream?.destroy();
      return;
    }
    const p = connack.properties ?? {};
    // [MQTT-3.2.2-16]: an empty client id gets the one the server assigned, kept for reconnects.
    if (p.assignedClientIdentifier) this.clientId = p.assignedClientIdentifier;
    this.connack = connack;
    // [MQTT-3.2.2-21]: the server's Keep Alive replaces ours.
    const keepaliveSeconds = p.serverKeepAlive ?? this.options.keepalive;
    const pingTimeout = this.options.pingTimeout || Math.min(keepaliveSeconds * 1000, 30000);
    this.keepalive.start(keepaliveSeconds, pingTimeout);
    this.setState('connected');
    this.reconnectAttempt = 0;
    this.wasConnected = true;
    this.session.onConnack(connack);
    // A 'packetsend' listener may have ended the client while the session flushed.
    if (this.connected) this.emit('connect', connack);
  }

  private onAuth(packet: AuthPacket): void {
    const hook = this.options.authenticate;
    const method = this.options.properties?.authenticationMethod;
    if (this.protocolVersion !== 5 || !method) {
      return this.fail(new MqttError('PROTOCOL_ERROR', 'server sent AUTH without an authentication method at CONNECT', 0x82), 0x82);
    }
    if ((packet.reasonCode ?? 0) === 0) return; // re-authentication succeeded
    if (!hook) {
      return this.fail(new MqttError('AUTH_FAILED', 'server asks to continue authentication but no authenticate hook is set', 0x8c), 0x8c);
    }
    const stream = this.stream;
    hook(packet).then(
      (answer) => {
        if (stream !== this.stream || this.currentState === 'disconnecting') return;
        this.send({
          type: 'auth',
          reasonCode: answer.reasonCode ?? 0x18,
          properties: { authenticationMethod: method, ...answer.properties },
        });
      },
      (err: unknown) => {
        if (stream !== this.stream) return;
        this.fail(new MqttError('AUTH_FAILED', `authenticate hook failed: ${(err as Error)?.message ?? String(err)}`, 0x87, { cause: err }), 0x87);
      },
    );
  }

  private onServerDisconnect(packet: DisconnectPacket): void {
    this.emit('disconnect', packet);
    const reason = packet.reasonCode ?? 0;
    if (reason >= 0x80) {
      this.emitError(new MqttError('SERVER_DISCONNECT', `server disconnected: ${describeReason(reason, 5)}${packet.properties?.reasonString ? ` - ${packet.properties.reasonString}` : ''}`, reason));
    }
    // Nothing follows a DISCONNECT on this connection (5.0 section 3.14.4): close our side too.
    this.stream?.destroy();
  }

  /** Ends the current connection because of `err`; under 5.0 tells the server why first. */
  private fail(err: MqttError, disconnectReason?: number): void {
    const stream = this.stream;
    if (!stream) return;
    this.emitError(err);
    if (this.protocolVersion === 5 && disconnectReason !== undefined && disconnectReason >= 0x80 && this.currentState === 'connected') {
      this.send({ type: 'disconnect', reasonCode: disconnectReason });
      this.batch.flush();
    }
    stream.destroy();
  }

  private onClose(): void {
    this.stream = undefined;
    this.decoder = undefined;
    this.keepalive.stop();
    this.connectTimer.clear();
    this.closeTimer.clear();
    this.session.disconnected();
    this.settleAfterClose(this.currentState === 'connected');
  }

  /** After a stream is gone: finish an end(), wait to reconnect, or close for good. */
  private settleAfterClose(wasUp: boolean): void {
    // An 'error' listener called end() while no stream was open: the client is already finished.
    if (this.currentState === 'closed') return;
    // The state is settled before the events, so a listener may call end() from any of them.
    if (this.currentState === 'disconnecting') {
      this.emitClosed(wasUp);
      this.finish();
      return;
    }
    const next = this.options.nextAttempt?.(this.reconnectAttempt);
    if (next !== undefined || (this.options.nextAttempt === undefined && this.options.reconnectPeriod > 0)) {
      this.setState('reconnecting');
      let delay: number;
      if (next !== undefined) {
        this.reconnectAttempt++;
        delay = next.delay;
        const e = { ...this.endpoint };
        if (next.protocol !== undefined) e.protocol = next.protocol;
        if (next.host !== undefined) e.host = next.host;
        if (next.port !== undefined) e.port = next.port;
        if (next.path !== undefined) e.path = next.path;
        this.endpoint = e;
      } else {
        delay = reconnectDelay(this.reconnectAttempt++, this.options.reconnectPeriod, this.options.reconnectPeriodMax, this.options.random);
      }
      this.reconnectTimer.set(delay, () => {
        this.emit('reconnect');
        if (this.currentState === 'reconnecting') this.open();
      });
      this.emitClosed(wasUp);
      return;
    }
    this.setState('closed');
    this.session.failAll(new MqttError('SESSION_LOST', this.wasConnected ? 'connection lost and reconnecting is off' : 'could not connect and reconnecting is off'));
    this.emitClosed(wasUp);
  }

  private emitClosed(wasUp: boolean): void {
    this.emit('close');
    if (wasUp) this.emit('offline');
  }

  private finish(): void {
    this.setState('closed');
    this.reconnectTimer.clear();
    this.closeTimer.clear();
    this.keepalive.stop();
    this.connectTimer.clear();
    this.session.failAll(new MqttError('CLIENT_ENDED', 'the client has been ended'));
    const waiters = this.endWaiters;
    this.endWaiters = [];
    this.emit('end');
    for (const w of waiters) w();
  }

  // ---- writing ----------------------------------------------------------------------------

  /** Encodes and hands the bytes to the batch that leaves at the end of this tick. */
  private send(packet: Packet): void {
    const stream = this.stream;
    if (!stream || stream.destroyed) return;
    // [MQTT-3.14.4-1]: nothing after DISCONNECT (e.g. a publish from a listener that called end()).
    if (this.currentState === 'disconnecting' && packet.type !== 'disconnect') return;
    this.batch.push(stream, encode(packet, this.protocolVersion));
    // Queued before the listeners run: a listener that calls end() puts its DISCONNECT behind it.
    if (this.listenerCount('packetsend') > 0) this.emit('packetsend', packet);
  }
}
