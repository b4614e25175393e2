// A mosquitto.conf as the broker node's form values, for the form's "Import mosquitto.conf". The text
// goes through the CLI's own reader (parseMosquittoConf), so both accept the same files; what the
// node's form cannot hold is named in a warning with its line, never dropped in silence. Files the
// configuration names (password_file, acl_file, include_dir) are read on the Node-RED host, where
// mosquitto.conf usually lives; one that cannot be read is a warning naming it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AclRules, anonymousByDefault, parseMosquittoConf, PasswordFile, parsePasswordHash, type BridgeOptions, type ConfDiagnostic } from './engine';

export interface ImportedUser {
  username: string;
  /** The password_file's `$7$`/`$6$` hash, kept as the user's credential. */
  hash: string;
}

export interface ImportedBridge {
  name: string;
  address: string;
  remoteClientId: string;
  protocolVersion: string;
  topics: string;
  username: string;
  password: string;
  localClientId: string;
  localUsername: string;
  cleanSession: boolean;
  keepalive: string;
  restartTimeout: string;
  tryPrivate: boolean;
  notifications: boolean;
  notificationTopic: string;
}

/** The form's fields, under the names of the node's config. */
export interface ImportedForm {
  bind: 'loopback' | 'all' | 'custom';
  host: string;
  port: string;
  wsPort: string;
  usetls: boolean;
  allowAnonymous: boolean;
  users: ImportedUser[];
  acl: string;
  sysInterval: string;
  maxConnections: string;
  messageSizeLimit: string;
  maxQueuedMessages: string;
  maxSubscriptionsPerClient: string;
  maxInflightMessages: string;
  maxPacketSize: string;
  persistence: boolean;
  persistenceDir: string;
  bridges: ImportedBridge[];
}

export type ImportResult =
  | { ok: true; form: ImportedForm; warnings: ConfDiagnostic[] }
  | { ok: false; errors: ConfDiagnostic[]; warnings: ConfDiagnostic[] };

/** One option line, and the `connection` section it belongs to (-1: the top level). */
interface OptionLine {
  option: string;
  args: string[];
  file: string;
  line: number;
  bridge: number;
}

/** Every option line in the order the reader takes them, include_dir files where they are included. */
function scanLines(text: string, file: string, included: Map<string, Array<{ name: string; text: string }>>): OptionLine[] {
  const out: OptionLine[] = [];
  let bridge = -1;
  const scan = (t: string, f: string): void => {
    t.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const [option, ...args] = line.split(/\s+/);
      if (option === 'connection') bridge++;
      out.push({ option, args, file: f, line: i + 1, bridge });
      if (option === 'include_dir') for (const inc of included.get(args.join(' ')) ?? []) scan(inc.text, inc.name);
    });
  };
  scan(text, file);
  return out;
}

/** Top-level options the form takes (or names in a warning of their own). */
const IMPORTED = new Set([
  'port', 'bind_address', 'listener', 'protocol', 'certfile', 'keyfile', 'cafile', 'require_certificate', 'use_identity_as_username',
  'password_file', 'acl_file', 'allow_anonymous', 'per_listener_settings', 'persistence', 'persistence_location',
  'sys_interval', 'max_connections', 'message_size_limit', 'max_packet_size', 'max_queued_messages', 'max_inflight_messages',
  'max_subscriptions_per_client',
  'include_dir', 'connection',
]);

/** Bridge options the form takes (or names in a warning of their own). */
const BRIDGE_IMPORTED = new Set([
  'connection', 'address', 'addresses', 'topic', 'remote_username', 'remote_password', 'remote_clientid', 'clientid',
  'local_clientid', 'local_username', 'local_password', 'bridge_protocol_version', 'cleansession', 'keepalive_interval', 'restart_timeout',
  'try_private', 'notifications', 'notification_topic', 'bridge_cafile', 'bridge_certfile', 'bridge_keyfile', 'bridge_insecure', 'bridge_alpn',
]);

/** Options that have a reason of their own for not being imported. */
const NOT_IMPORTED_BECAUSE: Record<string, string> = {
  log_type: "the node logs to Node-RED's log (the Listeners tab can log every packet)",
  log_dest: "the node logs to Node-RED's log",
  connection_messages: "the node logs connections to Node-RED's log",
  autosave_interval: "the node's store writes every change at once",
  autosave_on_changes: "the node's store writes every change at once",
};

/** The topic line's words as the form writes them; `""` stands for an empty pattern or prefix. */
function topicLine(t: BridgeOptions['topics'][number]): string {
  const w = (s: string): string => (s === '' ? '""' : s);
  const words = [w(t.pattern)];
  if (t.direction !== undefined || t.qos !== undefined || t.localPrefix !== undefined) words.push(t.direction ?? 'out');
  if (t.qos !== undefined || t.localPrefix !== undefined) words.push(String(t.qos ?? 0));
  if (t.localPrefix !== undefined) words.push(w(t.localPrefix), w(t.remotePrefix ?? ''));
  return words.join(' ');
}

