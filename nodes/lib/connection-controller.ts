// The mqtt-hub-connection config node's engine: one client shared by every in and out node that
// registers with it. The first user connects, the last one leaving disconnects; subscriptions are
// counted per filter, and a node that closes for a redeploy keeps its filter for a moment so that
// the same node coming back with the same filter costs no UNSUBSCRIBE/SUBSCRIBE. A full deploy hands
// the whole controller, client and table, to the config node's successor (connection-handover.ts).
// Its lifecycle is one ConnectionPhase (connection-phase.ts), changed only through `enter`.
import type { ConnackPacket, DisconnectPacket, Packet, Properties, PublishPacket, QoS } from '../../src/codec/types';
import { applyBrokerOverrides, serverUrl, type ConnectionSettings, type LifecycleMessage } from './connection-settings';
import { brokerEndpoint, watchBroker } from './broker-registry';
import { brokerNodeUrl, clientOptionsFor, endClient, grantedCodes, publishLifecycle, shortError, withTimeout } from './connection-client';
import { assertPhaseTransition, ConnectionPhase, isClosing, isLive, linkStateOf } from './connection-phase';
import { connectClient, validateTopicFilter, validateTopicName, type EngineClient } from './engine';
import { buildPublishProperties, type PublishFields } from './message-convert';
import { describePacket } from './packet-text';
import type { Node, NodeAPI } from './node-red-types';
import type { LinkState } from './status';
import { SubscriptionTable, type DeliveryHandler, type SubscriptionRequest } from './subscription-table';
import { TakeoverWatch } from './takeover-watch';

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
const REASON_SESSION_TAKEN_OVER = 0x8e;

type FirstResult = (err?: Error) => void;

