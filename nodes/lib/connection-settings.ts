// Reads an mqtt-hub-connection node's saved config (strings from the form, `${ENV}` already replaced
// by Node-RED) into typed settings, and builds the client's connect options from them.
import type { Properties, ProtocolVersion, QoS, WillMessage } from '../../src/codec/types';
import {
  buildPublishProperties,
  parseBool,
  parseIntSetting,
  parseQos,
  parseUserPropertiesJson,
  payloadToBuffer,
  type PublishFields,
} from './message-convert';

export type ServerType = 'host' | 'url' | 'broker-node';

/** A birth, close or will message as the form describes it. */
export interface LifecycleMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface ConnectionSettings {
  serverType: ServerType;
  host: string;
  port: number;
  url: string;
  brokerNode: string;
  useTls: boolean;
  tlsConfig: string;
  clientId: string;
  protocolVersion: ProtocolVersion;
  keepalive: number;
  cleanStart: boolean;
  sessionExpiryInterval: number;
  autoConnect: boolean;
  /** ms between reconnect attempts. */
  reconnectPeriod: number;
  connectTimeout: number;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  topicAliasMaximum?: number;
  requestResponseInformation: boolean;
  requestProblemInformation: boolean;
  connectUserProperties?: Record<string, unknown>;
  publishUserProperties?: Record<string, unknown>;
  birth?: LifecycleMessage;
  close?: LifecycleMessage;
  will?: LifecycleMessage & { willDelayInterval?: number };
  username?: string;
  password?: string;
  /** Log every packet sent and received. */
  verbose: boolean;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(readonly key: string, message: string) {
    super(message);
  }
}

type Config = Record<string, unknown>;

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v).trim();
}

function lifecycle(config: Config, prefix: 'birth' | 'close' | 'will'): LifecycleMessage | undefined {
  const topic = str(config[`${prefix}Topic`]);
  if (!topic) return undefined;
  let userProperties: Record<string, unknown> | undefined;
  try {
    userProperties = parseUserPropertiesJson(config[`${prefix}UserProperties`]);
  } catch {
    throw new SettingsError(`${prefix}UserProperties`, `${prefix} user properties are not a JSON object`);
  }
  const fields: PublishFields = {
    contentType: str(config[`${prefix}ContentType`]) || undefined,
    responseTopic: str(config[`${prefix}ResponseTopic`]) || undefined,
    correlationData: str(config[`${prefix}CorrelationData`]) ? Buffer.from(str(config[`${prefix}CorrelationData`])) : undefined,
    payloadFormatIndicator: parseBool(config[`${prefix}PayloadFormatIndicator`]) || undefined,
    userProperties,
  };
  const expiry = parseIntSetting(config[`${prefix}MessageExpiryInterval`], -1, 0, 0xffffffff);
  if (expiry >= 0 && str(config[`${prefix}MessageExpiryInterval`]) !== '') fields.messageExpiryInterval = expiry;
  return {
    topic,
    payload: payloadToBuffer(config[`${prefix}Payload`] ?? ''),
    qos: parseQos(config[`${prefix}Qos`]) ?? 0,
    retain: parseBool(config[`${prefix}Retain`]) ?? false,
    properties: buildPublishProperties(fields),
  };
}

/** Settings from a saved config node; throws SettingsError naming the bad field. */
export function readConnectionSettings(config: Config, credentials: { user?: string; password?: string } = {}): ConnectionSettings {
  const serverType = (['host', 'url', 'broker-node'].includes(str(config.serverType)) ? str(config.serverType) : 'host') as ServerType;
  const version = str(config.protocolVersion || '5');
  if (!['3', '4', '5'].includes(version)) throw new SettingsError('protocolVersion', `protocol version must be 3, 4 or 5, not "${version}"`);
  const port = parseIntSetting(config.port, -1, 1, 65535);
  const useTls = parseBool(config.usetls) ?? false;
  if (serverType === 'host') {
    if (!str(config.host)) throw new SettingsError('host', 'no server host');
    if (str(config.port) !== '' && port < 0) throw new SettingsError('port', `port "${str(config.port)}" is not 1-65535`);
  }
  if (serverType === 'url' && !/^(mqtts?|wss?):\/\/[^/]/i.test(str(config.url))) {
    throw new SettingsError('url', `"${str(config.url)}" is not an mqtt://, mqtts://, ws:// or wss:// URL`);
  }
  if (serverType === 'broker-node' && !str(config.brokerNode)) throw new SettingsError('brokerNode', 'no broker node chosen');
  let connectUserProperties: Record<string, unknown> | undefined;
  let publishUserProperties: Record<string, unknown> | undefined;
  try {
    connectUserProperties = parseUserPropertiesJson(config.connectUserProperties);
  } catch {
    throw new SettingsError('connectUserProperties', 'connect user properties are not a JSON object');
  }
  try {
    publishUserProperties = parseUserPropertiesJson(config.publishUserProperties);
  } catch {
    throw new SettingsError('publishUserProperties', 'publish user properties are not a JSON object');
  }
  const will = lifecycle(config, 'will');
  const willDelay = parseIntSetting(config.willDelayInterval, 0, 0, 0xffffffff);
  const optional = (key: string, min: number, max: number): number | undefined => {
    const v = parseIntSetting(config[key], -1, min, max);
    return v >= min ? v : undefined;
  };
  return {
    serverType,
    host: str(config.host),
    port: port > 0 ? port : useTls ? 8883 : 1883,
    url: str(config.url),
    brokerNode: str(config.brokerNode),
    useTls,
    tlsConfig: str(config.tls),
    clientId: str(config.clientId),
    protocolVersion: Number(version) as ProtocolVersion,
    keepalive: parseIntSetting(config.keepalive, 60, 0, 65535),
    cleanStart: parseBool(config.cleanStart) ?? true,
    sessionExpiryInterval: parseIntSetting(config.sessionExpiryInterval, 0, 0, 0xffffffff),
    autoConnect: parseBool(config.autoConnect) ?? true,
    reconnectPeriod: parseIntSetting(config.reconnectPeriod, 5000, 0, 86_400_000),
    connectTimeout: parseIntSetting(config.connectTimeout, 30_000, 1000, 600_000),
    receiveMaximum: optional('receiveMaximum', 1, 65535),
    maximumPacketSize: optional('maximumPacketSize', 1, 268_435_460),
    topicAliasMaximum: optional('topicAliasMaximum', 0, 65535),
    requestResponseInformation: parseBool(config.requestResponseInformation) ?? false,
    requestProblemInformation: parseBool(config.requestProblemInformation) ?? true,
    connectUserProperties,
    publishUserProperties,
    birth: lifecycle(config, 'birth'),
    close: lifecycle(config, 'close'),
    will: will && willDelay ? { ...will, willDelayInterval: willDelay } : will,
    username: credentials.user || undefined,
    password: credentials.password || undefined,
    verbose: parseBool(config.verbose) ?? false,
  };
}

