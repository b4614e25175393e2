// Reads an mqtt-hub-broker node's saved config (form strings, `${ENV}` already replaced) into
// typed settings. Every limit is bounded and has a default that works.
import { AclFileError, AclRules, parsePasswordHash, resolveBridgeOptions, type BridgeOptions, type BridgeTopic, type RestartTimeout } from './engine';
import { parseBool, parseIntSetting } from './message-convert';
import { isValidTopicName } from './topic-filter';

/** A user with a password typed in the form, or one imported from a password_file as a `$7$`/`$6$` hash. */
export type BrokerUser = { username: string; password: string; hash?: undefined } | { username: string; hash: string; password?: undefined };

/** A bridge of the node: the engine's options and the tls-config node its TLS comes from. */
export interface NodeBridgeOptions extends BridgeOptions {
  /** A tls-config node's id; '' or unset = no TLS of its own (an mqtts:// address then uses the system CAs). */
  tlsConfig?: string;
}

export interface BrokerSettings {
  host: string;
  port: number;
  /** 0 = no WebSocket listener of its own. */
  wsPort: number;
  /** A path on Node-RED's own HTTP server for MQTT over WebSocket; '' = none. */
  wsPath: string;
  useTls: boolean;
  tlsConfig: string;
  allowAnonymous: boolean;
  users: BrokerUser[];
  sysInterval: number;
  maxConnections: number;
  maxQueuedMessages: number;
  /** Subscriptions one client may hold; 0 = no limit. */
  maxSubscriptionsPerClient: number;
  maxInflightMessages: number;
  maxPacketSize: number;
  /** Largest PUBLISH payload accepted (message_size_limit); 0 = no limit of its own. */
  messageSizeLimit: number;
  verbose: boolean;
  /** Keep sessions and retained messages in a DiskStore across restarts and redeploys. */
  persistence: boolean;
  /** The store's directory; '' = the node's default under Node-RED's user directory. */
  persistenceDir: string;
  /** Rules in Mosquitto's acl_file syntax; undefined = every client may do everything. */
  acl: AclRules | undefined;
  /** Connections to other brokers, started after listen and stopped before close. */
  bridges: NodeBridgeOptions[];
}

export class BrokerSettingsError extends Error {
  override readonly name = 'BrokerSettingsError';
  /** The ACL line at fault, so the status can name it. */
  aclLine?: number;
}

/** The ACL field's text as rules; a parse error names its line (the form checks the same). */
function readAcl(text: string): AclRules | undefined {
  if (text.trim() === '') return undefined;
  try {
    return AclRules.parse(text, 'ACL');
  } catch (err) {
    if (!(err instanceof AclFileError)) throw err;
    const e = new BrokerSettingsError(`ACL line ${err.line}: ${err.message.replace(/^ACL:\d+: /, '')}`);
    e.aclLine = err.line;
    throw e;
  }
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v).trim();
}

/**
 * The users: names from the config, passwords from the credentials (a JSON object name → password,
 * or name → { hash } for a user imported from a password_file with its Mosquitto hash).
 */
function readUsers(config: Record<string, unknown>, passwordsJson: string | undefined): BrokerUser[] {
  const names = Array.isArray(config.brokerUsers) ? config.brokerUsers.map((u) => str(typeof u === 'object' && u ? (u as { username?: unknown }).username : u)) : [];
  let passwords: Record<string, unknown> = {};
  if (passwordsJson) {
    try {
      passwords = JSON.parse(passwordsJson) as Record<string, unknown>;
    } catch {
      throw new BrokerSettingsError('stored user passwords are not readable; enter them again');
    }
  }
  return names.filter(Boolean).map((username): BrokerUser => {
    const stored = passwords[username];
    if (stored && typeof stored === 'object') {
      const hash = str((stored as { hash?: unknown }).hash);
      if (!parsePasswordHash(hash)) throw new BrokerSettingsError(`user ${username}: the stored password hash is not a $7$ or $6$ hash`);
      return { username, hash };
    }
    return { username, password: str(stored) };
  });
}

