// Reads an mqtt-hub-broker node's saved config (form strings, `${ENV}` already replaced) into
// typed settings. Every limit is bounded and has a default that works.
import { AclFileError, AclRules } from './engine';
import { parseBool, parseIntSetting } from './message-convert';

export interface BrokerUser {
  username: string;
  password: string;
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
  maxInflightMessages: number;
  maxPacketSize: number;
  verbose: boolean;
  /** Keep sessions and retained messages in a DiskStore across restarts and redeploys. */
  persistence: boolean;
  /** The store's directory; '' = the node's default under Node-RED's user directory. */
  persistenceDir: string;
  /** Rules in Mosquitto's acl_file syntax; undefined = every client may do everything. */
  acl: AclRules | undefined;
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

/** The users: names from the config, passwords from the credentials (a JSON object name → password). */
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
  return names.filter(Boolean).map((username) => ({ username, password: str(passwords[username]) }));
}

export function readBrokerSettings(config: Record<string, unknown>, credentials: { passwords?: string } = {}): BrokerSettings {
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
    maxInflightMessages: parseIntSetting(config.maxInflightMessages, 20, 1, 65535),
    maxPacketSize: parseIntSetting(config.maxPacketSize, 0, 0, 268_435_460),
    verbose: parseBool(config.verbose) ?? false,
    persistence: parseBool(config.persistence) ?? false,
    persistenceDir: str(config.persistenceDir),
    acl: readAcl(config.acl === undefined || config.acl === null ? '' : String(config.acl)),
  };
}
