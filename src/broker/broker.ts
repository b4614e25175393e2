// The broker with its transports: TCP, TLS and WebSocket listeners (listeners.ts), `handle(stream)`
// where every transport enters, `publish` from the application, and an orderly `close`.
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Properties, QoS } from '../codec';
import { Connection } from './connection';
import { BrokerCore } from './core';
import type { ClientInfo } from './events';
import type { BrokerMessage } from './message';
import { createListenerServer, reloadTlsContext } from './listeners';
import { type BrokerOptions, type ConnectionInfo, type ListenerOptions, type ListenerProtocol, type ListenerSecurity, type ListenerTlsOptions, type ResolvedOptions, perListenerHooks } from './options';
import { ReasonCode } from '../codec';
import { ConnectionState } from './connection-state';
import { restoreSessions, saveAllSessions } from './persistence';
import { SysTopics } from './sys';
import { validateTopicName } from '../topics';

export interface BrokerAddress {
  address: string;
  port: number;
  family: string;
  protocol: ListenerProtocol;
}

export interface InjectedMessage {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

/** Options `reload` takes while running, as Mosquitto's reload does. */
export type ReloadableOptions = Pick<ResolvedOptions, 'allowZeroLengthClientId' | 'persistentClientExpiration'>;

/** What `reload` replaces: the broker's hooks, each listener's (by index in `listeners`), some options. */
export interface BrokerReload {
  hooks: ListenerSecurity;
  /** Per listener, in the order of the options' `listeners`: its own hooks, its TLS files' new contents. */
  listeners?: Array<{ security?: ListenerSecurity; tls?: Pick<ListenerTlsOptions, 'cert' | 'key' | 'ca' | 'crl' | 'passphrase'> } | undefined>;
  options?: Partial<ReloadableOptions>;
}

interface RunningListener {
  options: ListenerOptions;
  server: net.Server;
  wss?: WebSocketServer;
}

/** How long close() lets clients finish closing before it destroys their sockets. */
const SHUTDOWN_GRACE_MS = 1000;

export class Broker extends BrokerCore {
  private running: RunningListener[] = [];
  private readonly sys = new SysTopics(this);
  private closed: Promise<void> | undefined;

  constructor(options: BrokerOptions = {}) {
    super(options);
  }

  /** Opens every listener; rejects (closing what opened) if one cannot, e.g. `code === 'EADDRINUSE'`. */
  async listen(): Promise<void> {
    if (this.running.length > 0) return; // already listening
    if (this.closing) throw new Error('the broker was closed; create a new one');
    if (this.persistent) {
      const restored = await restoreSessions(this);
      this.retainedCount = await this.store.countRetained();
      if (restored > 0) this.log.info(`restored ${restored} session(s) from the store`);
    }
    try {
      for (const options of this.options.listeners) this.running.push(await this.open(options));
    } catch (err) {
      await this.closeListeners();
      throw err;
    }
    this.sys.start(this.options.sysInterval);
  }

