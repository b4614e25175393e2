// One client connection: the driver between a duplex stream and the protocol logic. It decodes
// packets, hands each to the dispatch, writes what the handlers and the session send (gathered per
// tick and written as a few large buffers); CONNECT deadlines and keep alive are checked by shared timers.
import type { Duplex } from 'node:stream';
import {
  PacketDecoder, ProtocolError, PublishEncoding, encode, encodedLength,
  type Packet, type ProtocolVersion, type PublishPacket, type PublishRecipient, type WillMessage,
} from '../codec';
import { publishRemainingLength, writePublishAt } from '../codec/publish-encoding';
import type { BrokerCore } from './core';
import { dispatch } from './dispatch';
import type { ClientInfo } from './events';
import { type BrokerMessage, remainingExpiry } from './message';
import { MAX_PACKET_SIZE, type ClientHandle, type ConnectionInfo, type ListenerOptions } from './options';
import type { Delivery, Session, SessionOutlet } from './session';
import { ConnectionState, assertTransition } from './connection-state';
import { TokenBucket, disconnectSlowClient } from './limits';
import { connackReturnCode } from './connack-return-code';
import { fitConnack } from './connack-fit';
import { listenTo } from './connection-stream';
import { unmountMessage } from './mount-point';
import { COPY_PAYLOAD_LIMIT, PacketWriter, SLAB_PACKET_LIMIT } from './packet-writer';
import type { PendingConnect } from './handlers/connect';

/** Packets other than PUBLISH, CONNACK and DISCONNECT lose their Reason String when the client asked for no problem information [MQTT-3.1.2-29]. */
const PROBLEM_INFORMATION_ALWAYS = new Set(['publish', 'connack', 'disconnect']);

/** A message with what sending it cached on it; a store keeps none of this (messageFields). */
interface EncodedMessage extends BrokerMessage {
  encoding?: PublishEncoding;
  /** Set once the message went out plainly encoded to a first recipient. */
  sentOnce?: boolean;
}

export class Connection extends PacketWriter implements SessionOutlet, ClientHandle {
  state = ConnectionState.AwaitingConnect;
  id = '';
  username: string | undefined;
  readonly address: string;
  /** Set on a listener with useIdentityAsUsername: the verified certificate CN, or null without one. */
  readonly certificateIdentity: string | null | undefined;
  /** The listener the client came in on: its own security hooks apply, if it has any. */
  readonly listener: ListenerOptions | undefined;
  /** A part of the broker (ConnectionInfo.internal): no authentication, no authorization. */
  readonly internal: boolean;
  protocolVersion: ProtocolVersion = 4;
  /**
   * Another broker's bridge under 3.1/3.1.1: its CONNECT had the bridge bit in the protocol level
   * (Mosquitto's try_private, 0x80 | 3 or 4). It is authenticated as any client.
   */
  remoteBridge = false;
  keepalive = 0;
  session: Session | null = null;
  will: WillMessage | undefined;
  connectedSince = 0;
  /** When the stream came, for the CONNECT deadline. */
  readonly openedAt = Date.now();
  bytesIn = 0;
  /** 5.0 limits the client declared in CONNECT. */
  clientMaximumPacketSize = Infinity;
  clientTopicAliasMaximum = 0;
  requestProblemInformation = true;
  /** Authentication Method of CONNECT (5.0 enhanced authentication), for AUTH. */
  authenticationMethod: string | undefined;
  /** The password of a login by `authenticate` (not enhanced authentication), to check it again on a reload. */
  login: { password: Buffer | undefined } | undefined;
  /** A CONNECT waiting for the enhanced authentication exchange to finish. */
  pendingConnect: PendingConnect | undefined;
  /** Topic aliases the client set on its PUBLISHes (5.0 section 3.3.2.3.4). */
  inboundAliases: Map<number, string> | null = null;
  /** Topic aliases we assigned towards the client. */
  private outboundAliases: Map<string, number> | null = null;
  readonly decoder: PacketDecoder;
  /** maxPublishRate; null without a limit. */
  readonly publishBucket: TokenBucket | null;
  private paused = false;
  private lastActivity = Date.now();
  /** Acknowledgements waiting for store writes, chained to keep their order. */
  private ackChain: Promise<void> | undefined;
  /** PUBACKs among them: QoS 1 PUBLISHes that count against our Receive Maximum until sent. */
  pubacksPending = 0;
  /** Per-recipient fields of the PUBLISH being sent, reused; created with the first one. */
  private recipient: PublishRecipient | null = null;

