// The bridge's session on our own broker: an MQTT 5.0 client speaking over an in-memory stream
// handed to `broker.handle()`. Being a real session it gets what any client gets (routing, QoS
// flows, retained messages on subscribe, the broker's queue while it is slow) and No Local
// [MQTT-3.8.3-3], which keeps a message the bridge brought in from going back out on it. It enters
// as `internal`: not logged in against the password file and not filtered by the ACL, whatever the
// broker's security (as in Mosquitto, where a bridge passes every ACL check); local_username is
// still sent, as the session's username in events and logs.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Broker } from '../broker';
import { PacketDecoder, ProtocolError, encode, reasonCodeName } from '../codec';
import type { ConnackPacket, Packet, Properties, PubAckLikePacket, PublishPacket, QoS, Subscription } from '../codec/types';
import { duplexPair } from './duplex-pair';

export interface LocalLinkOptions {
  clientId: string;
  username?: string;
  password?: string | Buffer;
  /** false: the session outlives the link (local_cleansession false). Default true. */
  clean?: boolean;
}

export interface OutgoingMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface LocalLinkEvents {
  /**
   * A message the broker routed to the link. `done()` acknowledges it (PUBACK, or PUBREC for
   * QoS 2): until then the broker keeps it in flight and queues what follows.
   */
  message: [packet: PublishPacket, done: () => void];
  /** The session ended: the stream closed (the broker shut down, or close() was called). */
  close: [];
}

type Waiter =
  | { kind: 'publish'; packet: PublishPacket; resolve: () => void; reject: (err: Error) => void }
  | { kind: 'subscribe'; resolve: (codes: number[]) => void; reject: (err: Error) => void };

const LINK_CLOSED = 'the bridge session on the local broker is closed';

export class LocalLink extends EventEmitter<LocalLinkEvents> {
  private stream: Duplex | undefined;
  private readonly decoder = new PacketDecoder({ protocolVersion: 5 });
  /** Our publishes and subscribes awaiting their acknowledgement, by packet id. */
  private readonly inFlight = new Map<number, Waiter>();
  /** QoS 1/2 publishes held back by the broker's Receive Maximum [MQTT-4.9.0-2]. */
  private readonly held: Extract<Waiter, { kind: 'publish' }>[] = [];
  private publishesInFlight = 0;
  private receiveMaximum = 65535;
  private nextId = 1;
  private connack: { resolve: (p: ConnackPacket) => void; reject: (err: Error) => void } | undefined;
  private closed = false;

  constructor(
    private readonly broker: Broker,
    private readonly options: LocalLinkOptions,
  ) {
    super();
  }

