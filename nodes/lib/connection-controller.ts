// The mqtt-hub-connection config node's engine: one client shared by every in and out node that
// registers with it. The first user connects, the last one leaving disconnects; subscriptions are
// counted per filter, and a node that closes for a redeploy keeps its filter for a moment so that
// the same node coming back with the same filter costs no UNSUBSCRIBE/SUBSCRIBE. A full deploy hands
// the whole controller, client and table, to the config node's successor (connection-handover.ts).
import type { ConnackPacket, DisconnectPacket, Packet, Properties, PublishPacket, QoS } from '../../src/codec/types';
import {
  applyBrokerOverrides,
  connectProperties,
  serverUrl,
  willMessage,
  type ConnectionSettings,
  type LifecycleMessage,
} from './connection-settings';
import { brokerEndpoint, watchBroker } from './broker-registry';
import { connectClient, validateTopicFilter, validateTopicName, type ClientOptions, type EngineClient } from './engine';
import { buildPublishProperties, type PublishFields } from './message-convert';
import { describePacket } from './packet-text';
import type { Node, NodeAPI, TlsConfigNode } from './node-red-types';
import type { LinkState } from './status';
import { SubscriptionTable, type DeliveryHandler, type SubscriptionRequest } from './subscription-table';

/** An in or out node using the connection. */
export interface ConnectionUser {
  readonly id: string;
  linkStateChanged(state: LinkState, detail?: string): void;
}

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(readonly code: 'NOT_CONNECTED' | 'INVALID_TOPIC' | 'ALREADY_CONNECTED' | 'CLOSED', message: string) {
    super(message);
  }
}

/** How long a closed node's subscriptions and the connection itself outlive it during a redeploy. */
const REDEPLOY_GRACE_MS = 3000;
/** How long close and end get before the socket is destroyed (well inside Node-RED's 15 s). */
const END_TIMEOUT_MS = 2000;
/** A connection cut this soon after CONNACK counts towards takeover-loop detection. */
const SHORT_LIVED_MS = 10_000;
const REASON_SESSION_TAKEN_OVER = 0x8e;

export class ConnectionController {
  private client: EngineClient | null = null;
  private state: LinkState = 'idle';
  private detail: string | undefined;
  private readonly users = new Map<string, ConnectionUser>();
  private readonly table = new SubscriptionTable();
  private readonly connectListeners = new Set<() => void>();
  private settings: ConnectionSettings;
  private graceTimer: NodeJS.Timeout | null = null;
  private stopWatchingBroker: (() => void) | null = null;
  /** A start waiting for the broker node to listen (broker-node mode). */
  private awaitingBroker: { firstResult?: (err?: Error) => void } | null = null;
  private closed = false;
  /** Set by a dynamic `disconnect`: stay down until a `connect` action. */
  private heldDown = false;
  private identifiersAvailable = true;
  private connectedAt = 0;
  private shortLivedConnections = 0;
  private takeoverWarned = false;
  private lastLoggedError = '';
  /** A `connect` action changed the settings: they no longer match the config node's. */
  private overridden = false;
  /** The URL the current client dials (for log lines). */
  private currentUrl = '';
  /** Why the current connection ended, as the disconnect log line says it; set by DISCONNECT or an error. */
  private closeReason = '';

  constructor(
    private readonly RED: NodeAPI,
    private node: Node,
    settings: ConnectionSettings,
    /** The previous config node's client, still ending: dial only once it is gone. */
    private predecessorEnded: Promise<void> | null = null,
  ) {
    this.settings = settings;
  }