/** `restart_timeout`'s words: "10" (constant) or "5 30" (base and cap, seconds). */
function readRestartTimeout(bridge: string, text: string): RestartTimeout | undefined {
  if (text === '') return undefined;
  const words = text.split(/\s+/);
  if (words.length > 2 || !words.every((w) => /^\d+$/.test(w) && Number(w) > 0)) {
    throw new BrokerSettingsError(`bridge ${bridge}: restart timeout "${text}" is not one or two positive whole numbers of seconds`);
  }
  const [base, cap] = words.map(Number);
  if (cap === undefined) return base;
  if (cap < base) throw new BrokerSettingsError(`bridge ${bridge}: restart timeout "${text}": the cap must not be below the base`);
  return { base, cap };
}

/** The form's advanced bridge fields; a blank or missing one keeps the engine's default. */
function readBridgeAdvanced(name: string, b: Record<string, unknown>, options: NodeBridgeOptions): void {
  if (str(b.tls)) options.tlsConfig = str(b.tls);
  if (str(b.localClientId)) options.localClientId = str(b.localClientId);
  if (str(b.localUsername)) options.localUsername = str(b.localUsername);
  const cleanSession = parseBool(b.cleanSession);
  if (cleanSession !== undefined) options.cleanSession = cleanSession;
  if (str(b.keepalive)) {
    const keepalive = parseIntSetting(b.keepalive, -1, 0, 65535);
    if (keepalive < 0) throw new BrokerSettingsError(`bridge ${name}: keepalive "${str(b.keepalive)}" is not 0-65535 seconds`);
    options.keepalive = keepalive;
  }
  const restartTimeout = readRestartTimeout(name, str(b.restartTimeout));
  if (restartTimeout !== undefined) options.restartTimeout = restartTimeout;
  const tryPrivate = parseBool(b.tryPrivate);
  if (tryPrivate !== undefined) options.tryPrivate = tryPrivate;
  const notifications = parseBool(b.notifications);
  if (notifications !== undefined) options.notifications = notifications;
  const topic = str(b.notificationTopic);
  if (topic) {
    if (!isValidTopicName(topic)) throw new BrokerSettingsError(`bridge ${name}: notification topic "${topic}" is not a topic name (no + or #)`);
    options.notificationTopic = topic;
  }
}

/** One `PATTERN [in|out|both [QOS [LOCAL REMOTE]]]` line; `""` stands for an empty pattern or prefix, as in mosquitto.conf. */
function readBridgeTopic(bridge: string, line: string, n: number): BridgeTopic {
  const words = line.split(/\s+/).map((w) => (w === '""' ? '' : w));
  const bad = (why: string): never => {
    throw new BrokerSettingsError(`bridge ${bridge}: topic line ${n}: ${why}`);
  };
  if (words.length > 5) bad('too many words (PATTERN in|out|both QOS LOCAL REMOTE)');
  const [pattern, direction, qos, localPrefix, remotePrefix] = words;
  const topic: BridgeTopic = { pattern };
  if (direction !== undefined) {
    if (direction !== 'in' && direction !== 'out' && direction !== 'both') bad(`"${direction}" is not in, out or both`);
    topic.direction = direction as 'in' | 'out' | 'both';
  }
  if (qos !== undefined) {
    if (!/^[012]$/.test(qos)) bad(`QoS "${qos}" is not 0, 1 or 2`);
    topic.qos = Number(qos) as 0 | 1 | 2;
  }
  if (localPrefix !== undefined) {
    if (remotePrefix === undefined) bad('a local prefix needs a remote prefix');
    topic.localPrefix = localPrefix;
    topic.remotePrefix = remotePrefix;
  }
  return topic;
}

