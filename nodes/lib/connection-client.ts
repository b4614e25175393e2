// The connection config node's dealings with the engine's client, apart from its lifecycle: the
// settings as ClientOptions (TLS from a tls-config node), where to dial a broker node of the same
// Node-RED, the birth and close messages, reading a SUBACK, and ending a client within a bound.
import type { Properties } from '../../src/codec/types';
import { connectProperties, willMessage, type ConnectionSettings, type LifecycleMessage } from './connection-settings';
import type { ClientOptions, EngineClient } from './engine';
import { buildPublishProperties, type PublishFields } from './message-convert';
import type { Node, NodeAPI, TlsConfigNode } from './node-red-types';

/** The client's options for dialling `url`; throws when the tls-config node cannot be used. */
export function clientOptionsFor(RED: NodeAPI, node: Node, s: ConnectionSettings, url: string): ClientOptions {
  const opts: ClientOptions = {
    clientId: s.clientId || `nodered_${RED.util.generateId().slice(0, 12)}`,
    protocolVersion: s.protocolVersion,
    keepalive: s.keepalive,
    clean: s.cleanStart,
    reconnectPeriod: s.reconnectPeriod,
    reconnectPeriodMax: Math.max(s.reconnectPeriod, 30_000),
    connectTimeout: s.connectTimeout,
    // Subscriptions are the controller's to restore: it knows which nodes still want them.
    resubscribe: false,
    properties: connectProperties(s),
    will: willMessage(s),
  };
  if (s.username) opts.username = s.username;
  if (s.password) opts.password = Buffer.from(s.password);
  const secure = /^(mqtts|wss):/i.test(url);
  if (secure) {
    const tlsNode = s.tlsConfig ? (RED.nodes.getNode(s.tlsConfig) as TlsConfigNode | null) : null;
    // The tls-config node has already logged why its files could not be read.
    if (tlsNode && tlsNode.valid === false) throw new Error(RED._('mqtt-hub.errors.tlsInvalid'));
    if (tlsNode) tlsNode.addTLSOptions(opts as Record<string, unknown>);
    else node.warn(RED._('mqtt-hub.errors.tlsWithoutSettings', { url }));
    // Verify the server unless the tls-config node says otherwise.
    if (opts.rejectUnauthorized === undefined) opts.rejectUnauthorized = true;
  }
  return opts;
}

/** Where to dial a broker node in this Node-RED: its own address, or loopback when it listens on all. */
export function brokerNodeUrl(endpoint: { host: string; port: number }): string {
  const host = endpoint.host === '0.0.0.0' || endpoint.host === '::' || endpoint.host === '' ? '127.0.0.1' : endpoint.host;
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${endpoint.port}`;
}

/**
 * Publishes a birth or close message; under 5.0 with its properties, the connection's user properties
 * beneath the message's own.
 */
export async function publishLifecycle(client: EngineClient, message: LifecycleMessage, v5: boolean, userProperties: PublishFields['userProperties']): Promise<void> {
  const properties = v5 ? buildPublishProperties({ userProperties }, lifecycleFields(message.properties)) : undefined;
  await client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain, properties });
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

/** The reason codes (5.0) or granted QoS (3.1.1) of a subscribe's answer. */
export function grantedCodes(result: unknown): number[] {
  if (Array.isArray(result)) return result.map((r) => (typeof r === 'number' ? r : Number((r as { reasonCode?: number; qos?: number }).reasonCode ?? (r as { qos?: number }).qos ?? 0)));
  const r = result as { reasonCodes?: number[]; granted?: number[] } | undefined;
  return r?.reasonCodes ?? r?.granted ?? [];
}

/** A client error as a status detail: its code, or the start of its message. */
export function shortError(err: Error): string {
  const code = (err as { code?: string }).code;
  return code && code !== 'TRANSPORT_ERROR' ? code : err.message.slice(0, 40);
}

/** Ends `client` with a DISCONNECT, destroying the socket after `timeoutMs`; it emits nothing after. */
export async function endClient(client: EngineClient, timeoutMs: number): Promise<void> {
  const ended = await withTimeout(client.end().then(() => true, () => true), timeoutMs);
  if (!ended) await client.end({ force: true }).catch(() => undefined);
  client.removeAllListeners();
  // The engine may still report a late error on its way down; nobody listens any more, so swallow it.
  client.on('error', () => undefined);
}

/** Resolves with the promise's value, or `undefined` after `ms` (the timer never outlives it). */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
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