export class ConnectionController {
  private phase = ConnectionPhase.Idle;
  /** The status detail shown with the phase (a reason, an error code). */
  private detail: string | undefined;
  /** The client, from Connecting until the end of Ending or Closing. */
  private client: EngineClient | null = null;
  /** While Ending or Closing: resolves when the client's close message has gone (or timed out). */
  private ending: Promise<void> | null = null;
  /** While AwaitingBroker: who hears the outcome of the first dial (a `connect` action). */
  private awaitingBrokerResult: FirstResult | undefined;
  private readonly users = new Map<string, ConnectionUser>();
  private readonly table = new SubscriptionTable();
  private readonly connectListeners = new Set<() => void>();
  private settings: ConnectionSettings;
  private graceTimer: NodeJS.Timeout | null = null;
  private stopWatchingBroker: (() => void) | null = null;
  /** The server's last CONNACK: what it offers (Subscription Identifiers). */
  private connack: ConnackPacket | null = null;
  private readonly takeover = new TakeoverWatch(() => this.node.warn(this.RED._('mqtt-hub.errors.takeoverLoop', { clientId: this.settings.clientId })));
  private lastLoggedError = '';
  /** What `connect` actions changed in the settings: they no longer match the config node's. */
  private overrides: Record<string, unknown> | null = null;
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
    return linkStateOf(this.phase);
  }

  get connectionPhase(): ConnectionPhase {
    return this.phase;
  }

  get connected(): boolean {
    return this.phase === ConnectionPhase.Connected;
  }

  /** Whether the server accepts Subscription Identifiers (5.0 CONNACK; absent means yes) [MQTT-3.2.2.3.12]. */
  private get identifiersAvailable(): boolean {
    return this.connack?.properties?.subscriptionIdentifiersAvailable !== 0;
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
    return isLive(this.phase) && this.overrides === null && this.settings.serverType !== 'broker-node';
  }

  /** A new config node with the same id and settings takes this controller over: logs go to it now. */
  adopt(node: Node): void {
    this.node = node;
  }

  register(user: ConnectionUser): void {
    // A pending grace sweep stays: it drops only what the returning nodes do not subscribe again.
    this.users.set(user.id, user);
    user.linkStateChanged(shownToUsers(this.linkState), this.detail);
    if (this.users.size === 1 && (this.phase === ConnectionPhase.Idle || this.phase === ConnectionPhase.Failed) && this.settings.autoConnect) this.start();
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
    if (this.phase === ConnectionPhase.Connected || this.phase === ConnectionPhase.Connecting) {
      if (!overrides) return;
      if (!overrides.force) throw new ConnectionError('ALREADY_CONNECTED', this.RED._('mqtt-hub.errors.alreadyConnected'));
      await this.stop(ConnectionPhase.Idle);
    }
    if (overrides) {
      this.settings = applyBrokerOverrides(this.settings, overrides);
      this.overrides = { ...this.overrides, ...overrides };
    }
    await new Promise<void>((resolve, reject) => {
      this.start((err) => (err ? reject(err) : resolve()));
    });
  }

  /** The dynamic `disconnect` action: stays disconnected until a `connect` action. */
  async disconnectAction(): Promise<void> {
    await this.stop(ConnectionPhase.HeldDown);
  }

  private unwatchBrokerNode(): void {
    this.stopWatchingBroker?.();
    this.stopWatchingBroker = null;
  }

  /** The config node closes: no more reconnects, the close message, a clean DISCONNECT, no timers left. */
  async close(): Promise<void> {
    this.cancelGrace();
    this.unwatchBrokerNode();
    await this.stop(ConnectionPhase.Closed);
    this.users.clear();
    this.connectListeners.clear();
  }

  private async disconnect(): Promise<void> {
    await this.stop(ConnectionPhase.Idle);
  }

  private scheduleGrace(): void {
    if (isClosing(this.phase)) return; // the config node closed first: nothing is left to keep
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

  /**
   * The one place the phase changes: the transition is checked, then the nodes are told what it shows.
   * Ending and Closing change nothing visible: the status stays until the client is gone.
   */
  private enter(phase: ConnectionPhase, detail?: string): void {
    assertPhaseTransition(this.phase, phase);
    this.phase = phase;
    if (phase === ConnectionPhase.Ending || phase === ConnectionPhase.Closing) return;
    this.detail = detail;
    const shown = shownToUsers(linkStateOf(phase));
    for (const user of this.users.values()) user.linkStateChanged(shown, detail);
  }

  private describeServer(): string {
    const where = this.currentUrl || (this.settings.serverType === 'broker-node' ? `broker node ${this.settings.brokerNode}` : serverUrl(this.settings));
    return `${this.settings.clientId ? this.settings.clientId + '@' : ''}${where}`;
  }

  /** Opens the client; `firstResult` hears the outcome of the first attempt (for the connect action). */
  private start(firstResult?: FirstResult): void {
    if (isClosing(this.phase)) {
      firstResult?.(new ConnectionError('CLOSED', this.RED._('mqtt-hub.errors.connectionClosed')));
      return;
    }
    if (this.client) {
      firstResult?.(); // a client is there already (live or ending)
      return;
    }
    const predecessor = this.predecessorEnded;
    if (predecessor) {
      this.predecessorEnded = null;
      this.enter(ConnectionPhase.AwaitingPredecessor);
      void predecessor.then(() => {
        // Meanwhile a disconnect action or the last user leaving may have said to stay down.
        if (!firstResult && !isClosing(this.phase) && (this.phase === ConnectionPhase.HeldDown || this.users.size === 0)) {
          if (this.phase === ConnectionPhase.AwaitingPredecessor) this.enter(ConnectionPhase.Idle);
          return;
        }
        this.start(firstResult);
      });
      return;
    }
    if (this.settings.serverType === 'broker-node') {
      this.watchBrokerNode();
      const endpoint = brokerEndpoint(this.settings.brokerNode);
      if (!endpoint) {
        // The broker node has not started listening yet: wait for it rather than fail a first dial.
        this.enter(ConnectionPhase.AwaitingBroker);
        this.awaitingBrokerResult = firstResult;
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
      if (!endpoint || this.settings.serverType !== 'broker-node') return;
      if (this.phase === ConnectionPhase.AwaitingBroker) {
        const firstResult = this.awaitingBrokerResult;
        this.awaitingBrokerResult = undefined;
        this.start(firstResult);
        return;
      }
      // A stop under way, a disconnect action or the close decides; a live client follows the move.
      if (isLive(this.phase) && brokerNodeUrl(endpoint) !== this.currentUrl) void this.stop(ConnectionPhase.Idle).then(() => this.start());
    });
  }

  private open(url: string, firstResult?: FirstResult): void {
    this.enter(ConnectionPhase.Connecting);
    let client: EngineClient;
    try {
      client = connectClient(url, clientOptionsFor(this.RED, this.node, this.settings, url));
    } catch (err) {
      this.enter(ConnectionPhase.Failed, (err as Error).message);
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
      if (client === this.client && isLive(this.phase)) this.enter(ConnectionPhase.Connecting);
    });
    client.on('disconnect', (packet: DisconnectPacket) => {
      if (client !== this.client) return;
      const reason = packet?.reasonCode ?? 0;
      if (reason === REASON_SESSION_TAKEN_OVER) this.takeover.takenOver();
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
      if (this.phase === ConnectionPhase.Connecting || this.phase === ConnectionPhase.Disconnected) this.enter(ConnectionPhase.Disconnected, shortError(err));
      settle(err);
    });
  }

  private onConnected(client: EngineClient, connack: ConnackPacket, settle: FirstResult): void {
    if (client !== this.client) return;
    if (this.phase !== ConnectionPhase.Connecting && this.phase !== ConnectionPhase.Disconnected) {
      settle(); // connected while ending: the stop under way decides what follows
      return;
    }
    this.takeover.connected(Date.now());
    this.lastLoggedError = '';
    this.closeReason = '';
    this.connack = connack ?? null;
    const props: Properties = connack?.properties ?? {};
    if (props.assignedClientIdentifier) this.settings = { ...this.settings, clientId: props.assignedClientIdentifier };
    this.enter(ConnectionPhase.Connected);
    this.node.log(this.RED._('mqtt-hub.state.connected', { server: this.describeServer() }));
    // Without a kept session the server knows none of our filters [MQTT-3.2.2-2]: send them all again.
    if (!connack?.sessionPresent) this.table.forgetSent();
    for (const entry of this.table.all()) {
      if (this.table.needsSubscribe(entry)) void this.sendSubscribe(entry.filter);
    }
    if (this.settings.birth) void this.sendLifecycle(client, this.settings.birth);
    for (const listener of [...this.connectListeners]) listener();
    settle();
  }

  private onClosed(client: EngineClient): void {
    if (client !== this.client || (this.phase !== ConnectionPhase.Connecting && this.phase !== ConnectionPhase.Connected)) return;
    if (this.phase === ConnectionPhase.Connected) {
      this.node.log(this.RED._('mqtt-hub.state.disconnected', { server: this.describeServer(), reason: this.closeReason || this.RED._('mqtt-hub.state.connectionLost') }));
      this.takeover.lost(Date.now());
    }
    this.enter(ConnectionPhase.Disconnected, this.detail);
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

  /** After a stop: Closed stays Closed, and a held-down connection stays down when only asked to rest. */
  private rest(target: ConnectionPhase.Idle | ConnectionPhase.HeldDown | ConnectionPhase.Closed): void {
    if (this.phase === ConnectionPhase.Closed) return;
    if (target === ConnectionPhase.Idle && this.phase === ConnectionPhase.HeldDown) return;
    this.enter(target);
  }

  /** The birth or close message, on `client` (the close message goes while the phase is Ending). */
  private async sendLifecycle(client: EngineClient, message: LifecycleMessage): Promise<void> {
    if (!validateTopicName(message.topic)) return this.logError(new ConnectionError('INVALID_TOPIC', this.RED._('mqtt-hub.errors.invalidTopic', { topic: String(message.topic) })));
    await publishLifecycle(client, message, this.v5, this.settings.publishUserProperties).catch((err: Error) => this.logError(err));
  }

  /**
   * Ends the client and comes to rest in `target` (Idle, HeldDown or Closed): the close message first
   * when connected, a DISCONNECT, the socket gone within END_TIMEOUT_MS.
   */
  private async stop(target: ConnectionPhase.Idle | ConnectionPhase.HeldDown | ConnectionPhase.Closed): Promise<void> {
    this.awaitingBrokerResult = undefined;
    if (this.ending) {
      // Another stop is ending the client: a close turns it into the closing at once; rest after it.
      if (target === ConnectionPhase.Closed && this.phase === ConnectionPhase.Ending) this.enter(ConnectionPhase.Closing);
      await this.ending;
      this.rest(target);
      return;
    }
    const client = this.client;
    if (!client) {
      this.rest(target);
      return;
    }
    const wasConnected = this.connected;
    this.enter(target === ConnectionPhase.Closed ? ConnectionPhase.Closing : ConnectionPhase.Ending);
    const closeMessage = this.settings.close;
    this.ending = wasConnected && closeMessage ? withTimeout(this.sendLifecycle(client, closeMessage), END_TIMEOUT_MS).then(() => undefined) : Promise.resolve();
    await this.ending;
    this.ending = null;
    this.client = null;
    this.rest(this.phase === ConnectionPhase.Closing ? ConnectionPhase.Closed : target);
    this.table.forgetSent();
    await endClient(client, END_TIMEOUT_MS);
  }
}

/** In and out nodes show a connection nobody is dialling as disconnected. */
function shownToUsers(state: LinkState): LinkState {
  return state === 'idle' ? 'disconnected' : state;
}