  get linkState(): LinkState {
    return this.state;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  get v5(): boolean {
    return this.settings.protocolVersion === 5;
  }

  get clientId(): string {
    return this.settings.clientId;
  }

  /**
   * Whether a successor with the same settings may take this controller over: only a live client on a
   * server that outlives the deploy (a broker node restarts with it, so its clients reconnect anyway).
   */
  get canHandOver(): boolean {
    return !this.closed && !!this.client && !this.heldDown && !this.overridden && this.settings.serverType !== 'broker-node';
  }

  /** A new config node with the same id and settings takes this controller over: logs go to it now. */
  adopt(node: Node): void {
    this.node = node;
  }

  register(user: ConnectionUser): void {
    // A pending grace sweep stays: it drops only what the returning nodes do not subscribe again.
    this.users.set(user.id, user);
    user.linkStateChanged(this.state === 'idle' ? 'disconnected' : this.state, this.detail);
    if (this.users.size === 1 && !this.client && this.settings.autoConnect && !this.heldDown) this.start();
  }

  /**
   * A user leaves. Removed for good: its subscriptions go now, and the last user out disconnects.
   * Closed for a redeploy: both wait REDEPLOY_GRACE_MS for the node to come back.
   */
  async deregister(user: ConnectionUser, removed: boolean): Promise<void> {
    this.users.delete(user.id);
    if (removed) {
      for (const filter of this.table.filtersOf(user.id)) await this.unsubscribe(user.id, filter);
      // Nodes closed for the same deploy may still come back for their parked filters: the sweep decides.
      if (this.users.size === 0 && !this.table.hasParked()) await this.disconnect();
      return;
    }
    this.table.park(user.id);
    this.scheduleGrace();
  }

  /** Subscribes `ref` to `filter`; a SUBSCRIBE goes out only when the server's view must change. */
  async subscribe(ref: string, filter: string, request: SubscriptionRequest, handler: DeliveryHandler): Promise<void> {
    if (typeof filter !== 'string' || !validateTopicFilter(filter)) throw new ConnectionError('INVALID_TOPIC', this.RED._('mqtt-hub.errors.invalidTopicFilter', { topic: filter }));
    const entry = this.table.add(ref, filter, request, handler);
    if (this.client && this.connected && this.table.needsSubscribe(entry)) await this.sendSubscribe(entry.filter);
  }

  async unsubscribe(ref: string, filter: string): Promise<void> {
    if (!this.table.remove(ref, filter)) return;
    if (this.client && this.connected) {
      await this.client.unsubscribe([filter]).catch((err: Error) => this.logError(err));
    }
  }

  /** Publishes with the connection's user properties under the caller's layers (later wins per key). */
  async publish(topic: string, payload: Buffer, qos: QoS, retain: boolean, ...layers: PublishFields[]): Promise<void> {
    if (typeof topic !== 'string' || !validateTopicName(topic)) throw new ConnectionError('INVALID_TOPIC', this.RED._('mqtt-hub.errors.invalidTopic', { topic: String(topic) }));
    if (!this.client || !this.connected) throw new ConnectionError('NOT_CONNECTED', this.RED._('mqtt-hub.errors.notConnected'));
    const properties = this.v5 ? buildPublishProperties({ userProperties: this.settings.publishUserProperties }, ...layers) : undefined;
    await this.client.publish(topic, payload, { qos, retain, properties });
  }

  /** Calls `listener` on every (re)connect until the returned function is called. */
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  /** The dynamic `connect` action: resolves once connected, or fails if the first attempt fails. */
  async connectAction(overrides: Record<string, unknown> | null): Promise<void> {
    if (this.client && (this.state === 'connected' || this.state === 'connecting')) {
      if (!overrides) return;
      if (!overrides.force) throw new ConnectionError('ALREADY_CONNECTED', this.RED._('mqtt-hub.errors.alreadyConnected'));
      await this.stop();
    }
    if (overrides) {
      this.settings = applyBrokerOverrides(this.settings, overrides);
      this.overridden = true;
    }
    this.heldDown = false;
    await new Promise<void>((resolve, reject) => {
      this.start((err) => (err ? reject(err) : resolve()));
    });
  }

  /** The dynamic `disconnect` action: stays disconnected until a `connect` action. */
  async disconnectAction(): Promise<void> {
    this.heldDown = true;
    await this.stop();
  }

  private unwatchBrokerNode(): void {
    this.stopWatchingBroker?.();
    this.stopWatchingBroker = null;
  }

  /** The config node closes: no more reconnects, the close message, a clean DISCONNECT, no timers left. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelGrace();
    this.unwatchBrokerNode();
    await this.stop();
    this.users.clear();
    this.connectListeners.clear();
  }

  private async disconnect(): Promise<void> {
    await this.stop();
  }

  private scheduleGrace(): void {
    if (this.closed) return; // the config node closed first: nothing is left to keep
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      void this.sweep();
    }, REDEPLOY_GRACE_MS);
    this.graceTimer.unref();
  }

  private cancelGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  private async sweep(): Promise<void> {
    const gone = this.table.sweepParked();
    if (gone.length && this.client && this.connected) {
      await this.client.unsubscribe(gone).catch((err: Error) => this.logError(err));
    }
    if (this.users.size === 0) await this.disconnect();
  }

  private setState(state: LinkState, detail?: string): void {
    this.state = state;
    this.detail = detail;
    for (const user of this.users.values()) user.linkStateChanged(state === 'idle' ? 'disconnected' : state, detail);
  }

  private describeServer(): string {
    const where = this.currentUrl || (this.settings.serverType === 'broker-node' ? `broker node ${this.settings.brokerNode}` : serverUrl(this.settings));
    return `${this.settings.clientId ? this.settings.clientId + '@' : ''}${where}`;
  }

  /** Opens the client; `firstResult` hears the outcome of the first attempt (for the connect action). */
  private start(firstResult?: (err?: Error) => void): void {
    if (this.closed || this.client) {
      firstResult?.(this.closed ? new ConnectionError('CLOSED', this.RED._('mqtt-hub.errors.connectionClosed')) : undefined);
      return;
    }
    this.setState('connecting');
    const predecessor = this.predecessorEnded;
    if (predecessor) {
      this.predecessorEnded = null;
      void predecessor.then(() => {
        // Meanwhile a disconnect action or the last user leaving may have said to stay down.
        if (!firstResult && (this.heldDown || this.users.size === 0)) return this.setState('idle');
        this.start(firstResult);
      });
      return;
    }
    if (this.settings.serverType === 'broker-node') {
      this.watchBrokerNode();
      const endpoint = brokerEndpoint(this.settings.brokerNode);
      if (!endpoint) {
        // The broker node has not started listening yet: wait for it rather than fail a first dial.
        this.awaitingBroker = { firstResult };
        return;
      }
      this.open(brokerNodeUrl(endpoint), firstResult);
      return;
    }
    this.open(serverUrl(this.settings), firstResult);
  }

  /**
   * Follows the broker node for as long as this connection may use it: dials it when it starts
   * listening, and dials again when a redeploy moves it to another port.
   */
  private watchBrokerNode(): void {
    if (this.stopWatchingBroker) return;
    this.stopWatchingBroker = watchBroker(this.settings.brokerNode, (endpoint) => {
      if (!endpoint || this.closed || this.heldDown || this.settings.serverType !== 'broker-node') return;
      if (!this.client) {
        const waiting = this.awaitingBroker;
        this.awaitingBroker = null;
        if (waiting) this.start(waiting.firstResult);
        return;
      }
      if (brokerNodeUrl(endpoint) !== this.currentUrl) void this.stop().then(() => this.start());
    });
  }

  private clientOptions(url: string): ClientOptions {
    const s = this.settings;
    const opts: ClientOptions = {
      clientId: s.clientId || `nodered_${this.RED.util.generateId().slice(0, 12)}`,
      protocolVersion: s.protocolVersion,
      keepalive: s.keepalive,
      clean: s.cleanStart,
      reconnectPeriod: s.reconnectPeriod,
      reconnectPeriodMax: Math.max(s.reconnectPeriod, 30_000),
      connectTimeout: s.connectTimeout,
      // Subscriptions are this controller's to restore: it knows which nodes still want them.
      resubscribe: false,
      properties: connectProperties(s),
      will: willMessage(s),
    };
    if (s.username) opts.username = s.username;
    if (s.password) opts.password = Buffer.from(s.password);
    const secure = /^(mqtts|wss):/i.test(url);
    if (secure) {
      const tlsNode = s.tlsConfig ? (this.RED.nodes.getNode(s.tlsConfig) as TlsConfigNode | null) : null;
      // The tls-config node has already logged why its files could not be read.
      if (tlsNode && tlsNode.valid === false) throw new Error(this.RED._('mqtt-hub.errors.tlsInvalid'));
      if (tlsNode) tlsNode.addTLSOptions(opts as Record<string, unknown>);
      else this.node.warn(this.RED._('mqtt-hub.errors.tlsWithoutSettings', { url }));
      // Verify the server unless the tls-config node says otherwise.
      if (opts.rejectUnauthorized === undefined) opts.rejectUnauthorized = true;
    }
    return opts;
  }

  private open(url: string, firstResult?: (err?: Error) => void): void {
    let client: EngineClient;
    try {
      client = connectClient(url, this.clientOptions(url));
    } catch (err) {
      this.setState('error', (err as Error).message);
      this.node.error(this.RED._('mqtt-hub.errors.connectFailed', { server: url, error: (err as Error).message }));
      firstResult?.(err as Error);
      return;
    }
    this.client = client;
    this.currentUrl = url;
    let settled = !firstResult;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      firstResult?.(err);
    };
    client.on('connect', (connack: ConnackPacket) => this.onConnected(client, connack, settle));
    if (this.settings.verbose) {
      client.on('packetsend', (packet: Packet) => this.node.log(`→ ${describePacket(packet)}`));
      client.on('packetreceive', (packet: Packet) => this.node.log(`← ${describePacket(packet)}`));
    }
    client.on('message', (_topic: string, _payload: Buffer, packet: PublishPacket) => {
      if (client === this.client) this.table.dispatch(packet, this.v5 && this.identifiersAvailable);
    });
    client.on('reconnect', () => {
      if (client === this.client) this.setState('connecting');
    });
    client.on('disconnect', (packet: DisconnectPacket) => {
      if (client !== this.client) return;
      const reason = packet?.reasonCode ?? 0;
      if (reason === REASON_SESSION_TAKEN_OVER) this.warnTakeover();
      const reasonString = packet?.properties?.reasonString;
      this.closeReason = this.RED._('mqtt-hub.state.serverSentDisconnect', { reasonCode: `0x${reason.toString(16).padStart(2, '0')}`, reasonString: reasonString ?? '' }).trim();
      this.node.log(this.RED._('mqtt-hub.state.serverDisconnected', { server: this.describeServer(), reasonCode: reason, reasonString: reasonString ?? '' }));
    });
    client.on('close', () => this.onClosed(client));
    client.on('offline', () => this.onClosed(client));
    client.on('error', (err: Error) => {
      if (client !== this.client) return;
      if (!this.closeReason) this.closeReason = err.message;
      this.logError(err);
      if (!this.connected) this.setState('disconnected', shortError(err));
      settle(err);
    });
  }