  constructor(
    readonly core: BrokerCore,
    stream: Duplex,
    info: ConnectionInfo,
  ) {
    super(stream, core.stats);
    this.address = info.address !== undefined ? (info.port !== undefined ? `${info.address}:${info.port}` : info.address) : 'unknown';
    const fromCertificate = info.listener?.useIdentityAsUsername === true || info.listener?.useSubjectAsUsername === true;
    this.certificateIdentity = fromCertificate ? (info.certificateIdentity ?? null) : undefined;
    this.listener = info.listener;
    this.internal = info.internal === true;
    this.publishBucket = core.options.maxPublishRate > 0 ? new TokenBucket(core.options.maxPublishRate, Date.now()) : null;
    // maxPacketSize guards against clients; a bridge's own session carries what its remote broker allowed
    this.decoder = new PacketDecoder({ maximumPacketSize: this.internal ? MAX_PACKET_SIZE : core.options.maxPacketSize, server: true });
    listenTo(stream, this);
    core.connectDeadlines.add(this);
  }

  label(): string {
    return this.id !== '' ? `${this.id} (${this.address})` : this.address;
  }

  setState(next: ConnectionState): void {
    assertTransition(this.state, next);
    this.state = next;
  }

  info(): ClientInfo {
    const session = this.session;
    return {
      id: this.id,
      address: this.address,
      protocolVersion: this.protocolVersion,
      connectedSince: this.connectedSince,
      keepalive: this.keepalive,
      username: this.username,
      subscriptions: session?.subscriptionCount ?? 0,
      inflight: session?.inflight.size ?? 0,
      queued: session?.queued ?? 0,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }

  // ---- input ----

  onData(chunk: Buffer): void {
    if (this.state === ConnectionState.Closed) return;
    this.bytesIn += chunk.length;
    this.core.stats.bytesReceived += chunk.length;
    this.decoder.push(chunk);
    this.processPackets();
  }

  private processPackets(): void {
    const core = this.core;
    while (!this.paused && this.state !== ConnectionState.Closed) {
      if (this.unsentBytes() > core.options.maxOutgoingBufferSize) {
        // the client does not read what we send (acknowledgements included): stop reading from it
        // until it does, so its traffic cannot grow our buffer without bound
        this.paused = true;
        this.stream.pause();
        this.stream.once('drain', () => {
          this.paused = false;
          this.stream.resume();
          this.processPackets();
        });
        return;
      }
      const packet = this.decoder.next();
      if (packet === null) return;
      if (packet instanceof ProtocolError) {
        this.protocolViolation(packet);
        return;
      }
      // only a whole Control Packet counts for keepalive: bytes dribbled into an unfinished one do not [MQTT-3.1.2-24]
      this.lastActivity = Date.now();
      core.stats.messagesReceived++;
      if (core.listenerCount('packetIn') > 0) core.emit('packetIn', packet, this.id || undefined);
      let pending: Promise<void> | void;
      try {
        pending = dispatch(this, packet);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (pending !== undefined) this.waitFor(pending);
    }
  }

  /** Stops reading packets until an asynchronous step (a hook) completes, so order is kept. */
  private waitFor(pending: Promise<void>): void {
    // nor read from the stream meanwhile: what the client sends waits in the socket, not in the decoder,
    // so a client cannot make us buffer past maxPacketSize while a hook or a store write runs
    this.paused = true;
    this.stream.pause();
    pending.then(
      () => {
        this.paused = false;
        this.stream.resume();
        this.processPackets();
      },
      (err: unknown) => {
        this.paused = false;
        this.stream.resume();
        this.fail(err);
      },
    );
  }

  /** Maps any error from a handler to a reason code, in one place. */
  fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.protocolViolation(err);
      return;
    }
    this.core.log.error(`client ${this.label()}: ${(err as Error)?.stack ?? String(err)}`);
    this.protocolViolation(new ProtocolError(0x83, 'implementation specific error'));
  }

