// A bridge from our broker to an upstream broker, as Mosquitto's `connection` sections do it.
//
// Local side: a LocalLink, a real MQTT 5.0 session inside our broker, subscribed with No Local to
// the local filters of the out/both topics; what the bridge brings in is published through the
// same session, so No Local keeps it from going back out [MQTT-3.8.3-3].
// Remote side: one client of our engine, which reconnects to the addresses in turn (the bridge
// answers its nextAttempt) and keeps its session across connections: packet ids, QoS 1/2 messages
// in flight and the PUBREL state both ways. With cleansession false the remote keeps its half, so
// a QoS 2 message cut off mid-flow completes on the next connection exactly once, in and out.
// Remote subscriptions carry No Local and Retain As Published under 5.0, or the bridge bit
// (try_private) under 3.1/3.1.1, to which Mosquitto answers with the same two effects.
//
// QoS 1/2 messages going out are acknowledged to the local broker only once the remote broker has
// acknowledged them, so what the remote has not taken stays with us or in the local broker's queue
// for the bridge session (bounded by its max_queued_messages). Only a new client (the primary
// address back, a lazy bridge started again) sends them again as new messages. QoS 0 messages are
// dropped while the remote is down.
import { EventEmitter } from 'node:events';
import type { Broker } from '../broker';
import { encodedLength } from '../codec';
import type { Properties, PublishPacket, QoS, Subscription } from '../codec/types';
import { type MqttClient, MqttError, type NextAttempt, connect } from '../client';
import { LocalLink } from './local-link';
import { type BridgeOptions, type RemoteAddress, type ResolvedBridgeOptions, resolveBridgeOptions } from './options';
import { IdleWatch } from './idle-watch';
import { PrimaryProbe } from './primary-probe';
import { remoteClientOptions } from './remote-client-options';
import { RestartBackoff } from './restart-backoff';
import { incomingTopic, outgoingTopic } from './topic-map';

/** 'waiting': for the next attempt; 'idle': a lazy bridge waiting for its threshold (or a once bridge done). */
export type BridgeState = 'stopped' | 'connecting' | 'connected' | 'waiting' | 'idle';

export interface BridgeEvents {
  /** Connected to the remote broker at `address`, its subscriptions acknowledged. */
  connect: [address: RemoteAddress];
  /** A remote connection that was up is down; the bridge tries again after the restart timeout. */
  disconnect: [];
  /** Failures that do not stop the bridge (refused connection, refused subscription...); emitted only while listened. */
  error: [err: Error];
}

/** A QoS 1/2 message on its way out, acknowledged locally once the remote has it. */
interface OutgoingFlow {
  topic: string;
  payload: Buffer;
  qos: 1 | 2;
  retain: boolean;
  properties: Properties | undefined;
  acknowledge: () => void;
  /** The remote client it was last handed to, if that connection still stands. */
  sentOn: MqttClient | undefined;
}

/** How long stop() waits for the remote to acknowledge the state 0 notification. */
const STOP_NOTIFICATION_GRACE_MS = 1000;