/** Diagnostics in file order, then line order (problems found once a section is complete come late). */
function byLine(list: ConfDiagnostic[]): ConfDiagnostic[] {
  return [...list].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
}

/** A bind address, with every way of saying "all interfaces" as one. */
function sameAddress(host: string | undefined): string {
  return host === undefined || host === '0.0.0.0' || host === '::' ? '*' : host;
}

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads `text` (a mosquitto.conf named `file`) into the form's values. Certificate and key options are
 * kept as their paths (the node takes them from a tls-config node), by a reader that returns the path
 * instead of the file's contents.
 */
export function importMosquittoConf(text: string, file = 'mosquitto.conf'): ImportResult {
  const warnings: ConfDiagnostic[] = [];
  const included = new Map<string, Array<{ name: string; text: string }>>();
  const conf = parseMosquittoConf(text, {
    file,
    readFile: (f) => Buffer.from(f, 'utf8'),
    readDir: (dir) => {
      try {
        const files = fs
          .readdirSync(dir)
          .filter((n) => n.endsWith('.conf'))
          .sort()
          .map((n) => ({ name: path.join(dir, n), text: fs.readFileSync(path.join(dir, n), 'utf8') }));
        included.set(dir, files);
        return files;
      } catch (err) {
        const line = scanLines(text, file, included).find((l) => l.option === 'include_dir')?.line ?? 0;
        warnings.push({ file, line, message: `include_dir '${dir}' cannot be read on the Node-RED host (${(err as Error).message}): its files are not imported` });
        return [];
      }
    },
  });
  warnings.push(...conf.warnings);
  if (conf.errors.length > 0) return { ok: false, errors: byLine(conf.errors), warnings: byLine(warnings) };
  const lines = scanLines(text, file, included);
  /** The last line of a top-level option, as the reader lets the last one win. */
  const where = (option: string): { file: string; line: number } => {
    const l = lines.filter((x) => x.bridge < 0 && x.option === option).pop();
    return l ? { file: l.file, line: l.line } : { file, line: 0 };
  };
  const at = (option: string, message: string): void => {
    warnings.push({ ...where(option), message });
  };
  const pathOf = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? ''));

  const form: ImportedForm = {
    bind: 'loopback',
    host: '',
    port: '1883',
    wsPort: '',
    usetls: false,
    allowAnonymous: true,
    users: [],
    acl: '',
    sysInterval: '10',
    maxConnections: '0',
    messageSizeLimit: '0',
    maxQueuedMessages: '1000',
    maxSubscriptionsPerClient: '100000',
    maxInflightMessages: '20',
    maxPacketSize: '0',
    persistence: false,
    persistenceDir: '',
    bridges: [],
  };

  // Listeners: the node has one MQTT port (plain or TLS) and one WebSocket port on one address.
  const listenerLines = lines.filter((l) => l.option === 'listener');
  const listenerWhere = (index: number): { file: string; line: number } => {
    const n = conf.defaultListenerIndex === 0 ? index - 1 : index;
    if (n < 0) return where(lines.some((l) => l.option === 'port' && l.bridge < 0) ? 'port' : 'bind_address');
    const l = listenerLines[n];
    return l ? { file: l.file, line: l.line } : { file, line: 0 };
  };
  let mqttHost: string | undefined;
  let mqttSet = false;
  let wsSet = false;
  /** Indexes in conf.listeners of the listeners the form takes (MQTT first, then WebSocket). */
  const used: number[] = [];
  conf.listeners.forEach((l, i) => {
    const place = listenerWhere(i);
    const ws = l.protocol === 'ws' || l.protocol === 'wss';
    if (ws ? wsSet : mqttSet) {
      warnings.push({ ...place, message: `listener on port ${l.port} is not imported: the node has one MQTT port and one WebSocket port (the first of each is used)` });
      return;
    }
    if (ws) {
      wsSet = true;
      used.push(i);
      form.wsPort = String(l.port);
      if (l.protocol === 'wss') warnings.push({ ...place, message: `the WebSocket listener on port ${l.port} uses TLS in mosquitto.conf; the node's WebSocket port has no TLS` });
      if (mqttSet && sameAddress(l.host) !== sameAddress(mqttHost)) warnings.push({ ...place, message: `the WebSocket listener's address '${l.host ?? '*'}' is not imported: the node listens on one address for both ports` });
      if (!mqttSet) mqttHost = l.host;
    } else {
      mqttSet = true;
      used.unshift(i);
      mqttHost = l.host;
      form.port = String(l.port);
    }
    const tls = l.tls as { cert?: unknown; key?: unknown; ca?: unknown; requireCertificate?: boolean } | undefined;
    if (tls && !ws) {
      form.usetls = true;
      // A CA in the node's TLS configuration means "require client certificates signed by it".
      const withCa = tls.ca !== undefined && tls.requireCertificate === true;
      const files = [`certificate ${pathOf(tls.cert)}`, `private key ${pathOf(tls.key)}`, ...(withCa ? [`CA certificate ${pathOf(tls.ca)}`] : [])];
      const unreadable = [tls.cert, tls.key, withCa ? tls.ca : undefined].filter((f) => f && !readable(pathOf(f))).map(pathOf);
      warnings.push({
        ...place,
        message:
          `listener on port ${l.port} uses TLS: make a TLS configuration node with the ${files.join(', ')} and choose it on the Security tab` +
          (withCa ? ' (its CA makes the broker require client certificates, as require_certificate true does)' : '') +
          (tls.ca !== undefined && !withCa ? `; leave cafile ${pathOf(tls.ca)} out of it: with a CA the node requires client certificates` : '') +
          (unreadable.length ? `; not readable on the Node-RED host: ${unreadable.join(', ')}` : ''),
      });
    }
    if (l.useIdentityAsUsername) warnings.push({ ...place, message: `use_identity_as_username is not supported by the node: clients log in with a username and password` });
  });
  if (wsSet && !mqttSet) warnings.push({ file, line: 0, message: `no MQTT listener in the file: the node's MQTT port is ${form.port}` });
  if (conf.listeners.length > 0) {
    // No bind address: Mosquitto listens on every interface.
    if (mqttHost === undefined || mqttHost === '0.0.0.0' || mqttHost === '::') form.bind = 'all';
    else if (mqttHost === '127.0.0.1' || mqttHost === 'localhost') form.bind = 'loopback';
    else {
      form.bind = 'custom';
      form.host = mqttHost;
    }
  }

  // Limits (Mosquitto's defaults when not given, as the file means them).
  const o = conf.options;
  if (o.sysInterval !== undefined) form.sysInterval = String(o.sysInterval);
  if (o.maxConnections !== undefined) form.maxConnections = String(o.maxConnections);
  if (o.messageSizeLimit !== undefined) form.messageSizeLimit = String(o.messageSizeLimit);
  if (o.maxPacketSize !== undefined) form.maxPacketSize = String(o.maxPacketSize);
  if (o.maxQueuedMessages !== undefined) form.maxQueuedMessages = String(o.maxQueuedMessages);
  if (o.maxSubscriptionsPerClient !== undefined) form.maxSubscriptionsPerClient = String(o.maxSubscriptionsPerClient);
  if (o.maxInflightMessages !== undefined) {
    // 0 is "no limit" in mosquitto.conf; the node's largest window is 65535.
    form.maxInflightMessages = String(o.maxInflightMessages === 0 ? 65535 : o.maxInflightMessages);
    if (o.maxInflightMessages === 0) at('max_inflight_messages', `'max_inflight_messages 0' (no limit) is imported as 65535, the node's largest value`);
  }

  // Persistence.
  form.persistence = conf.persistence.enabled;
  if (conf.persistence.location !== undefined) form.persistenceDir = conf.persistence.location;

  // Security: allow_anonymous as Mosquitto 2 reads it; the files' contents from the Node-RED host.
  // per_listener_settings true: the security options of the listener the MQTT port comes from; the node
  // has one set for both of its ports.
  const sec = conf.listenerSecurity ? conf.listenerSecurity[used[0]] ?? {} : conf.security;
  if (conf.listenerSecurity && used.length === 2) {
    const key = (x: typeof sec): string => JSON.stringify([x.allowAnonymous, x.passwordFile?.path, x.aclFile?.path]);
    const ws = conf.listenerSecurity[used[1]] ?? {};
    if (key(ws) !== key(sec)) {
      warnings.push({ ...listenerWhere(used[1]), message: `the WebSocket listener's own security options (per_listener_settings true) are not imported: the node has one set for both ports, those of the listener on port ${form.port}` });
    }
  }
  form.allowAnonymous = sec.allowAnonymous ?? anonymousByDefault(conf, sec);
  if (sec.passwordFile) form.users = importUsers(sec.passwordFile.path, sec.passwordFile.where, warnings);
  if (sec.aclFile) {
    const { path: aclPath, where } = sec.aclFile;
    try {
      form.acl = fs.readFileSync(aclPath, 'utf8');
      try {
        AclRules.parse(form.acl, aclPath);
      } catch (err) {
        warnings.push({ ...where, message: `acl_file '${aclPath}' is imported but has a problem the ACL field shows: ${(err as Error).message}` });
      }
    } catch (err) {
      warnings.push({ ...where, message: `acl_file '${aclPath}' cannot be read on the Node-RED host (${(err as Error).message}): paste its rules into the ACL field` });
    }
  }

  form.bridges = conf.bridges.map((b, i) => importBridge(b.options, lines.filter((l) => l.bridge === i), b.where, warnings));

  // Every other line the reader took without a warning of its own: the form has no field for it.
  const warned = new Set(warnings.map((w) => `${w.file}:${w.line}`));
  for (const l of lines) {
    if (warned.has(`${l.file}:${l.line}`) || IMPORTED.has(l.option) || (l.bridge >= 0 && BRIDGE_IMPORTED.has(l.option))) continue;
    // The node's bridges start with the broker, as 'start_type automatic' (the default) says.
    if (l.option === 'start_type' && l.args.join(' ') === 'automatic') continue;
    const why = NOT_IMPORTED_BECAUSE[l.option] ?? "the broker node has no field for it (the engine's default is used)";
    const prefix = l.bridge < 0 ? '' : `bridge ${conf.bridges[l.bridge]?.options.name}: `;
    warnings.push({ file: l.file, line: l.line, message: `${prefix}option '${l.option}' is not imported: ${why}` });
  }
  return { ok: true, form, warnings: byLine(warnings) };
}