/** The bridges: addresses and topics from the config, usernames and passwords from the credentials (JSON name → {username, password}). */
function readBridges(config: Record<string, unknown>, secretsJson: string | undefined): NodeBridgeOptions[] {
  const list = Array.isArray(config.bridges) ? (config.bridges as Array<Record<string, unknown>>) : [];
  let secrets: Record<string, { username?: unknown; password?: unknown }> = {};
  if (secretsJson) {
    try {
      secrets = JSON.parse(secretsJson) as typeof secrets;
    } catch {
      throw new BrokerSettingsError('stored bridge credentials are not readable; enter them again');
    }
  }
  return list.map((b, i) => {
    const name = str(b.name) || `bridge${i + 1}`;
    const topics = String(b.topics ?? '')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .map((l, n) => (l === '' || l.startsWith('#') ? undefined : readBridgeTopic(name, l, n + 1)))
      .filter((t): t is BridgeTopic => t !== undefined);
    const options: NodeBridgeOptions = { name, address: str(b.address), topics };
    if (str(b.remoteClientId)) options.remoteClientId = str(b.remoteClientId);
    const version = str(b.protocolVersion);
    if (version) options.protocolVersion = version as BridgeOptions['protocolVersion'];
    const secret = secrets[name] ?? {};
    if (str(secret.username)) options.remoteUsername = str(secret.username);
    if (str(secret.password)) options.remotePassword = String(secret.password);
    readBridgeAdvanced(name, b, options);
    try {
      // The engine's own checks (address, topics, protocol), so a mistake shows at deploy, not on connect.
      // A tls-config node makes a host:port address mqtts, as bridge_cafile does in mosquitto.conf.
      const { tlsConfig, ...engineOptions } = options;
      resolveBridgeOptions(tlsConfig ? { ...engineOptions, tls: {} } : engineOptions);
    } catch (err) {
      throw new BrokerSettingsError((err as Error).message);
    }
    return options;
  });
}

export function readBrokerSettings(config: Record<string, unknown>, credentials: { passwords?: string; bridgeSecrets?: string } = {}): BrokerSettings {
  const bind = str(config.bind) || 'loopback';
  const host = bind === 'all' ? '0.0.0.0' : bind === 'custom' ? str(config.host) : '127.0.0.1';
  if (!host) throw new BrokerSettingsError('no bind address');
  const port = parseIntSetting(config.port, -1, 0, 65535);
  if (port < 0) throw new BrokerSettingsError(`port "${str(config.port)}" is not 0-65535`);
  const wsPort = str(config.wsPort) === '' ? 0 : parseIntSetting(config.wsPort, -1, 0, 65535);
  if (wsPort < 0) throw new BrokerSettingsError(`WebSocket port "${str(config.wsPort)}" is not 0-65535`);
  const wsPath = str(config.wsPath);
  if (wsPath && !wsPath.startsWith('/')) throw new BrokerSettingsError(`WebSocket path "${wsPath}" must start with /`);
  return {
    host,
    port,
    wsPort,
    wsPath,
    useTls: parseBool(config.usetls) ?? false,
    tlsConfig: str(config.tls),
    allowAnonymous: parseBool(config.allowAnonymous) ?? true,
    users: readUsers(config, credentials.passwords),
    sysInterval: parseIntSetting(config.sysInterval, 10, 0, 86_400),
    maxConnections: parseIntSetting(config.maxConnections, 0, 0, 1_000_000),
    maxQueuedMessages: parseIntSetting(config.maxQueuedMessages, 1000, 0, 10_000_000),
    maxSubscriptionsPerClient: parseIntSetting(config.maxSubscriptionsPerClient, 100_000, 0, 100_000_000),
    maxInflightMessages: parseIntSetting(config.maxInflightMessages, 20, 1, 65535),
    maxPacketSize: parseIntSetting(config.maxPacketSize, 0, 0, 268_435_460),
    messageSizeLimit: parseIntSetting(config.messageSizeLimit, 0, 0, 268_435_455),
    verbose: parseBool(config.verbose) ?? false,
    persistence: parseBool(config.persistence) ?? false,
    persistenceDir: str(config.persistenceDir),
    bridges: readBridges(config, credentials.bridgeSecrets),
    acl: readAcl(config.acl === undefined || config.acl === null ? '' : String(config.acl)),
  };
}