  /** Enters the broker and resolves with its CONNACK; rejects when the broker refuses the session. */
  open(): Promise<ConnackPacket> {
    const [ours, theirs] = duplexPair();
    this.stream = ours;
    ours.on('data', (chunk: Buffer) => this.onData(chunk));
    ours.on('error', () => undefined); // the close that follows ends the session
    ours.on('close', () => this.onClose());
    const result = new Promise<ConnackPacket>((resolve, reject) => (this.connack = { resolve, reject }));
    // internal: the bridge is part of the broker, so users and ACL do not apply to its session
    this.broker.handle(theirs, { address: 'bridge', internal: true });
    const o = this.options;
    this.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: o.clean !== false,
      ...(o.clean === false ? { properties: { sessionExpiryInterval: 0xffffffff } } : {}),
      // in-process: no network to watch
      keepalive: 0,
      clientId: o.clientId,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: Buffer.isBuffer(o.password) ? o.password : Buffer.from(o.password) } : {}),
    });
    return result;
  }

  get isOpen(): boolean {
    return this.stream !== undefined && !this.closed && this.connack === undefined;
  }

  /** Resolves with one reason code (granted QoS or failure) per subscription. */
  subscribe(subscriptions: Subscription[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new Error(LINK_CLOSED));
    return new Promise((resolve, reject) => {
      const packetId = this.allocateId();
      this.inFlight.set(packetId, { kind: 'subscribe', resolve, reject });
      this.send({ type: 'subscribe', packetId, subscriptions });
    });
  }

  /** Publishes into the broker; resolves once the QoS flow completes, rejects on a refusal (5.0 reason code). */
  publish(message: OutgoingMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error(LINK_CLOSED));
    const packet: PublishPacket = { type: 'publish', topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain, dup: false };
    if (message.properties !== undefined) packet.properties = message.properties;
    if (packet.qos === 0) {
      this.send(packet);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.held.push({ kind: 'publish', packet, resolve, reject });
      this.sendHeld();
    });
  }

  /** DISCONNECT, then the stream closes; resolves once it has. */
  close(): Promise<void> {
    const stream = this.stream;
    if (stream === undefined || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      stream.once('close', () => resolve());
      if (!this.closed) this.send({ type: 'disconnect', reasonCode: 0 });
      stream.end();
    });
  }

  private sendHeld(): void {
    while (this.held.length > 0 && this.publishesInFlight < this.receiveMaximum) {
      const waiter = this.held.shift()!;
      const packetId = this.allocateId();
      waiter.packet.packetId = packetId;
      this.inFlight.set(packetId, waiter);
      this.publishesInFlight++;
      this.send(waiter.packet);
    }
  }

  private allocateId(): number {
    // ids in use are few (bounded by the Receive Maximum): step over them
    while (this.inFlight.has(this.nextId)) this.nextId = (this.nextId % 65535) + 1;
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    return id;
  }

  private send(packet: Packet): void {
    const stream = this.stream;
    if (stream === undefined || stream.destroyed || stream.writableEnded) return;
    stream.write(encode(packet, 5));
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (;;) {
      const packet = this.decoder.next();
      if (packet === null) return;
      if (packet instanceof ProtocolError) {
        this.stream?.destroy();
        return;
      }
      this.onPacket(packet);
    }
  }

  private onPacket(packet: Packet): void {
    switch (packet.type) {
      case 'connack': {
        const waiter = this.connack;
        this.connack = undefined;
        if (packet.reasonCode !== 0) {
          waiter?.reject(new Error(`the local broker refused the bridge session: ${reasonCodeName(packet.reasonCode)}`));
          this.stream?.destroy();
          return;
        }
        this.receiveMaximum = packet.properties?.receiveMaximum ?? 65535;
        waiter?.resolve(packet);
        return;
      }
      case 'publish':
        return this.onPublish(packet);
      case 'pubrel':
        // the message went on at PUBREC already: complete the flow
        this.send({ type: 'pubcomp', packetId: packet.packetId, reasonCode: 0 });
        return;
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
        return this.onPublishAck(packet);
      case 'suback': {
        const waiter = this.inFlight.get(packet.packetId);
        if (waiter?.kind !== 'subscribe') return;
        this.inFlight.delete(packet.packetId);
        waiter.resolve(packet.reasonCodes);
        return;
      }
      case 'disconnect':
        this.stream?.destroy();
        return;
      default:
        return;
    }
  }

  private onPublish(packet: PublishPacket): void {
    const packetId = packet.packetId;
    let acknowledged = false;
    const done = (): void => {
      if (acknowledged || packetId === undefined) return;
      acknowledged = true;
      this.send({ type: packet.qos === 1 ? 'puback' : 'pubrec', packetId, reasonCode: 0 });
    };
    this.emit('message', packet, done);
  }

  private onPublishAck(packet: PubAckLikePacket): void {
    const waiter = this.inFlight.get(packet.packetId);
    if (waiter?.kind !== 'publish') return;
    const reasonCode = packet.reasonCode ?? 0;
    if (packet.type === 'pubrec' && reasonCode < 0x80) {
      this.send({ type: 'pubrel', packetId: packet.packetId, reasonCode: 0 });
      return;
    }
    this.inFlight.delete(packet.packetId);
    this.publishesInFlight--;
    if (reasonCode >= 0x80) waiter.reject(new Error(`the local broker refused a publish to ${waiter.packet.topic}: ${reasonCodeName(reasonCode)}`));
    else waiter.resolve();
    this.sendHeld();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new Error(LINK_CLOSED);
    this.connack?.reject(err);
    this.connack = undefined;
    for (const waiter of this.inFlight.values()) waiter.reject(err);
    this.inFlight.clear();
    for (const waiter of this.held.splice(0)) waiter.reject(err);
    this.emit('close');
  }
}