  private async open(options: ListenerOptions): Promise<RunningListener> {
    const host = options.host ?? '127.0.0.1';
    const running: RunningListener = {
      options,
      ...createListenerServer(options, {
        accept: (stream, info) => this.handle(stream, info),
        tcpNoDelay: this.options.tcpNoDelay,
        error: (message) => this.log.info(message),
      }),
    };
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const error = new Error(
          err.code === 'EADDRINUSE' ? `cannot listen on ${host}:${options.port}: the address is already in use` : `cannot listen on ${host}:${options.port}: ${err.message}`,
        ) as NodeJS.ErrnoException;
        error.code = err.code;
        reject(error);
      };
      running.server.once('error', onError);
      running.server.listen(options.port, host, () => {
        running.server.off('error', onError);
        running.server.on('error', (err) => this.log.error(`listener ${host}:${options.port}: ${err.message}`));
        resolve();
      });
    });
    return running;
  }

  /** Every transport enters here: TCP, TLS, WebSocket or an in-memory pair. */
  handle(stream: Duplex, info: ConnectionInfo = {}): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    if (this.listenerCount('connectionOpened') > 0) this.emit('connectionOpened', { address: info.address, port: info.port, listenerPort: info.localPort });
    this.connections.add(new Connection(this, stream, info));
  }

  /** Publishes as the broker itself (the broker node's input); $SYS is allowed here. */
  async publish(message: InjectedMessage): Promise<void> {
    const payload = typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload;
    const qos = message.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new TypeError(`qos ${String(qos)} is not 0, 1 or 2`);
    if (!validateTopicName(message.topic)) throw new TypeError(`invalid topic name "${message.topic}"`);
    const routed: BrokerMessage = { topic: message.topic, payload, qos, retain: message.retain === true };
    if (message.properties !== undefined) {
      const { topicAlias, subscriptionIdentifiers, ...forwarded } = message.properties;
      void topicAlias;
      void subscriptionIdentifiers;
      routed.properties = forwarded;
      if (forwarded.messageExpiryInterval !== undefined) routed.expiresAt = Date.now() + forwarded.messageExpiryInterval * 1000;
    }
    this.publishMessage(routed, undefined);
  }

  /**
   * Mosquitto's reload (SIGHUP), while running: new security hooks for the broker and its listeners,
   * new certificate, key, CA and CRL for its TLS listeners (later handshakes use them), and the
   * `ReloadableOptions`; listeners themselves are not opened or closed.
   * Clients stay connected; what they publish, subscribe to and receive from now on goes through the
   * new hooks. As Mosquitto's security re-apply does, each connected client that logged in through
   * `authenticate` is checked again with the credentials it logged in with, and disconnected if now
   * refused (5.0: DISCONNECT 0x98 Administrative action). Everything but that check is applied before
   * this returns, so no packet is read under the old settings; a TLS context that cannot be made throws,
   * before anything changed. Resolves with the ids of the clients disconnected.
   */
  reload(update: BrokerReload): Promise<string[]> {
    const listeners = this.options.listeners;
    // every TLS context first: a bad key or certificate changes nothing
    for (const [i, l] of (update.listeners ?? []).entries()) {
      const target = listeners[i];
      if (l?.tls === undefined || target?.tls === undefined) continue;
      const running = this.running.find((r) => r.options === target);
      if (running !== undefined) reloadTlsContext(running.server, { ...target, tls: { ...target.tls, ...l.tls } });
    }
    for (const [i, l] of (update.listeners ?? []).entries()) {
      const target = listeners[i];
      if (l === undefined || target === undefined) continue;
      target.security = l.security;
      if (l.tls !== undefined && target.tls !== undefined) target.tls = { ...target.tls, ...l.tls };
    }
    Object.assign(this.options, perListenerHooks({ ...update.hooks, listeners }));
    for (const [name, value] of Object.entries(update.options ?? {}) as Array<[keyof ReloadableOptions, never]>) {
      if (value !== undefined) this.options[name] = value;
    }
    for (const session of this.sessions.values()) session.authorizeRead = this.options.authorizeRead;
    return this.checkLoginsAgain();
  }

  /** Each client logged in through `authenticate` is asked again; those now refused are disconnected. */
  private async checkLoginsAgain(): Promise<string[]> {
    const authenticate = this.options.authenticate;
    if (authenticate === undefined) return [];
    const refused: string[] = [];
    await Promise.all(
      [...this.clientsById.values()].map(async (c) => {
        if (c.login === undefined) return; // not accepted by the hook (enhanced authentication, the broker's own links)
        const verdict = await authenticate(c, c.username, c.login.password);
        if (verdict === true || (typeof verdict === 'object' && verdict.reasonCode === ReasonCode.Success)) return;
        if (c.state !== ConnectionState.Connected) return;
        refused.push(c.id);
        c.close('not-authorized', ReasonCode.AdministrativeAction, 'no longer authorized after the security configuration was reloaded');
      }),
    );
    return refused;
  }

  addresses(): BrokerAddress[] {
    const out: BrokerAddress[] = [];
    for (const l of this.running) {
      const a = l.server.address();
      if (a !== null && typeof a === 'object') out.push({ address: a.address, port: a.port, family: a.family, protocol: l.options.protocol ?? 'mqtt' });
    }
    return out;
  }

  clients(): ClientInfo[] {
    return [...this.clientsById.values()].map((c) => c.info());
  }

  /** Values of the $SYS topics right now. */
  sysValues(): Map<string, string> {
    return this.sys.values();
  }

  /**
   * Stops listening, publishes the Wills of connected clients (the server closes their connections
   * [MQTT-3.1.2-8]), sends 5.0 clients DISCONNECT 0x8B, and resolves once every socket is closed.
   */
  close(): Promise<void> {
    if (this.closed === undefined) this.closed = this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.sys.stop();
    const listenersClosed = this.closeListeners();
    const connections = [...this.connections];
    for (const c of connections) {
      if (c.will !== undefined && c.session !== null) {
        const session = c.session;
        session.pendingWill = c.will;
        session.connectionWill = undefined;
        c.will = undefined;
        this.publishWill(session);
      }
    }
    const socketsClosed = connections.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.stream.destroyed || c.stream.closed) return resolve();
          c.stream.once('close', () => resolve());
        }),
    );
    for (const c of connections) c.close('shutdown', 0x8b);
    // a peer that does not finish closing (a WebSocket close handshake left unanswered) is cut off
    let grace: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (grace = setTimeout(resolve, SHUTDOWN_GRACE_MS, true)));
    if (await Promise.race([Promise.all(socketsClosed).then(() => false), timedOut])) {
      for (const c of connections) c.stream.destroy();
      await Promise.all(socketsClosed);
    }
    clearTimeout(grace);
    await listenersClosed;
    if (this.persistent) {
      // persistent sessions outlive the broker in the store; a Will waiting for its delay goes now
      for (const session of this.sessions.values()) if (session.pendingWill !== undefined) this.publishWill(session);
      await saveAllSessions(this);
      for (const session of this.sessions.values()) {
        if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
        this.router.unsubscribeAll(session);
      }
      this.sessions.clear();
    } else {
      for (const session of [...this.sessions.values()]) this.endSession(session);
    }
  }

  private async closeListeners(): Promise<void> {
    const listeners = this.running;
    this.running = [];
    await Promise.all(
      listeners.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.wss?.close();
            l.server.close(() => resolve());
          }),
      ),
    );
  }
}

export function createBroker(options?: BrokerOptions): Broker {
  return new Broker(options);
}
