// mqtt-hub-broker: one broker from our engine inside Node-RED. It listens where the form says,
// takes msgs in as publishes, sends its events out as plain data, and on close gives the port back
// before Node-RED's close timeout.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { WebSocketServer } from 'ws';
import type { Packet, Subscription } from '../../src/codec/types';
import { addMonitor, removeMonitor } from './broker-admin';
import { BrokerMonitor } from './broker-monitor';
import { announceBroker } from './broker-registry';
import { describePacket } from './packet-text';
import type { BrokerSettings } from './broker-settings';
import * as path from 'node:path';
import { createBridge, createEngineBroker, burnVerifyTime, createSecurityHooks, DiskStore, verifyPassword, WebSocketStream, type Bridge, type BridgeOptions, type BridgeTlsOptions, type ClientHandle, type BrokerOptions, type ClientInfo, type EngineBroker } from './engine';
import { buildPublishProperties, parseBool, parseQos, payloadToBuffer, publishFieldsFrom } from './message-convert';
import type { Node, NodeAPI, NodeMessage, TlsConfigNode } from './node-red-types';
import { showStatus } from './status';
import { isValidTopicName } from './topic-filter';


const REASON_BAD_USERNAME_OR_PASSWORD = 0x86;
/**
 * The client count on the status at most this often: a burst of connects costs one update (a
 * translation with a plural, a status event to the editor) instead of one per client.
 */
const CLIENT_STATUS_INTERVAL_MS = 250;
const REASON_NOT_AUTHORIZED = 0x87;
/** A refused login waits this long for its CONNACK, to slow password guessing (as the CLI's broker does). */
const LOGIN_FAILURE_DELAY_MS = 1000;

type AuthResult = boolean | { reasonCode: number };

/** Node-RED's log levels (@node-red/util's log.js): a greater one is more verbose; info is the default. */
const NODE_RED_LOG_LEVELS: Record<string, number> = { off: 1, fatal: 10, error: 20, warn: 30, info: 40, debug: 50, trace: 60 };

/**
 * The most verbose level any of Node-RED's loggers shows, from settings.logging. Lines past it are
 * not worth building: Node-RED makes an Error, with its stack, for every node.log and node.debug.
 */