  private onConnected(client: EngineClient, connack: ConnackPacket, settle: (err?: Error) => void): void {
    if (client !== this.client) return;
    this.connectedAt = Date.now();
    this.lastLoggedError = '';
    this.closeReason = '';
    const props: Properties = connack?.properties ?? {};
    this.identifiersAvailable = props.subscriptionIdentifiersAvailable !== 0;
    if (props.assignedClientIdentifier) this.settings = { ...this.settings, clientId: props.assignedClientIdentifier };
    this.setState('connected');
    this.node.log(this.RED._('mqtt-hub.state.connected', { server: this.describeServer() }));
    // Without a kept session the server knows none of our filters [MQTT-3.2.2-2]: send them all again.
    if (!connack?.sessionPresent) this.table.forgetSent();
    for (const entry of this.table.all()) {
      if (this.table.needsSubscribe(entry)) void this.sendSubscribe(entry.filter);
    }
    if (this.settings.birth) void this.sendLifecycle(this.settings.birth);
    for (const listener of [...this.connectListeners]) listener();
    settle();
  }

  private onClosed(client: EngineClient): void {
    if (client !== this.client || this.state === 'disconnected' || this.state === 'idle') return;
    if (this.state === 'connected') {
      this.node.log(this.RED._('mqtt-hub.state.disconnected', { server: this.describeServer(), reason: this.closeReason || this.RED._('mqtt-hub.state.connectionLost') }));
      if (Date.now() - this.connectedAt < SHORT_LIVED_MS) {
        if (++this.shortLivedConnections >= 3) this.warnTakeover();
      } else {
        this.shortLivedConnections = 0;
        this.takeoverWarned = false;
      }
    }
    this.setState('disconnected', this.detail);
  }

