// The client session without I/O: in-flight tables by packet id, the queue of what waits for the
// connection or for send quota, incoming QoS 2 ids, subscriptions to restore, topic aliases.
// It is fed packets and commands and answers through a narrow output interface; the driver
// (client.ts) owns the socket and the timers.
import type {
  ConnackPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PubAckLikePacket,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from '../codec/types';
import { MqttError, describeReason } from './errors';
import type { Flow, KnownSubscription, PublishFlow, Settle, SubscriptionResult, UnsubscriptionResult } from './flows';
import { PacketIdAllocator } from './packet-ids';
import { InboundTopicAliases, OutboundTopicAliases } from './topic-alias';

export type { SubscriptionResult, UnsubscriptionResult } from './flows';

export interface SessionOutput {
  /** Write a packet to the current connection. Only called while connected. */
  send(packet: Packet): void;
  /** Deliver an application message. */
  message(packet: PublishPacket): void;
  /** Something went wrong that does not end the connection (unknown ack, failed resubscribe). */
  error(err: MqttError): void;
  /** The server broke the protocol: the driver sends DISCONNECT with this reason (5.0) and closes. */
  protocolError(err: MqttError): void;
  /** Size of a packet on the wire, for the server's Maximum Packet Size. */
  encodedLength(packet: Packet): number;
  /** False while the stream's buffer is full: what waits stays queued until `resume()`. */
  canWrite(): boolean;
}

export interface SessionOptions {
  protocolVersion: ProtocolVersion;
  queueLimit: number;
  resubscribe: boolean;
  autoAssignTopicAlias: boolean;
  /** Our Receive Maximum (CONNECT property), bounding unreleased incoming QoS 2. */
  receiveMaximum: number;
  /** Our Topic Alias Maximum (CONNECT property). */
  topicAliasMaximum: number;
}

const noop = (): void => undefined;

export class ClientSession {
  private readonly ids = new PacketIdAllocator();
  /** Every flow with a packet id, by that id: O(1) for each acknowledgement. */
  private readonly inFlight = new Map<number, Flow>();
  /** Commands not yet sent: waiting for a connection or for send quota, in order. */
  private waiting: Flow[] = [];
  private waitingHead = 0;
  private inFlightPublishes = 0;
  /** QoS > 0 publishes sent on this connection and not yet acknowledged: the Receive Maximum quota. */
  private onWire = 0;
  /** In-flight publishes of a resumed session not yet resent, for lack of quota. */
  private resend: PublishFlow[] = [];
  /** QoS 2 packet ids received and not yet released: the message went out once already. */
  private readonly incomingQos2 = new Set<number>();
  private readonly subscriptions = new Map<string, KnownSubscription>();
  private readonly outAliases = new OutboundTopicAliases();
  private readonly inAliases: InboundTopicAliases;
  private connected = false;
  private serverReceiveMaximum = 65535;
  private serverMaximumPacketSize = 0;
  private serverMaximumQoS = 2;

  constructor(
    private readonly opts: SessionOptions,
    private readonly out: SessionOutput,
  ) {
    this.inAliases = new InboundTopicAliases(opts.topicAliasMaximum);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Commands held until the connection (or quota) allows them. */
  get queuedCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** QoS > 0 publishes sent and not yet fully acknowledged. */
  get inFlightCount(): number {
    return this.inFlightPublishes;
  }

  /** Subscriptions the session would restore, by filter. */
  get subscribedFilters(): string[] {
    return [...this.subscriptions.keys()];
  }

  // ---- commands -------------------------------------------------------------------------

  /**
   * The common case without a flow record: QoS 0, connected, nothing waiting ahead, no properties
   * to check, within the server's packet size. True when sent; otherwise the caller uses publish().
   */
  trySendQos0(packet: PublishPacket): boolean {
    if (packet.qos !== 0 || !this.connected || this.waitingHead !== this.waiting.length || packet.properties !== undefined) return false;
    if (!this.out.canWrite()) return false;
    if (this.serverMaximumPacketSize > 0 && this.out.encodedLength(packet) > this.serverMaximumPacketSize) return false;
    return this.sendPublish(packet, false);
  }

  publish(packet: PublishPacket, resolve: Settle<PubAckLikePacket | undefined>['resolve'], reject: Settle<unknown>['reject']): void {
    this.enqueue({ kind: 'publish', packet, awaiting: 'puback', onWire: false, resolve, reject });
  }

  subscribe(packet: SubscribePacket, settle: Settle<SubscriptionResult[]>): void {
    this.enqueue({ kind: 'subscribe', packet, resolve: settle.resolve, reject: settle.reject });
  }

  unsubscribe(packet: UnsubscribePacket, settle: Settle<UnsubscriptionResult[]>): void {
    // Forget at once: a resubscribe after a lost session must not bring back what the caller left.
    for (const f of packet.topicFilters) this.subscriptions.delete(f);
    this.enqueue({ kind: 'unsubscribe', packet, resolve: settle.resolve, reject: settle.reject });
  }

  private enqueue(flow: Flow): void {
    if (!this.connected && this.queuedCount >= this.opts.queueLimit) {
      flow.reject(
        new MqttError('QUEUE_FULL', `offline queue is full (queueLimit ${this.opts.queueLimit}); ${flow.kind} not queued`),
      );
      return;
    }
    this.waiting.push(flow);
    if (this.connected && this.queuedCount === 1) this.flush();
  }

  /** Sends what waits, in order, while the connection and the server's Receive Maximum allow. */
  /** The stream drained: send what waited for it. */
  resume(): void {
    this.flush();
  }

  private flush(): void {
    while (this.connected && this.resend.length > 0 && this.onWire < this.serverReceiveMaximum) {
      const flow = this.resend.shift() as PublishFlow;
      if (this.inFlight.get(flow.packet.packetId as number) === flow) this.resendPublish(flow);
    }
    if (this.resend.length > 0) return; // new messages go after the old ones
    while (this.connected && this.waitingHead < this.waiting.length) {
      // Backpressure: a full stream buffer holds the queue, so QoS 0 callers wait with their promise.
      if (!this.out.canWrite()) break;
      const flow = this.waiting[this.waitingHead];
      const needsId = flow.kind !== 'publish' || flow.packet.qos > 0;
      // [MQTT-4.9.0-2]: no more QoS > 0 PUBLISH in flight than the server's Receive Maximum;
      // what is behind waits too, so order is kept.
      if (flow.kind === 'publish' && flow.packet.qos > 0 && this.onWire >= this.serverReceiveMaximum) break;
      let id: number | undefined;
      if (needsId) {
        id = this.ids.allocate(this.inFlight);
        if (id === undefined) break;
      }
      this.waiting[this.waitingHead++] = undefined as unknown as Flow;
      if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.waitingHead);
        this.waitingHead = 0;
      }
      this.start(flow, id);
    }
    if (this.waitingHead === this.waiting.length && this.waitingHead > 0) {
      this.waiting = [];
      this.waitingHead = 0;
    }
  }

  private start(flow: Flow, id: number | undefined): void {
    if (flow.kind === 'publish') {
      const packet = flow.packet;
      if (packet.qos > this.serverMaximumQoS) {
        // [MQTT-3.2.2-11]: no PUBLISH above the server's Maximum QoS.
        flow.reject(new MqttError('INVALID_ARGUMENT', `server accepts QoS up to ${this.serverMaximumQoS}, publish asked ${packet.qos}`, 0x9b));
        return;
      }
      const alias = packet.properties?.topicAlias;
      if (alias !== undefined && (alias === 0 || alias > this.outAliases.topicAliasMaximum)) {
        // [MQTT-3.3.2-8]: no alias above the server's Topic Alias Maximum.
        flow.reject(new MqttError('INVALID_ARGUMENT', `topic alias ${alias} is outside the server's Topic Alias Maximum (${this.outAliases.topicAliasMaximum})`, 0x94));
        return;
      }
      if (alias !== undefined && packet.topic === '' && !this.outAliases.isSet(alias)) {
        // The server could not resolve it: a protocol error on its side (5.0 section 3.3.2.3.4).
        flow.reject(new MqttError('INVALID_ARGUMENT', `topic alias ${alias} has no topic on this connection yet; send the topic with it first`, 0x82));
        return;
      }
      if (id === undefined) {
        if (this.sendPublish(packet, false)) flow.resolve(undefined);
        else flow.reject(this.tooLarge('publish'));
        return;
      }
      packet.packetId = id;
      flow.awaiting = packet.qos === 1 ? 'puback' : 'pubrec';
      this.inFlight.set(id, flow);
      this.inFlightPublishes++;
      flow.onWire = true;
      this.onWire++;
      if (!this.sendPublish(packet, false)) {
        this.finishPublish(id, flow);
        flow.reject(this.tooLarge('publish'));
      }
      return;
    }
    flow.packet.packetId = id as number;
    this.inFlight.set(id as number, flow);
    if (!this.sendChecked(flow.packet)) {
      this.inFlight.delete(id as number);
      flow.reject(this.tooLarge(flow.kind));
    }
  }

  private tooLarge(what: string): MqttError {
    return new MqttError('PACKET_TOO_LARGE', `${what} exceeds the server's Maximum Packet Size (${this.serverMaximumPacketSize} bytes)`, 0x95);
  }

  /** Writes a PUBLISH as this connection wants it (topic alias, DUP); false when too large. */
  private sendPublish(packet: PublishPacket, dup: boolean): boolean {
    // A copy for a redelivery, so a packet already handed to 'packetsend' listeners stays as sent.
    let wire = dup ? { ...packet, dup: true } : packet;
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      if (packet.topic !== '') this.outAliases.record(packet.topic, alias);
    } else if (this.opts.autoAssignTopicAlias && this.outAliases.topicAliasMaximum > 0) {
      const assigned = this.outAliases.lookupOrAssign(packet.topic);
      if (assigned) {
        wire = {
          ...wire,
          topic: assigned.known ? '' : packet.topic,
          properties: { ...packet.properties, topicAlias: assigned.alias },
        };
      }
    }
    return this.sendChecked(wire);
  }

  private sendChecked(packet: Packet): boolean {
    // [MQTT-3.1.2-24]: nothing larger than the server's Maximum Packet Size is sent.
    if (this.serverMaximumPacketSize > 0 && this.out.encodedLength(packet) > this.serverMaximumPacketSize) return false;
    this.out.send(packet);
    return true;
  }

  private finishPublish(id: number, flow: PublishFlow): void {
    if (this.inFlight.get(id) === flow) {
      this.inFlight.delete(id);
      this.inFlightPublishes--;
    }
    if (flow.onWire) {
      flow.onWire = false;
      this.onWire--;
    }
  }

  // ---- connection lifecycle ---------------------------------------------------------------

  /** A CONNACK with success arrived: take the server's limits, restore or resend, then flush. */
  onConnack(connack: ConnackPacket): void {
    const p = connack.properties ?? {};
    this.connected = true;
    this.serverReceiveMaximum = p.receiveMaximum ?? 65535;
    this.serverMaximumPacketSize = p.maximumPacketSize ?? 0;
    this.serverMaximumQoS = p.maximumQoS ?? 2;
    this.outAliases.reset(p.topicAliasMaximum ?? 0);
    this.inAliases.reset();

    if (connack.sessionPresent) {
      // [MQTT-4.4.0-1]: resend unacknowledged PUBLISH (DUP set, [MQTT-3.3.1-1]) and PUBREL, in the
      // order first sent, with their original packet ids; PUBLISH only as the new Receive Maximum
      // allows [MQTT-4.9.0-2], the rest as acknowledgements free the quota.
      for (const flow of this.inFlight.values()) {
        if (flow.kind !== 'publish') continue;
        if (this.resend.length === 0 && (flow.awaiting === 'pubcomp' || this.onWire < this.serverReceiveMaximum)) this.resendPublish(flow);
        else this.resend.push(flow);
      }
    } else {
      // The server has no session: incoming QoS 2 state went with it. Our unfinished publishes
      // start over as new messages (at least once); a QoS 2 past PUBREC was accepted by the server.
      this.incomingQos2.clear();
      const restart: PublishFlow[] = [];
      for (const [id, flow] of this.inFlight) {
        if (flow.kind !== 'publish') continue;
        this.finishPublish(id, flow);
        if (flow.awaiting === 'pubcomp') flow.resolve(undefined);
        else restart.push(flow);
      }
      if (restart.length > 0) this.waiting.splice(this.waitingHead, 0, ...restart);
      if (this.opts.resubscribe) this.resubscribe();
    }
    this.flush();
  }

  private resendPublish(flow: PublishFlow): void {
    const id = flow.packet.packetId as number;
    flow.onWire = true;
    this.onWire++;
    if (flow.awaiting === 'pubcomp') this.out.send(this.ack('pubrel', id));
    else if (!this.sendPublish(flow.packet, true)) {
      this.finishPublish(id, flow);
      flow.reject(this.tooLarge('publish'));
    }
  }

  /** The connection is gone: SUBSCRIBE/UNSUBSCRIBE without an answer go back to the queue front. */
  disconnected(): void {
    this.connected = false;
    this.onWire = 0;
    this.resend = [];
    const again: Flow[] = [];
    for (const [id, flow] of this.inFlight) {
      if (flow.kind === 'publish') {
        flow.onWire = false;
        continue;
      }
      this.inFlight.delete(id);
      again.push(flow);
    }
    if (again.length > 0) this.waiting.splice(this.waitingHead, 0, ...again);
  }

  /** Ends the session: every pending promise is rejected with `err`. */
  failAll(err: MqttError): void {
    const flows = [...this.inFlight.values(), ...this.waiting.slice(this.waitingHead)];
    this.inFlight.clear();
    this.inFlightPublishes = 0;
    this.onWire = 0;
    this.resend = [];
    this.waiting = [];
    this.waitingHead = 0;
    for (const flow of flows) flow.reject(err);
  }

  private resubscribe(): void {
    // One SUBSCRIBE per distinct set of properties (subscription identifier, user properties).
    const groups = new Map<string, { subscriptions: Subscription[]; properties?: Properties }>();
    for (const known of this.subscriptions.values()) {
      const key = known.properties ? JSON.stringify(known.properties) : '';
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { subscriptions: [], properties: known.properties }));
      group.subscriptions.push(known.subscription);
    }
    const front: Flow[] = [];
    for (const group of groups.values()) {
      const packet: SubscribePacket = { type: 'subscribe', packetId: 0, subscriptions: group.subscriptions };
      if (group.properties) packet.properties = group.properties;
      front.push({
        kind: 'subscribe',
        packet,
        resolve: (results) => {
          for (const r of results) {
            if (r.reasonCode >= 0x80) {
              this.out.error(new MqttError('SESSION_LOST', `resubscribe to '${r.topicFilter}' failed: ${describeReason(r.reasonCode, this.opts.protocolVersion)}`, r.reasonCode));
            }
          }
        },
        reject: noop,
      });
    }
    this.waiting.splice(this.waitingHead, 0, ...front);
  }

  // ---- incoming packets -------------------------------------------------------------------

  handle(packet: Packet): void {
    switch (packet.type) {
      case 'publish':
        return this.onPublish(packet);
      case 'puback':
      case 'pubcomp':
        return this.onPublishDone(packet);
      case 'pubrec':
        return this.onPubrec(packet);
      case 'pubrel':
        return this.onPubrel(packet);
      case 'suback':
        return this.onSuback(packet);
      case 'unsuback':
        return this.onUnsuback(packet);
      default:
        return;
    }
  }

  private ack(type: PubAckLikePacket['type'], packetId: number, reasonCode?: number): PubAckLikePacket {
    const a: PubAckLikePacket = { type, packetId };
    if (reasonCode !== undefined && this.opts.protocolVersion === 5) a.reasonCode = reasonCode;
    return a;
  }

  private onPublish(packet: PublishPacket): void {
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      const topic = this.inAliases.resolve(packet.topic, alias);
      if (typeof topic === 'number') {
        this.out.protocolError(new MqttError('PROTOCOL_ERROR', `server sent topic alias ${alias} ${topic === 0x94 ? 'outside our Topic Alias Maximum' : 'that was never set'}`, topic));
        return;
      }
      packet.topic = topic;
    } else if (packet.topic === '') {
      this.out.protocolError(new MqttError('PROTOCOL_ERROR', 'server sent PUBLISH with an empty topic and no topic alias', 0x82));
      return;
    }
    if (packet.qos === 0) {
      this.out.message(packet);
      return;
    }
    const id = packet.packetId as number;
    // The acknowledgement is queued before the message is delivered: the listener runs synchronously,
    // so the message is the application's either way, and a listener that calls end() puts its
    // DISCONNECT behind the acknowledgement instead of losing it [MQTT-4.3.2-2], [MQTT-4.3.3-2].
    if (packet.qos === 1) {
      this.out.send(this.ack('puback', id));
      this.out.message(packet);
      return;
    }
    // QoS 2, method B: deliver on first receipt and hold the id until PUBREL, so a redelivery
    // (DUP) of the same id is acknowledged but not delivered again [MQTT-4.3.3-9].
    if (this.incomingQos2.has(id)) {
      this.out.send(this.ack('pubrec', id));
      return;
    }
    if (this.incomingQos2.size >= this.opts.receiveMaximum) {
      // [MQTT-3.3.4-9]: the server sent more unacknowledged QoS 2 than our Receive Maximum.
      this.out.protocolError(new MqttError('PROTOCOL_ERROR', `server exceeded our Receive Maximum (${this.opts.receiveMaximum})`, 0x93));
      return;
    }
    this.incomingQos2.add(id);
    this.out.send(this.ack('pubrec', id));
    this.out.message(packet);
  }

  private unknownAck(packet: PubAckLikePacket | SubackPacket | UnsubackPacket): void {
    this.out.error(new MqttError('UNKNOWN_ACK', `${packet.type.toUpperCase()} for packet id ${packet.packetId}, which is not in flight`));
  }

  private publishFlow(packet: PubAckLikePacket, awaiting: PublishFlow['awaiting']): PublishFlow | undefined {
    const flow = this.inFlight.get(packet.packetId);
    if (flow && flow.kind === 'publish' && flow.awaiting === awaiting) return flow;
    return undefined;
  }

  private onPublishDone(packet: PubAckLikePacket): void {
    const flow = this.publishFlow(packet, packet.type === 'puback' ? 'puback' : 'pubcomp');
    if (!flow) return this.unknownAck(packet);
    this.finishPublish(packet.packetId, flow);
    const reason = packet.reasonCode ?? 0;
    // PUBCOMP "Packet Identifier not found" answers a PUBREL the server no longer holds: the message
    // became the server's at PUBREC, and the usual cause is a PUBCOMP lost with the old connection,
    // so the flow is complete, not failed.
    if (reason >= 0x80 && !(packet.type === 'pubcomp' && reason === 0x92)) {
      flow.reject(new MqttError('PUBLISH_REJECTED', `${packet.type.toUpperCase()} for '${flow.packet.topic}': ${describeReason(reason, 5)}${packet.properties?.reasonString ? ` - ${packet.properties.reasonString}` : ''}`, reason));
    } else {
      flow.resolve(packet);
    }
    this.flush();
  }

  private onPubrec(packet: PubAckLikePacket): void {
    const id = packet.packetId;
    const flow = this.inFlight.get(id);
    if (flow && flow.kind === 'publish' && flow.awaiting === 'pubcomp') {
      this.out.send(this.ack('pubrel', id)); // a repeated PUBREC: PUBREL again
      return;
    }
    if (!flow || flow.kind !== 'publish' || flow.awaiting !== 'pubrec') {
      this.unknownAck(packet);
      // Let the server finish its side of an exchange we no longer know.
      this.out.send(this.ack('pubrel', id, 0x92));
      return;
    }
    const reason = packet.reasonCode ?? 0;
    if (reason >= 0x80) {
      // A PUBREC failure ends the flow; no PUBREL follows (5.0 section 4.3.3).
      this.finishPublish(id, flow);
      flow.reject(new MqttError('PUBLISH_REJECTED', `PUBREC for '${flow.packet.topic}': ${describeReason(reason, 5)}${packet.properties?.reasonString ? ` - ${packet.properties.reasonString}` : ''}`, reason));
      this.flush();
      return;
    }
    flow.awaiting = 'pubcomp';
    this.out.send(this.ack('pubrel', id)); // [MQTT-4.3.3-4]
  }

  private onPubrel(packet: PubAckLikePacket): void {
    const known = this.incomingQos2.delete(packet.packetId);
    // [MQTT-4.3.3-11]: PUBCOMP for every PUBREL, with "not found" under 5.0 when we held no such id.
    this.out.send(this.ack('pubcomp', packet.packetId, known ? undefined : 0x92));
  }

  private onSuback(packet: SubackPacket): void {
    const flow = this.inFlight.get(packet.packetId);
    if (!flow || flow.kind !== 'subscribe') return this.unknownAck(packet);
    this.inFlight.delete(packet.packetId);
    const subs = flow.packet.subscriptions;
    if (packet.reasonCodes.length !== subs.length) {
      // [MQTT-3.8.4-6]: one return code per filter.
      this.out.protocolError(new MqttError('PROTOCOL_ERROR', `SUBACK has ${packet.reasonCodes.length} codes for ${subs.length} filters`, 0x82));
      flow.reject(new MqttError('PROTOCOL_ERROR', 'malformed SUBACK', 0x82));
      return;
    }
    const results: SubscriptionResult[] = subs.map((s, i) => {
      const reasonCode = packet.reasonCodes[i];
      if (reasonCode < 0x80) {
        const known: KnownSubscription = { subscription: s };
        if (flow.packet.properties) known.properties = flow.packet.properties;
        this.subscriptions.set(s.topicFilter, known);
      }
      return { topicFilter: s.topicFilter, qos: reasonCode < 0x80 ? reasonCode : s.qos, reasonCode };
    });
    flow.resolve(results);
  }

  private onUnsuback(packet: UnsubackPacket): void {
    const flow = this.inFlight.get(packet.packetId);
    if (!flow || flow.kind !== 'unsubscribe') return this.unknownAck(packet);
    this.inFlight.delete(packet.packetId);
    const codes = packet.reasonCodes ?? [];
    flow.resolve(flow.packet.topicFilters.map((topicFilter, i) => ({ topicFilter, reasonCode: codes[i] ?? 0 })));
  }
}