export function shownLogLevel(logging: unknown): number {
  const loggers = logging !== null && typeof logging === 'object' ? Object.values(logging as Record<string, unknown>) : [];
  if (loggers.length === 0) return NODE_RED_LOG_LEVELS.info;
  const level = (l: unknown): number => {
    const name = l !== null && typeof l === 'object' ? (l as { level?: unknown }).level : undefined;
    return (typeof name === 'string' && NODE_RED_LOG_LEVELS[name]) || NODE_RED_LOG_LEVELS.info;
  };
  return Math.max(...loggers.map(level));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class BrokerController {
  private broker: EngineBroker | null = null;
  /** Open while the broker uses it; closed only after the broker has closed, so its last writes land. */
  private store: DiskStore | null = null;
  private bridges: Bridge[] = [];
  private tlsServer: tls.Server | null = null;
  private wss: WebSocketServer | null = null;
  private upgradeHandler: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | null = null;
  /** Whether any of Node-RED's loggers shows info lines (a client leaving, the engine's connect line). */
  private readonly logsInfo: boolean;
  private readonly logsDebug: boolean;
  private clientCount = 0;
  private clientStatusTimer: NodeJS.Timeout | null = null;
  /** Refused logins waiting out their delay: released when the node closes. */
  private readonly pendingRefusals = new Set<() => void>();
  private clientStatusShownAt = 0;
  private closing = false;
  /** What the editor's sidebar shows of this broker. */
  private readonly monitor: BrokerMonitor;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly settings: BrokerSettings,
  ) {
    const shown = shownLogLevel(RED.settings.logging);
    this.logsInfo = shown >= NODE_RED_LOG_LEVELS.info;
    this.logsDebug = shown >= NODE_RED_LOG_LEVELS.debug;
    this.monitor = new BrokerMonitor(RED, node);
    addMonitor(this.monitor);
  }

  /** Starts listening; a failure (port in use, bad TLS) shows red and is logged, never thrown. */
  async start(): Promise<void> {
    const s = this.settings;
    showStatus(this.RED, this.node, 'connecting');
    try {
      const tlsOptions = s.useTls ? this.tlsOptions() : null;
      const listeners: NonNullable<BrokerOptions['listeners']> = [];
      if (!tlsOptions) listeners.push({ host: s.host, port: s.port, protocol: 'mqtt' });
      if (s.wsPort > 0) listeners.push({ host: s.host, port: s.wsPort, protocol: 'ws' });
      const options = this.brokerOptions(listeners);
      if (s.persistence) {
        const directory = this.persistenceDirectory();
        this.store = await DiskStore.open({
          directory,
          fsync: 'always',
          logger: { info: (m) => this.node.log(m), warn: (m) => this.node.warn(m), error: (m) => this.node.error(m) },
        });
        options.store = this.store;
        this.node.log(this.RED._('mqtt-hub-broker.log.persistence', { directory }));
      }
      if (this.closing) return void (await this.release());
      const broker = createEngineBroker(options);
      this.broker = broker;
      this.wireEvents(broker);
      this.monitor.attach(broker);
      await broker.listen();
      if (tlsOptions) await this.listenTls(broker, tlsOptions);
      if (s.wsPath) this.attachToNodeRedServer(broker, s.wsPath);
      if (this.closing) return;
      this.startBridges(broker);
      announceBroker(this.node.id, { host: s.host, port: this.boundPort() });
      this.node.log(this.RED._('mqtt-hub-broker.log.listening', { address: `${s.host}:${this.boundPort()}` }));
      this.showClients();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const inUse = e.code === 'EADDRINUSE';
      const detail = inUse ? this.RED._('mqtt-hub-broker.status.portInUse', { port: s.port }) : e.code ?? e.message.slice(0, 40);
      this.node.error(this.RED._(inUse ? 'mqtt-hub-broker.errors.portInUse' : 'mqtt-hub-broker.errors.startFailed', { port: s.port, error: e.message }));
      showStatus(this.RED, this.node, inUse ? 'disconnected' : 'error', detail);
      await this.release();
    }
  }

  /** The node's input: a msg published into the broker as if a client had sent it. */
  async publish(msg: NodeMessage): Promise<void> {
    if (!this.broker) throw new Error(this.RED._('mqtt-hub-broker.errors.notRunning'));
    const topic = msg.topic;
    if (!isValidTopicName(topic)) throw new Error(this.RED._('mqtt-hub.errors.invalidTopic', { topic: String(topic) }));
    await this.broker.publish({
      topic,
      payload: payloadToBuffer(msg.payload),
      qos: parseQos(msg.qos) ?? 0,
      retain: parseBool(msg.retain) ?? false,
      properties: buildPublishProperties(publishFieldsFrom(msg)),
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    announceBroker(this.node.id, null);
    removeMonitor(this.monitor);
    await this.release();
    showStatus(this.RED, this.node, 'idle');
  }

  /** Bridges once the broker runs (as Mosquitto does); one that cannot connect keeps trying, logged. */
  private startBridges(broker: EngineBroker): void {
    for (const { tlsConfig, ...options } of this.settings.bridges) {
      let bridgeOptions: BridgeOptions = options;
      if (tlsConfig) {
        const tls = this.bridgeTls(tlsConfig);
        if (!tls) {
          this.node.error(this.RED._('mqtt-hub-broker.errors.bridgeFailed', { name: options.name, error: this.RED._('mqtt-hub-broker.errors.bridgeTlsMissing') }));
          continue;
        }
        bridgeOptions = { ...options, tls };
      }
      const bridge = createBridge(broker, bridgeOptions);
      bridge.on('connect', (a: { host: string; port: number }) =>
        this.node.log(this.RED._('mqtt-hub-broker.log.bridgeConnected', { name: options.name, address: `${a.host}:${a.port}` })),
      );
      bridge.on('disconnect', () => this.node.log(this.RED._('mqtt-hub-broker.log.bridgeDisconnected', { name: options.name })));
      bridge.on('error', (err: Error) => this.node.warn(err.message));
      this.bridges.push(bridge);
      bridge.start().catch((err: Error) => this.node.error(this.RED._('mqtt-hub-broker.errors.bridgeFailed', { name: options.name, error: err.message })));
    }
  }

  /** A bridge's TLS from its tls-config node (CA, client certificate, verify the server or not, SNI, ALPN); null when the node is gone. */
  private bridgeTls(id: string): BridgeTlsOptions | null {
    const tlsNode = this.RED.nodes.getNode(id) as TlsConfigNode | null;
    if (!tlsNode) return null;
    const opts: Record<string, unknown> = {};
    tlsNode.addTLSOptions(opts);
    const tls: BridgeTlsOptions = { rejectUnauthorized: opts.rejectUnauthorized !== false };
    if (opts.ca) tls.ca = opts.ca as BridgeTlsOptions['ca'];
    if (opts.cert) tls.cert = opts.cert as BridgeTlsOptions['cert'];
    if (opts.key) tls.key = opts.key as BridgeTlsOptions['key'];
    if (typeof opts.passphrase === 'string' && opts.passphrase) tls.passphrase = opts.passphrase;
    if (typeof opts.servername === 'string' && opts.servername) tls.servername = opts.servername;
    if (Array.isArray(opts.ALPNProtocols)) tls.alpn = opts.ALPNProtocols as string[];
    return tls;
  }

  /** The form's directory, or <userDir>/mqtt-hub/<node id>: one store per broker node, kept across redeploys. */
  private persistenceDirectory(): string {
    if (this.settings.persistenceDir) return path.resolve(this.settings.persistenceDir);
    const userDir = typeof this.RED.settings.userDir === 'string' && this.RED.settings.userDir ? this.RED.settings.userDir : process.cwd();
    return path.join(userDir, 'mqtt-hub', this.node.id);
  }

  private boundPort(): number {
    if (this.tlsServer) {
      const a = this.tlsServer.address();
      if (a && typeof a === 'object') return a.port;
    }
    const mqtt = this.broker?.addresses().find((a) => (a.protocol ?? 'mqtt') === 'mqtt');
    return mqtt?.port ?? this.settings.port;
  }

  private tlsOptions(): tls.TlsOptions {
    const tlsNode = this.settings.tlsConfig ? (this.RED.nodes.getNode(this.settings.tlsConfig) as TlsConfigNode | null) : null;
    if (!tlsNode) throw new Error(this.RED._('mqtt-hub-broker.errors.tlsMissing'));
    const opts: Record<string, unknown> = {};
    tlsNode.addTLSOptions(opts);
    if (!opts.cert || !opts.key) throw new Error(this.RED._('mqtt-hub-broker.errors.tlsNoCertificate'));
    // A CA in the tls-config node means "ask clients for certificates signed by it".
    if (opts.ca) {
      opts.requestCert = true;
      opts.rejectUnauthorized = opts.rejectUnauthorized !== false;
    }
    return opts as tls.TlsOptions;
  }

  private async listenTls(broker: EngineBroker, options: tls.TlsOptions): Promise<void> {
    const server = tls.createServer(options, (socket) => {
      broker.handle(socket, { address: socket.remoteAddress, port: socket.remotePort });
    });
    server.on('tlsClientError', (err) => this.node.debug(err.message));
    this.tlsServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.port, this.settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** MQTT over WebSocket on a path of Node-RED's own HTTP server. */
  private attachToNodeRedServer(broker: EngineBroker, wsPath: string): void {
    const server = this.RED.server;
    if (!server) {
      this.node.warn(this.RED._('mqtt-hub-broker.errors.noHttpServer'));
      return;
    }
    const wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    });
    this.wss = wss;
    this.upgradeHandler = (req, socket, head) => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (pathname !== wsPath) return; // another handler (Node-RED's comms, websocket nodes) owns it
      wss.handleUpgrade(req, socket, head, (ws) => {
        // binary frames only [MQTT-6.0.0-1], one MQTT packet per frame as on the broker's own ws listeners
        broker.handle(new WebSocketStream(ws), { address: req.socket.remoteAddress, port: req.socket.remotePort });
      });
    };
    server.on('upgrade', this.upgradeHandler);
  }

  private brokerOptions(listeners: NonNullable<BrokerOptions['listeners']>): BrokerOptions {
    const s = this.settings;
    const log = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string) => {
      if (level === 'error') this.node.error(message);
      else if (level === 'warn') this.node.warn(message);
      else if (level === 'info') this.node.log(message);
      else this.node.debug(message);
    };
    const options: BrokerOptions = {
      listeners,
      sysInterval: s.sysInterval,
      maxConnections: s.maxConnections,
      maxQueuedMessages: s.maxQueuedMessages,
      maxSubscriptionsPerClient: s.maxSubscriptionsPerClient,
      maxInflightMessages: s.maxInflightMessages,
      // A level no logger shows is left out, so the engine does not build its lines.
      logger: { debug: this.logsDebug ? log('debug') : undefined, info: this.logsInfo ? log('info') : undefined, warn: log('warn'), error: log('error') },
      // The node's own bridges enter the engine as internal sessions: it asks none of these hooks for them.
      authenticate: (client, username, password) => this.login(client, username, password),
    };
    if (s.maxPacketSize > 0) options.maxPacketSize = s.maxPacketSize;
    // Node-RED's own MQTT nodes (MQTT.js) keep to an advertised maximum: a larger publish fails in the
    // flow that sent it, not as a disconnect and a re-send after every reconnect
    options.advertiseMaximumPacketSize = true;
    if (s.messageSizeLimit > 0) options.messageSizeLimit = s.messageSizeLimit;
    if (s.acl) {
      // The users stay checked by authenticate() above; the ACL adds the publish, subscribe and read hooks.
      const hooks = createSecurityHooks({ acl: s.acl, allowAnonymous: s.allowAnonymous, logger: options.logger });
      options.authorizePublish = hooks.authorizePublish;
      options.authorizeSubscribe = hooks.authorizeSubscribe;
      options.authorizeRead = hooks.authorizeRead;
    }
    return options;
  }

  /** The users' verdict; a refusal is logged with the client and answered after a delay. */
  private login(client: ClientHandle, username: string | undefined, password: Buffer | undefined): AuthResult | Promise<AuthResult> {
    const verdict = this.authenticate(username, password);
    if (verdict instanceof Promise) return verdict.then((v) => (v === true ? true : this.refuseLogin(client, username, v)));
    return verdict === true ? true : this.refuseLogin(client, username, verdict);
  }

  private refuseLogin(client: ClientHandle, username: string | undefined, verdict: AuthResult): Promise<AuthResult> {
    const why = username === undefined ? 'anonymous access is not allowed' : `bad username or password for "${username}"`;
    this.node.warn(`login refused for client ${client.id} from ${client.address}: ${why}`);
    return new Promise((resolve) => {
      // Released at once when the node closes, so no timer outlives it.
      const release = (): void => {
        clearTimeout(timer);
        this.pendingRefusals.delete(release);
        resolve(verdict);
      };
      const timer = setTimeout(release, LOGIN_FAILURE_DELAY_MS);
      this.pendingRefusals.add(release);
    });
  }

  private authenticate(username: string | undefined, password: Buffer | undefined): AuthResult | Promise<AuthResult> {
    const s = this.settings;
    if (username === undefined) return s.allowAnonymous ? true : { reasonCode: REASON_NOT_AUTHORIZED };
    if (s.users.length === 0) return s.allowAnonymous ? true : { reasonCode: REASON_BAD_USERNAME_OR_PASSWORD };
    const user = s.users.find((u) => u.username === username);
    const given = password ? password.toString('utf8') : '';
    // A user imported from a password_file: its Mosquitto hash verifies the password.
    if (user?.hash !== undefined) return verifyPassword(given, user.hash).then((ok) => (ok ? true : { reasonCode: REASON_BAD_USERNAME_OR_PASSWORD }));
    // An unknown name costs a hash check when some users have hashes, so timing does not tell which exist.
    if (user === undefined && s.users.some((u) => u.hash !== undefined)) return burnVerifyTime(given).then(() => ({ reasonCode: REASON_BAD_USERNAME_OR_PASSWORD }));
    // Compare even for an unknown user, so the answer takes the same time either way.
    const ok = sameSecret(user?.password ?? '\u0000', given) && !!user;
    return ok ? true : { reasonCode: REASON_BAD_USERNAME_OR_PASSWORD };
  }

  private wireEvents(broker: EngineBroker): void {
    broker.on('clientConnected', (client: ClientInfo) => {
      this.clientCount++;
      this.showClients();
      this.emitEvent('clientConnected', {
        clientId: client.id,
        address: client.address,
        protocolVersion: client.protocolVersion,
        username: client.username,
        keepalive: client.keepalive,
      });
    });
    broker.on('clientDisconnected', (client: ClientInfo, reason: string) => {
      this.clientCount = Math.max(0, this.clientCount - 1);
      if (!this.closing) this.showClients();
      if (this.logsInfo) this.node.log(this.RED._('mqtt-hub-broker.log.clientDisconnected', { clientId: client.id, address: client.address, reason }));
      this.emitEvent('clientDisconnected', { clientId: client.id, address: client.address, reason });
    });
    broker.on('subscribed', (clientId: string, subscriptions: Subscription[]) => {
      this.emitEvent('subscribed', {
        clientId,
        subscriptions: subscriptions.map((s) => ({
          topic: s.topicFilter,
          qos: s.qos,
          ...(s.noLocal !== undefined ? { nl: s.noLocal } : {}),
          ...(s.retainAsPublished !== undefined ? { rap: s.retainAsPublished } : {}),
          ...(s.retainHandling !== undefined ? { rh: s.retainHandling } : {}),
        })),
      });
    });
    broker.on('unsubscribed', (clientId: string, topicFilters: string[]) => {
      this.emitEvent('unsubscribed', { clientId, topics: [...topicFilters] });
    });
    broker.on('error', (err: Error) => this.node.warn(err.message));
    if (this.settings.verbose) {
      broker.on('packetIn', (packet: Packet, clientId: string | undefined) => this.node.log(`${clientId ?? '-'} → ${describePacket(packet)}`));
      broker.on('packetOut', (packet: Packet, clientId: string | undefined) => this.node.log(`${clientId ?? '-'} ← ${describePacket(packet)}`));
    }
  }

  private emitEvent(topic: string, payload: Record<string, unknown>): void {
    for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
    this.node.send({ topic, payload });
  }

  /** Shows the count now, or once CLIENT_STATUS_INTERVAL_MS after the last update, whatever the count then is. */
  private showClients(): void {
    if (this.clientStatusTimer !== null) return;
    const wait = this.clientStatusShownAt + CLIENT_STATUS_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.showClientsNow();
    this.clientStatusTimer = setTimeout(() => {
      this.clientStatusTimer = null;
      this.showClientsNow();
    }, wait);
  }

  private showClientsNow(): void {
    this.clientStatusShownAt = Date.now();
    showStatus(this.RED, this.node, 'connected', this.RED._('mqtt-hub-broker.status.clients', { count: this.clientCount }));
  }

  /** Gives every port back: Node-RED's upgrade hook, the TLS server, the broker (its clients get DISCONNECT). */
  private async release(): Promise<void> {
    if (this.clientStatusTimer !== null) clearTimeout(this.clientStatusTimer);
    this.clientStatusTimer = null;
    for (const release of [...this.pendingRefusals]) release();
    // Bridges first, while the broker still runs, so their sessions end cleanly.
    const bridges = this.bridges;
    this.bridges = [];
    await Promise.all(bridges.map((b) => b.stop().catch((err: Error) => this.node.warn(err.message))));
    if (this.upgradeHandler && this.RED.server) this.RED.server.off('upgrade', this.upgradeHandler);
    this.upgradeHandler = null;
    const wss = this.wss;
    this.wss = null;
    if (wss) {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    const tlsServer = this.tlsServer;
    this.tlsServer = null;
    const tlsClosed = tlsServer ? new Promise<void>((resolve) => tlsServer.close(() => resolve())) : Promise.resolve();
    const broker = this.broker;
    this.broker = null;
    this.monitor.detach();
    if (broker) {
      await broker.close().catch((err: Error) => this.node.warn(err.message));
      broker.removeAllListeners();
    }
    await tlsClosed;
    const store = this.store;
    this.store = null;
    if (store) await store.close().catch((err: Error) => this.node.warn(err.message));
  }
}