/** The URL to dial for host/port or URL settings (the broker-node case is resolved at connect time). */
export function serverUrl(s: ConnectionSettings): string {
  if (s.serverType === 'url') return s.url;
  const host = s.host.includes(':') && !s.host.startsWith('[') ? `[${s.host}]` : s.host;
  return `${s.useTls ? 'mqtts' : 'mqtt'}://${host}:${s.port}`;
}

/** 5.0 CONNECT properties from the settings [MQTT-3.1.2.11]. */
export function connectProperties(s: ConnectionSettings): Properties | undefined {
  if (s.protocolVersion !== 5) return undefined;
  const props: Properties = {};
  if (s.sessionExpiryInterval > 0) props.sessionExpiryInterval = s.sessionExpiryInterval;
  if (s.receiveMaximum !== undefined) props.receiveMaximum = s.receiveMaximum;
  if (s.maximumPacketSize !== undefined) props.maximumPacketSize = s.maximumPacketSize;
  if (s.topicAliasMaximum !== undefined) props.topicAliasMaximum = s.topicAliasMaximum;
  if (s.requestResponseInformation) props.requestResponseInformation = 1;
  if (!s.requestProblemInformation) props.requestProblemInformation = 0;
  const user = buildPublishProperties({ userProperties: s.connectUserProperties })?.userProperties;
  if (user) props.userProperties = user;
  return props;
}

/** The will as the CONNECT carries it; 5.0 properties only for 5.0. */
export function willMessage(s: ConnectionSettings): WillMessage | undefined {
  if (!s.will) return undefined;
  const { topic, payload, qos, retain, properties, willDelayInterval } = s.will;
  if (s.protocolVersion !== 5) return { topic, payload, qos, retain };
  const props: Properties = { ...properties };
  if (willDelayInterval) props.willDelayInterval = willDelayInterval;
  return { topic, payload, qos, retain, properties: Object.keys(props).length ? props : undefined };
}

/** Overrides from a dynamic `connect` action's `msg.broker`, in core's names and ours. */
export function applyBrokerOverrides(base: ConnectionSettings, o: Record<string, unknown>): ConnectionSettings {
  const s: ConnectionSettings = { ...base };
  const pick = (...keys: string[]): unknown => {
    for (const k of keys) if (o[k] !== undefined) return o[k];
    return undefined;
  };
  const url = pick('url');
  if (typeof url === 'string' && url) {
    s.serverType = 'url';
    s.url = url;
  }
  const host = pick('broker', 'host');
  if (typeof host === 'string' && host) {
    if (host.includes('://')) {
      s.serverType = 'url';
      s.url = host;
    } else {
      s.serverType = 'host';
      s.host = host;
    }
  }
  const port = parseIntSetting(pick('port'), -1, 1, 65535);
  if (port > 0) s.port = port;
  const clientId = pick('clientid', 'clientId');
  if (typeof clientId === 'string') s.clientId = clientId;
  const version = parseIntSetting(pick('protocolVersion'), -1, 3, 5);
  if (version > 0) s.protocolVersion = version as ProtocolVersion;
  s.keepalive = parseIntSetting(pick('keepalive'), s.keepalive, 0, 65535);
  const clean = parseBool(pick('cleansession', 'cleanStart', 'clean'));
  if (clean !== undefined) s.cleanStart = clean;
  s.sessionExpiryInterval = parseIntSetting(pick('sessionExpiry', 'sessionExpiryInterval'), s.sessionExpiryInterval, 0, 0xffffffff);
  const username = pick('username');
  if (typeof username === 'string') s.username = username;
  const password = pick('password');
  if (typeof password === 'string') s.password = password;
  const tls = parseBool(pick('usetls'));
  if (tls !== undefined) s.useTls = tls;
  return s;
}