  /**
   * A protocol violation closes only this connection: a CONNECT answered with CONNACK and the reason
   * code, later packets with DISCONNECT (5.0) [MQTT-4.13.1-1]; the Will is published [MQTT-3.1.2-8].
   */
  protocolViolation(err: ProtocolError): void {
    if (this.state === ConnectionState.Closed) return;
    if (err.reasonCode === 0x95) this.core.limits.hit('packets/refused/too-large', () => `client ${this.label()} sent a packet beyond maxPacketSize`);
    this.core.log.at(this.core.options.protocolErrorLogLevel, `client ${this.label()} protocol error 0x${err.reasonCode.toString(16)}: ${err.message}`);
    if (this.state === ConnectionState.AwaitingConnect || this.state === ConnectionState.Authenticating) {
      const version = err.protocolVersion ?? this.decoder.protocolVersion;
      this.refuseConnect(err.reasonCode, version, err.message);
      return;
    }
    this.close('protocol-error', err.reasonCode, err.message);
  }

  /** CONNACK with a failure code, then close [MQTT-3.2.2-6]. 3.1.1 has return codes for a few reasons only. */
  refuseConnect(reasonCode: number, version: ProtocolVersion, reasonString?: string): void {
    if (version === 5) {
      this.protocolVersion = 5;
      const connack = fitConnack(
        { type: 'connack', sessionPresent: false, reasonCode, properties: reasonString !== undefined && this.requestProblemInformation ? { reasonString } : undefined },
        this.clientMaximumPacketSize,
      );
      if (connack !== null) this.send(connack); // else not even 5 bytes may be sent [MQTT-3.1.2-24]
    } else {
      const returnCode = connackReturnCode(reasonCode);
      if (returnCode !== undefined) {
        this.protocolVersion = version;
        this.send({ type: 'connack', sessionPresent: false, reasonCode: returnCode });
      }
    }
    this.close('refused');
  }

  // ---- output ----

  /** Encodes and writes one packet; writes within a tick go out together (see flush). */
  send(packet: Packet): void {
    if (this.state === ConnectionState.Closed) return;
    if (this.protocolVersion === 5 && packet.type !== 'publish' && 'properties' in packet && packet.properties !== undefined) {
      const props = packet.properties;
      if (props.reasonString !== undefined || props.userProperties !== undefined) {
        // [MQTT-3.1.2-29] no problem information unless asked; [MQTT-3.1.2-25] never beyond the client's maximum
        if (
          (!this.requestProblemInformation && !PROBLEM_INFORMATION_ALWAYS.has(packet.type)) ||
          encodedLength(packet, 5) > this.clientMaximumPacketSize
        ) {
          const { reasonString, userProperties, ...rest } = props;
          void reasonString;
          void userProperties;
          packet.properties = Object.keys(rest).length > 0 ? rest : undefined;
        }
      }
    }
    if (this.core.listenerCount('packetOut') > 0) this.core.emit('packetOut', packet, this.id || undefined);
    this.write(encode(packet, this.protocolVersion));
  }

  /**
   * Sends an acknowledgement once `after` (store writes) resolved, in the order the PUBLISHes came
   * [MQTT-4.6.0-2], [MQTT-4.6.0-3]. Without writes pending it goes at once: the default path stays
   * synchronous. A failed write closes the connection unacknowledged, so the client sends it again.
   */
  acknowledge(after: Promise<unknown> | undefined, packet: Packet): boolean {
    if (after === undefined && this.ackChain === undefined) {
      this.send(packet);
      return true;
    }
    const puback = packet.type === 'puback';
    if (puback) this.pubacksPending++;
    const chain: Promise<void> = (this.ackChain ?? Promise.resolve())
      .then(() => after)
      .then(
        () => {
          if (puback) this.pubacksPending--;
          this.send(packet);
          if (this.ackChain === chain) this.ackChain = undefined;
        },
        (err: Error) => {
          if (puback) this.pubacksPending--;
          this.core.log.error(`client ${this.label()}: store write failed, not acknowledging: ${err.message}`);
          this.close('store-error', 0x80);
          if (this.ackChain === chain) this.ackChain = undefined;
        },
      );
    this.ackChain = chain;
    return false;
  }

  /** SessionOutlet: past the bound, QoS 0 is dropped, or (policy 'disconnect') the client goes. */
  writable(): boolean {
    const options = this.core.options;
    if (this.unsentBytes() <= options.maxOutgoingBufferSize) return true;
    if (options.outgoingBufferPolicy === 'disconnect' && this.state === ConnectionState.Connected) disconnectSlowClient(this);
    return false;
  }

