// The nodes' one seam to the engine: the client and broker modules, and the types the nodes use.
import { connect, type ClientOptions, type MqttClient } from '../../src/client';
import { createBroker, type Broker, type BrokerOptions } from '../../src/broker';

export { createSecurityHooks, WebSocketStream } from '../../src/broker';
export { AclRules, AclFileError, PasswordFile, parsePasswordHash, burnVerifyTime, verifyPassword } from '../../src/auth';
export { DiskStore } from '../../src/persistence';
export { SubscriptionTree, validateTopicFilter, validateTopicName, type MatchVisitor, type SharedGroup } from '../../src/topics';
export { createBridge, resolveBridgeOptions, type Bridge, type BridgeOptions, type BridgeTlsOptions, type BridgeTopic, type RestartTimeout } from '../../src/bridge';
export { parseMosquittoConf, type ConfDiagnostic, type MosquittoConf } from '../../src/cli/mosquitto-conf';
export { anonymousByDefault } from '../../src/cli/conf/security';

export type { ClientOptions } from '../../src/client';
export type { BrokerOptions, ClientHandle, ClientInfo } from '../../src/broker';
export type EngineClient = MqttClient;
export type EngineBroker = Broker;

export function connectClient(url: string, options: ClientOptions): MqttClient {
  return connect(url, options);
}

export function createEngineBroker(options: BrokerOptions): Broker {
  return createBroker(options);
}

/*
 * What the broker dashboard needs beyond the broker's documented calls. These read members the
 * broker keeps public (sessions, store, stats, connected clients) and live here alone, so that the
 * day the broker offers them as calls of its own only this file changes.
 */

/** One subscription of one session, connected or not. */
export interface SubscriptionView {
  clientId: string;
  topicFilter: string;
  qos: number;
  connected: boolean;
}

export function brokerSubscriptions(broker: Broker): SubscriptionView[] {
  const out: SubscriptionView[] = [];
  for (const session of broker.sessions.values()) {
    const connected = broker.clientsById.has(session.clientId);
    for (const sub of session.subscriptions.values()) out.push({ clientId: session.clientId, topicFilter: sub.topicFilter, qos: sub.qos, connected });
  }
  return out;
}

/** Retained messages on topics matching `filter` (the store's own order). */
export async function brokerRetained(broker: Broker, filter: string): Promise<Array<{ topic: string; payload: Buffer; qos: number }>> {
  const messages = await broker.store.matchRetained(filter);
  return messages.map((m) => ({ topic: m.topic, payload: m.payload, qos: m.qos }));
}

/** Message and byte counters since the broker started (as $SYS counts them). */
export function brokerCounters(broker: Broker): { publishIn: number; publishOut: number; bytesIn: number; bytesOut: number; dropped: number } {
  const s = broker.stats;
  return { publishIn: s.publishReceived, publishOut: s.publishSent, bytesIn: s.bytesReceived, bytesOut: s.bytesSent, dropped: s.publishDropped };
}

/**
 * Closes a connected client's connection as an administrative action: 5.0 clients get DISCONNECT
 * 0x98 first. The Will is published (the client did not send DISCONNECT) [MQTT-3.1.2-8].
 */
export function disconnectClient(broker: Broker, clientId: string): boolean {
  const connection = broker.clientsById.get(clientId);
  if (!connection) return false;
  connection.close('administrative-action', 0x98);
  return true;
}