  /** Another client with our id keeps taking the session over [MQTT-3.1.4-3]: say so once. */
  private warnTakeover(): void {
    if (this.takeoverWarned) return;
    this.takeoverWarned = true;
    this.node.warn(this.RED._('mqtt-hub.errors.takeoverLoop', { clientId: this.settings.clientId }));
  }

  private logError(err: Error): void {
    const text = err.message;
    if (text === this.lastLoggedError) return; // a reconnect loop logs each distinct failure once
    this.lastLoggedError = text;
    this.node.warn(this.RED._('mqtt-hub.errors.connectionError', { server: this.describeServer(), error: text }));
  }

  private async sendSubscribe(filter: string): Promise<void> {
    const entry = this.table.get(filter);
    const client = this.client;
    if (!entry || !client) return;
    const request = this.table.effective(entry);
    entry.sent = request;
    const subscribeOptions = this.v5 && this.identifiersAvailable ? { subscriptionIdentifier: entry.subscriptionIdentifier } : {};
    try {
      const result = await client.subscribe([{ topicFilter: filter, ...request }], subscribeOptions);
      const codes = grantedCodes(result);
      if (codes.length && codes[0] >= 0x80) {
        entry.sent = null;
        this.node.warn(this.RED._('mqtt-hub.errors.subscribeRefused', { topic: filter, reasonCode: `0x${codes[0].toString(16)}` }));
      }
    } catch (err) {
      entry.sent = null;
      this.logError(err as Error);
    }
  }