/** What of a message's properties crosses a hop: never the Topic Alias or Subscription Identifiers. */
function forwardedProperties(properties: Properties | undefined): Properties | undefined {
  if (properties === undefined) return undefined;
  const { topicAlias, subscriptionIdentifiers, ...rest } = properties;
  void topicAlias;
  void subscriptionIdentifiers;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

export class Bridge extends EventEmitter<BridgeEvents> {
  readonly options: ResolvedBridgeOptions;
  private currentState: BridgeState = 'stopped';
  private link: LocalLink | undefined;
  private client: MqttClient | undefined;
  private clientConnected = false;
  private addressIndex = 0;
  /** round_robin false: watches the primary while connected to a secondary address. */
  private primaryProbe: PrimaryProbe | undefined;
  /** The primary came back: the next connection goes there at once. */
  private returningToPrimary = false;
  private readonly backoff: RestartBackoff;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Outgoing QoS 1/2 messages not yet acknowledged by the remote broker, in arrival order. */
  private readonly outgoing = new Set<OutgoingFlow>();
  private stopping: Promise<void> | undefined;
  /** start_type lazy: watches the connection for idle_timeout without traffic. */
  private idleWatch: IdleWatch | undefined;

  constructor(
    private readonly broker: Broker,
    options: BridgeOptions,
  ) {
    super();
    this.options = resolveBridgeOptions(options);
    this.backoff = new RestartBackoff(this.options.restartTimeout.base, this.options.restartTimeout.cap);
  }

  get name(): string {
    return this.options.name;
  }

  get state(): BridgeState {
    return this.currentState;
  }

  get connected(): boolean {
    return this.currentState === 'connected';
  }

  /** The remote address in use or tried next. */
  get address(): RemoteAddress {
    return this.options.addresses[this.addressIndex];
  }

  /** Outgoing QoS 1/2 messages the bridge holds, waiting for the remote broker. */
  get pendingCount(): number {
    return this.outgoing.size;
  }

  /**
   * Opens the bridge session on the local broker and starts connecting to the remote one;
   * resolves once the local side is ready (the remote connection follows in the background:
   * listen for 'connect'). Rejects when the local broker refuses the session.
   */
  async start(): Promise<void> {
    if (this.currentState !== 'stopped') return;
    this.currentState = 'connecting';
    await this.stopping;
    if (this.state === 'stopped') return; // stop() came first
    const o = this.options;
    const link = new LocalLink(this.broker, { clientId: o.localClientId, username: o.localUsername, password: o.localPassword, clean: o.localCleanSession });
    this.link = link;
    link.on('message', (packet, done) => this.onLocalMessage(packet, done));
    try {
      await link.open();
      // Mosquitto's first notification: not connected yet
      if (o.notifications) await this.notifyLocal('0');
      // Subscribed from the start so QoS 1/2 messages queue before the first connection; retained
      // messages are asked for on each connection instead (subscribeLocal(true)).
      await this.subscribeLocal(false);
    } catch (err) {
      // stopped meanwhile: stop() has closed the link, which is why this failed
      if (this.link !== link) return;
      this.link = undefined;
      this.currentState = 'stopped';
      await link.close();
      throw err;
    }
    if (this.link !== link) return;
    link.on('close', () => {
      // the broker is closing (or dropped the session): nothing left to bridge
      if (this.link === link) void this.stop();
    });
    if (!link.isOpen) void this.stop();
    else if (o.startType === 'lazy') this.currentState = 'idle';
    else this.connectRemote();
  }

  /** Closes the remote connection (its state 0 published first) and the local session. */
  stop(): Promise<void> {
    if (this.currentState === 'stopped') return this.stopping ?? Promise.resolve();
    this.currentState = 'stopped';
    this.stopping = this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const o = this.options;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.idleWatch?.stop();
    this.primaryProbe?.stop();
    this.primaryProbe = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      await this.disconnectRemote(client);
      this.clientConnected = false;
    }
    for (const flow of this.outgoing) flow.sentOn = undefined;
    const link = this.link;
    this.link = undefined;
    if (link !== undefined) {
      if (o.notifications && link.isOpen) await this.notifyLocal('0', link).catch(() => undefined);
      await link.close();
    }
    // what the remote never acknowledged is left unacknowledged locally: the session ends with it
    this.outgoing.clear();
  }

  /** Ends the remote client; a normal DISCONNECT discards the Will [MQTT-3.1.2-10], so state 0 goes first. */
  private async disconnectRemote(client: MqttClient): Promise<void> {
    const o = this.options;
    if (this.clientConnected && o.notifications && !o.notificationsLocalOnly) {
      // bounded: a remote that stopped answering must not hold up the stop
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        client.publish(o.notificationTopic, '0', { qos: 1, retain: true }).catch(() => undefined),
        new Promise((resolve) => (grace = setTimeout(resolve, STOP_NOTIFICATION_GRACE_MS))),
      ]);
      clearTimeout(grace);
    }
    await client.end();
  }

  // ---- local side ---------------------------------------------------------------------------

  private async subscribeLocal(withRetained: boolean): Promise<void> {
    const link = this.link;
    if (link === undefined) return;
    const subscriptions: Subscription[] = this.options.mappings
      .filter((m) => m.direction !== 'in')
      .map((m) => ({ topicFilter: m.localFilter, qos: m.qos, noLocal: true, retainAsPublished: true, retainHandling: withRetained ? 0 : 2 }));
    if (subscriptions.length === 0) return;
    const codes = await link.subscribe(subscriptions);
    codes.forEach((code, i) => {
      if (code >= 0x80) this.fault(new Error(`bridge ${this.name}: the local broker refused the subscription to ${subscriptions[i].topicFilter} (0x${code.toString(16)})`));
    });
  }

  private notifyLocal(state: '0' | '1', link = this.link): Promise<void> {
    const topic = this.options.notificationTopic;
    // Clients may not publish into $SYS, the broker itself may. Elsewhere the bridge session
    // publishes, so that No Local keeps the notification from going out on a matching topic line.
    if (topic.startsWith('$SYS')) return this.broker.publish({ topic, payload: state, qos: 1, retain: true });
    if (link === undefined) return Promise.resolve();
    return link.publish({ topic, payload: Buffer.from(state), qos: 1, retain: true });
  }

  /**
   * The bridge publishes its state on each side itself; carried across as well, the copies would
   * overwrite the other side's (retained messages are sent again on every subscription, which
   * No Local does not stop).
   */
  private isNotification(topic: string): boolean {
    return this.options.notifications && topic === this.options.notificationTopic;
  }

  private onLocalMessage(packet: PublishPacket, done: () => void): void {
    const mapped = this.isNotification(packet.topic) ? undefined : outgoingTopic(this.options.mappings, packet.topic);
    if (mapped === undefined) {
      done();
      return;
    }
    const retain = packet.retain && this.options.outgoingRetain;
    const properties = forwardedProperties(packet.properties);
    if (this.tooLarge(mapped.topic, packet, properties)) {
      done();
      return;
    }
    this.idleWatch?.touch();
    if (packet.qos === 0) {
      done();
      const client = this.client;
      if (client !== undefined && this.clientConnected) {
        client.publish(mapped.topic, packet.payload, { qos: 0, retain: this.withinRemoteLimits(client, 0, retain).retain, properties }).catch((err: Error) => this.fault(err));
      }
      return;
    }
    const flow: OutgoingFlow = { topic: mapped.topic, payload: packet.payload, qos: packet.qos, retain, properties, acknowledge: done, sentOn: undefined };
    this.outgoing.add(flow);
    if (this.client !== undefined && this.clientConnected) this.sendOut(flow, this.client);
    else if (this.currentState === 'idle' && this.outgoing.size >= this.options.threshold) {
      this.broker.log.info(`bridge ${this.name}: ${this.outgoing.size} messages waiting, connecting (start_type lazy)`);
      this.connectRemote();
    }
  }

  /** bridge_max_packet_size: a PUBLISH larger than it is not sent out (logged, acknowledged locally). */
  private tooLarge(topic: string, packet: PublishPacket, properties: Properties | undefined): boolean {
    const max = this.options.maxPacketSize;
    if (max === 0) return false;
    const size = encodedLength({ type: 'publish', topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, dup: false, packetId: packet.qos > 0 ? 1 : undefined, properties }, this.options.protocolVersion);
    if (size <= max) return false;
    this.fault(new Error(`bridge ${this.name}: a message on ${topic} (${size} bytes as a PUBLISH) is larger than bridge_max_packet_size ${max}: not sent`));
    return true;
  }

  private sendOut(flow: OutgoingFlow, client: MqttClient): void {
    flow.sentOn = client;
    const { qos, retain } = this.withinRemoteLimits(client, flow.qos, flow.retain);
    client.publish(flow.topic, flow.payload, { qos, retain, properties: flow.properties }).then(
      () => this.finishOut(flow),
      (err: unknown) => {
        if (err instanceof MqttError && (err.code === 'PUBLISH_REJECTED' || err.code === 'INVALID_ARGUMENT' || err.code === 'PACKET_TOO_LARGE')) {
          // the remote refused this message: sending it again would be refused again
          this.fault(new Error(`bridge ${this.name}: the remote broker refused a message on ${flow.topic}: ${err.message}`));
          this.finishOut(flow);
          return;
        }
        // the connection went down: the message waits for the next one
        if (flow.sentOn === client) flow.sentOn = undefined;
      },
    );
  }

  /**
   * A 5.0 remote may take less than we have: QoS above its Maximum QoS goes at its maximum
   * [MQTT-3.2.2-11], RETAIN is cleared when it has no retained messages [MQTT-3.2.2-14].
   */
  private withinRemoteLimits(client: MqttClient, qos: QoS, retain: boolean): { qos: QoS; retain: boolean } {
    const p = client.connack?.properties;
    if (p === undefined) return { qos, retain };
    const maximumQoS = (p.maximumQoS ?? 2) as QoS;
    return { qos: qos > maximumQoS ? maximumQoS : qos, retain: retain && p.retainAvailable !== 0 };
  }

  private finishOut(flow: OutgoingFlow): void {
    if (!this.outgoing.delete(flow)) return;
    this.idleWatch?.touch();
    flow.acknowledge();
  }

  // ---- remote side --------------------------------------------------------------------------

  /** A new remote client, to the current address; it reconnects by itself (nextAttempt) until it is ended. */
  private connectRemote(): void {
    if (this.currentState === 'stopped') return;
    const o = this.options;
    const address = this.address;
    this.currentState = 'connecting';
    const clientOptions = remoteClientOptions(o, address, this.broker.options.maxInflightMessages);
    clientOptions.nextAttempt = () => this.nextAttempt();
    let client: MqttClient;
    try {
      client = connect(clientOptions);
    } catch (err) {
      this.fault(err as Error);
      this.scheduleRestart();
      return;
    }
    this.client = client;
    this.clientConnected = false;
    client.on('connect', () => this.onRemoteConnect(client));
    client.on('reconnect', () => {
      if (client === this.client && this.currentState === 'waiting') this.currentState = 'connecting';
    });
    client.on('message', (_topic, _payload, packet) => this.onRemoteMessage(packet));
    client.on('error', (err) => this.fault(new Error(`bridge ${this.name} (${this.address.host}:${this.address.port}): ${err.message}`)));
    client.on('close', () => this.onRemoteClose(client));
  }

  /** The remote client lost its connection or failed an attempt: the next address in turn, after the restart timeout. */
  private nextAttempt(): NextAttempt | undefined {
    if (this.currentState === 'stopped' || this.options.startType === 'once') return undefined;
    this.addressIndex = (this.addressIndex + 1) % this.options.addresses.length;
    const a = this.address;
    return { delay: this.backoff.next() * 1000, protocol: a.protocol, host: a.host, port: a.port, path: a.path ?? '/mqtt' };
  }

  private onRemoteConnect(client: MqttClient): void {
    if (client !== this.client) return;
    const o = this.options;
    this.clientConnected = true;
    this.backoff.reset();
    this.broker.log.info(`bridge ${this.name}: connected to ${this.address.host}:${this.address.port}`);
    const failed = (what: string) => (err: Error) => {
      if (client === this.client) this.fault(new Error(`bridge ${this.name}: ${what}: ${err.message}`));
    };
    // the topic lines' SUBSCRIBE and UNSUBSCRIBE go first (as Mosquitto's), then what waited for
    // this connection, in order
    const subscribed = this.subscribeRemote(client);
    for (const flow of this.outgoing) if (flow.sentOn === undefined) this.sendOut(flow, client);
    subscribed.then(
      async () => {
        if (client !== this.client) return;
        // connected once the remote subscriptions stand: what is published upstream from now on comes in
        this.currentState = 'connected';
        // after subscribing, so that a topic line taking the notification topic in does not bring it
        // back (No Local holds for live messages, not for retained ones sent on subscribing)
        if (o.notifications && !o.notificationsLocalOnly) client.publish(o.notificationTopic, '1', { qos: 1, retain: true }).catch(failed('remote notification'));
        if (o.notifications) await this.notifyLocal('1').catch(failed('local notification'));
        // the local retained messages, as Mosquitto sends them on each connection
        await this.subscribeLocal(true).catch(failed('local subscribe'));
        if (client !== this.client) return;
        if (!o.roundRobin && this.addressIndex !== 0) this.watchPrimary(client);
        if (o.startType === 'lazy') {
          // idle_timeout without traffic and nothing waiting: disconnect until the threshold is reached again
          this.idleWatch = new IdleWatch(o.idleTimeout * 1000, () => this.outgoing.size > 0, () => {
            if (client !== this.client || !this.clientConnected) return;
            this.broker.log.info(`bridge ${this.name}: idle for ${o.idleTimeout} s, disconnecting (start_type lazy)`);
            void this.disconnectRemote(client);
          });
          this.idleWatch.start();
        }
        this.emit('connect', this.address);
      },
      failed('subscribe'),
    );
  }

  /**
   * As Mosquitto does on each connection: one request per topic line, in their order, sent at once.
   * An in/both line is subscribed to (5.0: No Local keeps our own messages from coming back, Retain
   * As Published keeps RETAIN). An out line is unsubscribed from, with bridge_attempt_unsubscribe
   * (the default): a remote session kept from a configuration where that line was in would otherwise
   * go on sending what the line no longer takes in.
   */
  private async subscribeRemote(client: MqttClient): Promise<void> {
    const o = this.options;
    const v5 = o.protocolVersion === 5;
    const requests: Promise<void>[] = [];
    for (const m of o.mappings) {
      if (m.direction === 'out') {
        if (o.attemptUnsubscribe) requests.push(client.unsubscribe(m.remoteFilter).then(() => undefined));
        continue;
      }
      const subscribed = client.subscribe([{ topicFilter: m.remoteFilter, qos: m.qos, noLocal: v5, retainAsPublished: v5 }]);
      requests.push(
        subscribed.then((results) => {
          for (const r of results) {
            if (r.reasonCode >= 0x80) this.fault(new Error(`bridge ${this.name}: the remote broker refused the subscription to ${r.topicFilter} (0x${r.reasonCode.toString(16)})`));
          }
        }),
      );
    }
    await Promise.all(requests);
  }

  private onRemoteMessage(packet: PublishPacket): void {
    const link = this.link;
    if (link === undefined) return;
    if (this.isNotification(packet.topic)) return;
    this.idleWatch?.touch();
    const mapped = incomingTopic(this.options.mappings, packet.topic);
    // A remote session kept from an earlier configuration may bring topics no line takes in.
    if (mapped === undefined) {
      this.broker.log.debug(`bridge ${this.name}: dropped a message on ${packet.topic}, which no in/both topic maps`);
      return;
    }
    link
      .publish({ topic: mapped.topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, properties: forwardedProperties(packet.properties) })
      .catch((err: Error) => this.fault(new Error(`bridge ${this.name}: ${err.message}`)));
  }

  private onRemoteClose(client: MqttClient): void {
    if (client !== this.client) return;
    const wasConnected = this.clientConnected;
    this.clientConnected = false;
    this.primaryProbe?.stop();
    this.primaryProbe = undefined;
    this.idleWatch?.stop();
    if (this.currentState === 'stopped') return;
    if (wasConnected) {
      this.broker.log.info(`bridge ${this.name}: connection to ${this.address.host}:${this.address.port} lost`);
      if (this.options.notifications) this.notifyLocal('0').catch(() => undefined);
      this.emit('disconnect');
    }
    // the client tries again by itself, with its session
    if (client.state === 'reconnecting') {
      this.currentState = 'waiting';
      return;
    }
    // the client is done: ended for the primary address or for idleness, or a once bridge failed;
    // what it had in flight goes out again on the next client
    this.client = undefined;
    void client.end();
    for (const flow of this.outgoing) if (flow.sentOn === client) flow.sentOn = undefined;
    if (this.returningToPrimary) {
      this.returningToPrimary = false;
      this.addressIndex = 0;
      this.connectRemote();
      return;
    }
    if (this.options.startType === 'lazy') {
      this.currentState = 'idle';
      // messages that came meanwhile may already reach the threshold
      if (this.outgoing.size >= this.options.threshold) this.connectRemote();
      return;
    }
    if (this.options.startType === 'once') {
      this.broker.log.info(`bridge ${this.name}: start_type once: not connecting again`);
      this.currentState = 'idle';
      return;
    }
    this.addressIndex = (this.addressIndex + 1) % this.options.addresses.length;
    this.scheduleRestart();
  }

  /** round_robin false: leave a secondary address for the primary once the primary is back. */
  private watchPrimary(client: MqttClient): void {
    const primary = this.options.addresses[0];
    this.primaryProbe = new PrimaryProbe(primary, this.options.restartTimeout.base * 1000, () => {
      if (client !== this.client) return;
      this.broker.log.info(`bridge ${this.name}: primary address ${primary.host}:${primary.port} is back`);
      this.returningToPrimary = true;
      void client.end();
    });
    this.primaryProbe.start();
  }

  private scheduleRestart(): void {
    if (this.currentState === 'stopped') return;
    this.currentState = 'waiting';
    const seconds = this.backoff.next();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.connectRemote();
    }, seconds * 1000);
  }

  private fault(err: Error): void {
    this.broker.log.warn(err.message);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

export function createBridge(broker: Broker, options: BridgeOptions): Bridge {
  return new Bridge(broker, options);
}