  /**
   * SessionOutlet: one PUBLISH. The first recipient of a message gets it encoded plainly; from the
   * second on, the message keeps a PublishEncoding (topic, properties and payload encoded once) that is
   * patched per recipient, so a fan-out costs one encoding, and a message with one recipient (the
   * common case, or a retained message sent once) does not pay for building it.
   */
  sendPublish(delivery: Delivery, packetId: number | undefined, dup: boolean): boolean {
    if (this.state !== ConnectionState.Connected) return true; // stays in flight for the next connection
    const mountPoint = this.listener?.mountPoint;
    if (mountPoint !== undefined && mountPoint !== '') {
      const unmounted = unmountMessage(mountPoint, delivery.message);
      if (unmounted === undefined) return true; // nothing of it lies below the mount point
      delivery = { ...delivery, message: unmounted };
    }
    const message = delivery.message as EncodedMessage;
    if (message.retainedPacket !== undefined && delivery.qos === 0 && delivery.retain && this.protocolVersion !== 5) {
      this.sendRetainedPacket(message, message.retainedPacket);
      return true;
    }
    const r = (this.recipient ??= { protocolVersion: 4, qos: 0, retain: false });
    r.protocolVersion = this.protocolVersion;
    r.qos = delivery.qos;
    r.retain = delivery.retain;
    r.dup = dup;
    r.packetId = packetId;
    r.subscriptionIdentifiers = undefined;
    r.topicAlias = undefined;
    r.omitTopic = false;
    r.messageExpiryInterval = undefined;
    let newAlias = false;
    if (this.protocolVersion === 5) {
      r.subscriptionIdentifiers = delivery.subscriptionIdentifiers;
      if (message.expiresAt !== undefined) r.messageExpiryInterval = remainingExpiry(message, Date.now()); // [MQTT-3.3.2-6]
      if (this.clientTopicAliasMaximum > 0) newAlias = this.assignAlias(message.topic, r);
    }
    const sent = message.encoding === undefined && message.sentOnce !== true ? this.sendPlain(message, r) : this.sendEncoded(message, r);
    if (!sent) {
      if (newAlias) this.outboundAliases!.delete(message.topic);
      return false; // larger than the client accepts [MQTT-3.1.2-25]
    }
    this.core.stats.publishSent++;
    return true;
  }

  /** A stored retained message to a 3.1.1 client at QoS 0: its packet as it was built when stored. */
  private sendRetainedPacket(message: BrokerMessage, packet: Buffer): void {
    if (this.core.listenerCount('packetOut') > 0) {
      this.core.emit('packetOut', { type: 'publish', topic: message.topic, payload: message.payload, qos: 0, retain: true, dup: false }, this.id);
    }
    if (packet.length <= SLAB_PACKET_LIMIT) {
      this.writeSmallCopy(packet);
    } else {
      this.write(packet);
    }
    this.core.stats.publishSent++;
  }

  private sendPlain(message: EncodedMessage, r: PublishRecipient): boolean {
    message.sentOnce = true;
    let properties = r.protocolVersion === 5 ? message.properties : undefined;
    if (r.subscriptionIdentifiers !== undefined || r.topicAlias !== undefined || r.messageExpiryInterval !== undefined) {
      properties = { ...properties };
      if (r.subscriptionIdentifiers !== undefined) properties.subscriptionIdentifiers = r.subscriptionIdentifiers;
      if (r.topicAlias !== undefined) properties.topicAlias = r.topicAlias;
      if (r.messageExpiryInterval !== undefined) properties.messageExpiryInterval = r.messageExpiryInterval;
    }
    const packet: PublishPacket = {
      type: 'publish',
      topic: r.omitTopic ? '' : message.topic,
      payload: message.payload,
      qos: r.qos,
      retain: r.retain,
      dup: r.qos > 0 && r.dup === true,
      packetId: r.packetId,
      properties,
    };
    const remaining = publishRemainingLength(packet, r.protocolVersion);
    const length = 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining;
    if (length > this.clientMaximumPacketSize) return false;
    if (this.core.listenerCount('packetOut') > 0) this.core.emit('packetOut', packet, this.id);
    if (length <= SLAB_PACKET_LIMIT) {
      this.writeSmallPublish(packet, r.protocolVersion, remaining, length);
    } else {
      const buf = Buffer.allocUnsafe(length);
      writePublishAt(packet, r.protocolVersion, remaining, buf, 0);
      this.write(buf);
    }
    return true;
  }