function importUsers(file: string, where: { file: string; line: number }, warnings: ConfDiagnostic[]): ImportedUser[] {
  let passwords: PasswordFile;
  try {
    passwords = PasswordFile.parse(fs.readFileSync(file, 'utf8'), { file, allowPlainText: true });
  } catch (err) {
    warnings.push({ ...where, message: `password_file '${file}' cannot be read on the Node-RED host (${(err as Error).message}): no users are imported; add them on the Security tab` });
    return [];
  }
  const users: ImportedUser[] = [];
  for (const username of passwords.usernames()) {
    const hash = passwords.getHash(username) ?? '';
    if (parsePasswordHash(hash)) users.push({ username, hash });
    else warnings.push({ ...where, message: `user '${username}' of password_file '${file}' has no $7$ or $6$ hash (plain text?): the user is not imported` });
  }
  return users;
}

function importBridge(b: BridgeOptions, lines: OptionLine[], connection: { file: string; line: number }, warnings: ConfDiagnostic[]): ImportedBridge {
  const has = (option: string): boolean => lines.some((l) => l.option === option);
  const warn = (option: string, message: string): void => {
    const l = lines.filter((x) => x.option === option).pop();
    warnings.push({ ...(l ? { file: l.file, line: l.line } : connection), message: `bridge ${b.name}: ${message}` });
  };
  const restart = b.restartTimeout;
  const bridge: ImportedBridge = {
    name: b.name,
    address: (Array.isArray(b.address) ? b.address : [b.address]).join(' '),
    remoteClientId: b.remoteClientId ?? '',
    protocolVersion: String(b.protocolVersion ?? 'mqttv311'),
    topics: b.topics.map(topicLine).join('\n'),
    username: b.remoteUsername ?? '',
    password: b.remotePassword === undefined ? '' : String(b.remotePassword),
    localClientId: b.localClientId ?? '',
    localUsername: b.localUsername ?? '',
    cleanSession: b.cleanSession ?? false,
    keepalive: b.keepalive === undefined ? '' : String(b.keepalive),
    restartTimeout: restart === undefined ? '' : typeof restart === 'number' ? String(restart) : `${restart.base} ${restart.cap}`,
    tryPrivate: b.tryPrivate ?? true,
    notifications: b.notifications ?? true,
    notificationTopic: b.notificationTopic ?? '',
  };
  if (b.tls) {
    const t = b.tls;
    // The reader gave back paths for the files it was asked to read; anything else (a bridge_capath
    // directory read on its own) is named by its option.
    const p = (v: unknown): string => {
      const text = Buffer.isBuffer(v) ? v.toString('utf8') : '';
      return text && !text.includes('\n') ? text : 'of bridge_capath';
    };
    const files = [t.ca && `CA certificate ${p(t.ca)}`, t.cert && `certificate ${p(t.cert)}`, t.key && `private key ${p(t.key)}`].filter(Boolean);
    const option = ['bridge_cafile', 'bridge_certfile', 'bridge_keyfile', 'bridge_insecure'].find(has) ?? 'bridge_alpn';
    warn(
      option,
      `TLS to the remote broker: make a TLS configuration node` +
        (files.length ? ` with the ${files.join(', ')}` : '') +
        (t.rejectUnauthorized === false ? `, "verify server certificate" off (bridge_insecure true)` : '') +
        ` and choose it in the bridge's advanced options`,
    );
    if (t.alpn) warn('bridge_alpn', `'bridge_alpn' is set in the TLS configuration node's ALPN field, not imported`);
  }
  if (b.localPassword !== undefined) warn('local_password', `'local_password' is not imported: the node's own bridges need no login to the node's broker`);
  return bridge;
}