  private async sendLifecycle(message: LifecycleMessage): Promise<void> {
    try {
      await this.publish(message.topic, message.payload, message.qos, message.retain, lifecycleFields(message.properties));
    } catch (err) {
      this.logError(err as Error);
    }
  }

  /** Ends the client: the close message first when connected, a DISCONNECT, the socket gone within END_TIMEOUT_MS. */
  private async stop(): Promise<void> {
    this.awaitingBroker = null;
    const client = this.client;
    if (!client) {
      this.setState('idle');
      return;
    }
    if (this.connected && this.settings.close) {
      await withTimeout(this.sendLifecycle(this.settings.close), END_TIMEOUT_MS);
    }
    this.client = null;
    this.setState('idle');
    this.table.forgetSent();
    const ended = await withTimeout(client.end().then(() => true, () => true), END_TIMEOUT_MS);
    if (!ended) await client.end({ force: true }).catch(() => undefined);
    client.removeAllListeners();
    // The engine may still report a late error on its way down; nobody listens any more, so swallow it.
    client.on('error', () => undefined);
  }
}

/** Where to dial a broker node in this Node-RED: its own address, or loopback when it listens on all. */
function brokerNodeUrl(endpoint: { host: string; port: number }): string {
  const host = endpoint.host === '0.0.0.0' || endpoint.host === '::' || endpoint.host === '' ? '127.0.0.1' : endpoint.host;
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${endpoint.port}`;
}

function lifecycleFields(props: Properties | undefined): PublishFields {
  if (!props) return {};
  const fields: PublishFields = {
    responseTopic: props.responseTopic,
    correlationData: props.correlationData,
    contentType: props.contentType,
    messageExpiryInterval: props.messageExpiryInterval,
    payloadFormatIndicator: props.payloadFormatIndicator === undefined ? undefined : props.payloadFormatIndicator === 1,
  };
  if (props.userProperties) fields.userProperties = Object.fromEntries(props.userProperties);
  return fields;
}

function grantedCodes(result: unknown): number[] {
  if (Array.isArray(result)) return result.map((r) => (typeof r === 'number' ? r : Number((r as { reasonCode?: number; qos?: number }).reasonCode ?? (r as { qos?: number }).qos ?? 0)));
  const r = result as { reasonCodes?: number[]; granted?: number[] } | undefined;
  return r?.reasonCodes ?? r?.granted ?? [];
}

function shortError(err: Error): string {
  const code = (err as { code?: string }).code;
  return code && code !== 'TRANSPORT_ERROR' ? code : err.message.slice(0, 40);
}

/** Resolves with the promise's value, or `undefined` after `ms` (the timer never outlives it). */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