  private sendEncoded(message: EncodedMessage, r: PublishRecipient): boolean {
    let encoding = message.encoding;
    if (encoding === undefined) {
      encoding = new PublishEncoding(message);
      message.encoding = encoding;
    }
    if (encoding.length(r) > this.clientMaximumPacketSize) return false;
    if (this.core.listenerCount('packetOut') > 0) {
      const packet: PublishPacket = {
        type: 'publish',
        topic: r.omitTopic ? '' : message.topic,
        payload: message.payload,
        qos: r.qos,
        retain: r.retain,
        dup: r.dup === true,
        packetId: r.packetId,
      };
      this.core.emit('packetOut', packet, this.id);
    }
    if (message.payload.length <= COPY_PAYLOAD_LIMIT) {
      // one Buffer: at QoS 0 the very same one for every recipient, else a small copy
      this.write(encoding.encode(r));
    } else {
      // a large payload is written as it is, behind its own header, never copied
      const parts = encoding.buffers(r);
      this.writeInParts(parts[0], parts[1]);
    }
    return true;
  }

  /** Outbound topic alias (5.0): the first PUBLISH on a topic sets it, later ones omit the topic. */
  private assignAlias(topic: string, r: PublishRecipient): boolean {
    if (this.outboundAliases === null) this.outboundAliases = new Map();
    const alias = this.outboundAliases.get(topic);
    if (alias !== undefined) {
      r.topicAlias = alias;
      r.omitTopic = true;
      return false;
    }
    if (this.outboundAliases.size >= this.clientTopicAliasMaximum) return false;
    const next = this.outboundAliases.size + 1;
    this.outboundAliases.set(topic, next);
    r.topicAlias = next;
    return true;
  }

  sendPubrel(packetId: number): void {
    this.send({ type: 'pubrel', packetId });
  }

  // ---- timers ----

  connectAccepted(): void {
    this.core.connectDeadlines.delete(this);
    this.connectedSince = Date.now();
    this.lastActivity = this.connectedSince;
    if (this.keepalive > 0) this.core.keepalives.add(this);
  }

  /** No CONNECT within connectTimeout (see ConnectDeadlines). */
  connectTimedOut(): void {
    if (this.state === ConnectionState.AwaitingConnect || this.state === ConnectionState.Authenticating) {
      this.core.log.info(`client ${this.label()} sent no CONNECT within ${this.core.options.connectTimeout} ms`);
      this.close('connect-timeout');
    }
  }

  /** Nothing for 1.5 × keepalive: the connection is considered broken [MQTT-3.1.2-24]. Called by KeepaliveSweep. */
  checkKeepalive(now: number): void {
    if (this.state !== ConnectionState.Connected || now - this.lastActivity < this.keepalive * 1500) return;
    this.core.log.clientEvent('info', `client ${this.label()} keepalive timeout`);
    this.close('keepalive', 0x8d);
  }

  // ---- closing ----

  /**
   * Closes once: a DISCONNECT with `reasonCode` first to a connected 5.0 client, then the socket;
   * the broker then handles the Will and the session.
   */
  close(reason: string, reasonCode?: number, reasonString?: string): void {
    if (this.state === ConnectionState.Closed) return;
    const was = this.state;
    if (reasonCode !== undefined && was === ConnectionState.Connected && this.protocolVersion === 5) {
      this.send({
        type: 'disconnect',
        reasonCode,
        properties: reasonString !== undefined ? { reasonString } : undefined,
      });
    }
    this.state = ConnectionState.Closed;
    this.core.keepalives.delete(this);
    this.core.connectDeadlines.delete(this);
    this.flush();
    this.stream.end();
    // a peer that never reads would keep the socket forever: destroy after a grace period
    const destroy = setTimeout(() => this.stream.destroy(), 2000);
    destroy.unref?.();
    this.stream.once('close', () => clearTimeout(destroy));
    this.core.connectionClosed(this, was === ConnectionState.Connected, reason);
  }
}
