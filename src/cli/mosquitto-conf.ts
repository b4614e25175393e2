// Reads Mosquitto's mosquitto.conf format into broker options, so a user can start `mqtt-hub broker`
// with the configuration they already have. Every line is accounted for: applied, a warning naming an
// option that is not supported yet, or an error. Security options this broker cannot honour are
// errors, never warnings: a configuration that asks for protection must not start a broker open to
// everyone. Files named by TLS and bridge options are read here, so an unreadable one is reported
// with its line; password_file and acl_file are loaded when the broker starts (conf/security.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrokerOptions, ListenerOptions } from '../broker';
import { applyBridgeOption, checkBridge, startBridge, type ConfBridge } from './conf/bridge-section';
import { optionReader, type ConfDiagnostic, type Where } from './conf/diagnostics';
import { finishListenerTls } from './conf/listener-tls';

export type { ConfDiagnostic } from './conf/diagnostics';
export type { ConfBridge } from './conf/bridge-section';

/** A file named in the configuration, with the line that named it. */
export interface ConfFile {
  path: string;
  where: Where;
}

/** allow_anonymous, password_file, acl_file: turned into hooks by conf/security.ts. */
export interface ConfSecurity {
  /** Unset: false when a password_file is given (Mosquitto 2's default), true otherwise. */
  allowAnonymous?: boolean;
  allowAnonymousWhere?: Where;
  passwordFile?: ConfFile;
  aclFile?: ConfFile;
  /** psk_file: the keys of the TLS-PSK listeners (psk_hint) these options apply to. */
  pskFile?: ConfFile;
}

/** persistence, persistence_location, autosave_interval: turned into a DiskStore by conf/persistence.ts. */
export interface ConfPersistence {
  enabled: boolean;
  /** persistence_location; the working directory when unset, as Mosquitto. */
  location?: string;
  /** autosave_interval in seconds; unset = DiskStore's default (fsync every write). */
  autosaveInterval?: number;
  /** persistence_file: the store's folder within the location; unset = the location itself. */
  file?: string;
}

export interface MosquittoConf {
  options: BrokerOptions;
  /** Listeners in the order given; the default listener (`port`/`bind_address`) first, if any. */
  listeners: ListenerOptions[];
  /** Index in `listeners` of the default listener, when `port` or a global `bind_address` made one. */
  defaultListenerIndex?: number;
  /** `log_type` values in order ("all", "debug", "notice", ...); empty when none was given. */
  logTypes: string[];
  /** `connection_messages` (default true, as Mosquitto). */
  connectionMessages: boolean;
  /** The broker's security options; empty with `per_listener_settings true`. */
  security: ConfSecurity;
  /**
   * `per_listener_settings true`: each listener's own security options, in the order of `listeners`
   * (a listener without any has `{}`); undefined otherwise.
   */
  listenerSecurity?: ConfSecurity[];
  persistence: ConfPersistence;
  /** `connection` sections, in order. */
  bridges: ConfBridge[];
  warnings: ConfDiagnostic[];
  errors: ConfDiagnostic[];
}

/** Security options this broker cannot honour (yet): refusing to start is safer than running without them. */
const SECURITY_OPTIONS = new Set([
  'auth_plugin', 'plugin', 'global_plugin', 'auth_plugin_deny_special_chars',
  'capath', 'dhparamfile', 'ciphers',
  'ciphers_tls1.3', 'tls_version', 'tls_engine', 'tls_engine_kpass_sha1', 'tls_keyform',
  'use_username_as_clientid', 'ocsp_stapling', 'ocsp_data',
  'clientid_prefixes',
]);
const SECURITY_PREFIXES = ['plugin_opt_', 'auth_opt_'];

/** Mosquitto's duration units for persistent_client_expiration. */
const DURATION_UNITS: Record<string, number> = { h: 3600, d: 86_400, w: 604_800, m: 2_592_000, y: 31_536_000 };

/** "1h", "2d", "1w", "3m" (months), "1y" in seconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([hdwmy])$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * DURATION_UNITS[m[2]];
}

export interface ParseContext {
  /** Name shown in diagnostics. */
  file?: string;
  /** Lists and reads the `*.conf` files of an include_dir (tests give their own). */
  readDir?: (dir: string) => Array<{ name: string; text: string }>;
  /** Reads a certificate or key file (tests give their own). */
  readFile?: (file: string) => Buffer;
}

function readConfDir(dir: string): Array<{ name: string; text: string }> {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.conf'))
    .sort()
    .map((n) => ({ name: path.join(dir, n), text: fs.readFileSync(path.join(dir, n), 'utf8') }));
}

interface State {
  conf: MosquittoConf;
  /** The listener options apply to: the last `listener`, or the default one. */
  current: ListenerOptions | undefined;
  /** `port`, a global `bind_address` and TLS options before any `listener`. */
  defaultListener: Partial<ListenerOptions>;
  maxConnectionsSeen: Set<number>;
  readDir: (dir: string) => Array<{ name: string; text: string }>;
  readFile: (file: string) => Buffer;
  depth: number;
  /** The `connection` section later bridge options belong to. */
  bridge: ConfBridge | undefined;
  perListenerSettings: Where | undefined;
  /** Security options by the listener they follow (the default listener before any `listener`). */
  sectionSecurity: Map<Partial<ListenerOptions>, ConfSecurity>;
  /** TLS options per listener, checked once the file is read (certfile and keyfile go together). */
  tlsLines: Map<Partial<ListenerOptions>, Where>;
}

export function parseMosquittoConf(text: string, context: ParseContext = {}): MosquittoConf {
  const conf: MosquittoConf = {
    options: {},
    listeners: [],
    logTypes: [],
    connectionMessages: true,
    security: {},
    persistence: { enabled: false },
    bridges: [],
    warnings: [],
    errors: [],
  };
  const state: State = {
    conf,
    current: undefined,
    defaultListener: {},
    maxConnectionsSeen: new Set(),
    readDir: context.readDir ?? readConfDir,
    readFile: context.readFile ?? ((file) => fs.readFileSync(file)),
    depth: 0,
    bridge: undefined,
    perListenerSettings: undefined,
    sectionSecurity: new Map(),
    tlsLines: new Map(),
  };
  parseInto(state, text, context.file ?? 'mosquitto.conf');
  const d = state.defaultListener;
  if (d.port !== undefined || d.host !== undefined || d.tls !== undefined) {
    // `port`/`bind_address` describe the default listener, which Mosquitto opens before the others.
    const { port, host, ...rest } = d;
    conf.listeners.unshift({ ...rest, port: port ?? 1883, ...(host ? { host } : {}) });
    state.tlsLines.set(conf.listeners[0], state.tlsLines.get(d) ?? { file: context.file ?? 'mosquitto.conf', line: 0 });
    conf.defaultListenerIndex = 0;
  }
  for (const l of conf.listeners) finishListenerTls(l, state.tlsLines.get(l) ?? { file: context.file ?? 'mosquitto.conf', line: 0 }, conf.errors);
  if (state.perListenerSettings) perListenerSecurity(state, conf.defaultListenerIndex !== undefined ? conf.listeners[0] : undefined);
  for (const [i, l] of conf.listeners.entries()) {
    const pskFile = conf.listenerSecurity !== undefined ? conf.listenerSecurity[i].pskFile : conf.security.pskFile;
    if (l.psk !== undefined && pskFile === undefined) {
      const where = state.tlsLines.get(l) ?? { file: context.file ?? 'mosquitto.conf', line: 0 };
      conf.errors.push({ ...where, message: `listener on port ${l.port}: psk_hint needs a psk_file with the keys of its clients` });
    }
  }
  for (const b of conf.bridges) checkBridge(b, conf.errors);
  if (conf.listeners.length > 0) conf.options.listeners = conf.listeners;
  return conf;
}

/**
 * per_listener_settings true: each listener keeps the security options that follow it, and the
 * broker has none of its own (Mosquitto's bridges then pass unchecked too). Options before any
 * `listener` belong to the default listener (`port`).
 */
function perListenerSecurity(state: State, defaultListener: ListenerOptions | undefined): void {
  const { conf } = state;
  const orphan = defaultListener === undefined ? state.sectionSecurity.get(state.defaultListener) : undefined;
  if (orphan !== undefined) {
    for (const where of [orphan.allowAnonymousWhere, orphan.passwordFile?.where, orphan.aclFile?.where]) {
      if (where) conf.warnings.push({ ...where, message: `with 'per_listener_settings true' this option belongs to the default listener, and there is none ('port' is not set): it applies to no listener` });
    }
  }
  conf.listenerSecurity = conf.listeners.map((l) => state.sectionSecurity.get(l === defaultListener ? state.defaultListener : l) ?? {});
  conf.security = {};
}

/** Reads a configuration file (and its include_dir files). A file that cannot be read is an error. */
export function loadMosquittoConf(file: string): MosquittoConf {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const conf = parseMosquittoConf('', { file });
    conf.errors.push({ file, line: 0, message: `Unable to open config file ${file}: ${(err as Error).message}` });
    return conf;
  }
  return parseMosquittoConf(text, { file });
}

function parseInto(state: State, text: string, file: string): void {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const [option, ...args] = line.split(/\s+/);
    applyOption(state, option, args, { file, line: i + 1 });
  }
}

function applyOption(state: State, option: string, args: string[], where: Where): void {
  const { conf } = state;
  const r = optionReader(option, args, where, conf, state.readFile);
  const { error, warn, oneArg, integer, bool } = r;
  const notSupported = (): void => warn(`option '${option}' is not supported yet and is ignored`);

  if (state.bridge && applyBridgeOption(state.bridge, r)) return;

  if (SECURITY_OPTIONS.has(option) || SECURITY_PREFIXES.some((p) => option.startsWith(p))) {
    if (option === 'require_certificate' && args[0] === 'false') return; // asks for nothing
    error(`security option '${option}' is not supported yet: refusing to start a broker without the protection it asks for`);
    return;
  }

  const o = conf.options;
  const listener = (): Partial<ListenerOptions> => state.current ?? state.defaultListener;
  const sectionSecurity = (): ConfSecurity => {
    const l = listener();
    let sec = state.sectionSecurity.get(l);
    if (sec === undefined) state.sectionSecurity.set(l, (sec = {}));
    return sec;
  };
  const tls = (): Partial<NonNullable<ListenerOptions['tls']>> => {
    const l = listener();
    if (!state.tlsLines.has(l)) state.tlsLines.set(l, where);
    return (l.tls ??= {} as NonNullable<ListenerOptions['tls']>);
  };
  switch (option) {
    case 'connection': {
      const b = startBridge(r);
      if (b) {
        conf.bridges.push(b);
        state.bridge = b;
      }
      return;
    }
    case 'certfile': {
      const v = r.fileContents();
      if (v) tls().cert = v;
      return;
    }
    case 'keyfile': {
      const v = r.fileContents();
      if (v) tls().key = v;
      return;
    }
    case 'cafile': {
      const v = r.fileContents();
      if (v) tls().ca = v;
      return;
    }
    case 'crlfile': {
      const v = r.fileContents();
      if (v) tls().crl = v;
      return;
    }
    case 'require_certificate': {
      const v = bool();
      if (v !== undefined) tls().requireCertificate = v;
      return;
    }
    case 'use_identity_as_username':
    case 'use_subject_as_username': {
      const v = bool();
      if (v !== undefined) {
        if (option === 'use_identity_as_username') listener().useIdentityAsUsername = v;
        else listener().useSubjectAsUsername = v;
        if (v && listener().psk === undefined) tls();
      }
      return;
    }
    case 'psk_hint': {
      const v = args.join(' ');
      if (v === '') return error(`option 'psk_hint' needs a value`);
      const l = listener();
      if (!state.tlsLines.has(l)) state.tlsLines.set(l, where);
      // the key of each identity comes from psk_file, which the broker loads as it starts (conf/security.ts)
      l.psk = { hint: v, key: () => undefined };
      return;
    }
    case 'psk_file':
    case 'password_file':
    case 'acl_file': {
      if (args.length === 0) return error(`option '${option}' needs a file name`);
      const file = { path: args.join(' '), where };
      // kept for the broker and for the listener: per_listener_settings, read last, picks one
      for (const sec of [conf.security, sectionSecurity()]) {
        if (option === 'password_file') sec.passwordFile = file;
        else if (option === 'psk_file') sec.pskFile = file;
        else sec.aclFile = file;
      }
      return;
    }
    case 'persistence': {
      const v = bool();
      if (v !== undefined) conf.persistence.enabled = v;
      return;
    }
    case 'persistence_location': {
      if (args.length === 0) return error(`option 'persistence_location' needs a directory`);
      conf.persistence.location = args.join(' ');
      return;
    }
    case 'persistence_file': {
      // the store's folder within persistence_location, so brokers sharing that location stay apart
      const v = oneArg();
      if (v === undefined) return;
      if (v === '.' || v === '..' || /[\\/]/.test(v)) return error(`option 'persistence_file' needs a name within persistence_location, not a path: ${v}`);
      conf.persistence.file = v;
      return;
    }
    case 'check_retain_source': {
      const v = bool();
      if (v !== undefined) o.checkRetainSource = v;
      return;
    }
    case 'upgrade_outgoing_qos': {
      const v = bool();
      if (v !== undefined) o.upgradeOutgoingQos = v;
      return;
    }
    case 'mount_point': {
      const v = oneArg();
      if (v === undefined) return;
      if (/[+#]/.test(v)) return error(`option 'mount_point' cannot hold the wildcards '+' or '#': ${v}`);
      listener().mountPoint = v;
      return;
    }
    case 'autosave_interval': {
      const v = integer(0);
      if (v !== undefined) conf.persistence.autosaveInterval = v;
      return;
    }
    case 'autosave_on_changes': {
      const v = bool();
      if (v) warn(`'autosave_on_changes true' is approximated: every change is written to the store's log at once, and autosave_interval is the period of its fsync`);
      return;
    }
    case 'listener': {
      if (args.length < 1 || args.length > 2) return error(`'listener' takes a port and an optional bind address`);
      const port = Number(args[0]);
      if (!/^\d+$/.test(args[0]) || port > 65535) return error(`invalid port '${args[0]}' for 'listener'`);
      const listener: ListenerOptions = { port };
      if (args[1] !== undefined) listener.host = args[1];
      conf.listeners.push(listener);
      state.current = listener;
      return;
    }
    case 'port': {
      const v = integer(0, 65535);
      if (v !== undefined) state.defaultListener.port = v;
      return;
    }
    case 'bind_address': {
      const v = oneArg();
      if (v === undefined) return;
      listener().host = v;
      return;
    }
    case 'protocol': {
      const v = oneArg();
      if (v === undefined) return;
      if (!state.current) return error(`'protocol' must follow a 'listener'`);
      // mqtts/wss follow from certfile once the whole file is read (conf/listener-tls.ts)
      if (v === 'mqtt') state.current.protocol = 'mqtt';
      else if (v === 'websockets') state.current.protocol = 'ws';
      else error(`invalid value '${v}' for 'protocol': 'mqtt' or 'websockets' is expected`);
      return;
    }
    case 'max_connections': {
      const v = integer(-1);
      if (v === undefined) return;
      // Mosquitto counts per listener; this broker counts for the whole broker.
      state.maxConnectionsSeen.add(v);
      if (state.maxConnectionsSeen.size > 1) warn(`'max_connections' applies to the whole broker here, not per listener; the largest value is used`);
      const values = [...state.maxConnectionsSeen];
      o.maxConnections = values.includes(-1) ? 0 : Math.max(...values);
      return;
    }
    case 'max_keepalive': {
      const v = integer(0, 65535);
      if (v !== undefined) o.maxKeepalive = v;
      return;
    }
    case 'message_size_limit': {
      const v = integer(0, 268_435_455);
      if (v !== undefined) o.messageSizeLimit = v;
      return;
    }
    case 'max_packet_size': {
      const v = integer(20, 268_435_455);
      if (v !== undefined) o.maxPacketSize = v;
      return;
    }
    case 'max_queued_messages': {
      const v = integer(0);
      if (v !== undefined) o.maxQueuedMessages = v;
      return;
    }
    case 'max_subscriptions_per_client': {
      // our own key (Mosquitto has no such limit): BrokerOptions.maxSubscriptionsPerClient, 0 = no limit
      const v = integer(0);
      if (v !== undefined) o.maxSubscriptionsPerClient = v;
      return;
    }
    case 'max_queued_bytes': {
      const v = integer(0);
      if (v !== undefined) o.maxQueuedBytes = v;
      return;
    }
    case 'max_inflight_messages': {
      const v = integer(0, 65535);
      if (v !== undefined) o.maxInflightMessages = v;
      return;
    }
    case 'persistent_client_expiration': {
      const v = oneArg();
      if (v === undefined) return;
      const seconds = parseDuration(v);
      if (seconds === undefined) return error(`invalid duration '${v}' for 'persistent_client_expiration': a number and a unit h, d, w, m or y is expected (e.g. 2d)`);
      o.persistentClientExpiration = seconds;
      return;
    }
    case 'allow_zero_length_clientid': {
      const v = bool();
      if (v !== undefined) o.allowZeroLengthClientId = v;
      return;
    }
    case 'allow_anonymous': {
      const v = bool();
      if (v === undefined) return;
      for (const sec of [conf.security, sectionSecurity()]) {
        sec.allowAnonymous = v;
        sec.allowAnonymousWhere = where;
      }
      return;
    }
    case 'per_listener_settings': {
      const v = bool();
      state.perListenerSettings = v ? where : undefined;
      return;
    }
    case 'sys_interval': {
      const v = integer(0);
      if (v !== undefined) o.sysInterval = v;
      return;
    }
    case 'set_tcp_nodelay': {
      const v = bool();
      if (v !== undefined) o.tcpNoDelay = v;
      return;
    }
    case 'retain_available': {
      const v = bool();
      if (v !== undefined) o.retainAvailable = v;
      return;
    }
    case 'max_qos':
    case 'maximum_qos': { // Mosquitto reads both names
      const v = integer(0, 2);
      if (v !== undefined) o.maximumQoS = v as 0 | 1 | 2;
      return;
    }
    case 'max_topic_alias': {
      const v = integer(0, 65535);
      if (v !== undefined) o.topicAliasMaximum = v;
      return;
    }
    case 'connection_messages': {
      const v = bool();
      if (v !== undefined) conf.connectionMessages = v;
      return;
    }
    case 'log_type': {
      const v = oneArg();
      if (v === undefined) return;
      const known = ['none', 'all', 'debug', 'error', 'warning', 'notice', 'information', 'subscribe', 'unsubscribe', 'websockets'];
      if (!known.includes(v)) return error(`invalid value '${v}' for 'log_type'`);
      conf.logTypes.push(v);
      return;
    }
    case 'log_dest': {
      if (args[0] === 'stdout' || args[0] === 'stderr') return; // where this broker logs anyway
      return notSupported();
    }
    case 'include_dir': {
      const dir = oneArg();
      if (dir === undefined) return;
      if (state.depth > 0) return error(`'include_dir' is only allowed in the main configuration file`);
      let files: Array<{ name: string; text: string }>;
      try {
        files = state.readDir(dir);
      } catch (err) {
        return error(`unable to open include_dir '${dir}': ${(err as Error).message}`);
      }
      state.depth++;
      for (const f of files) parseInto(state, f.text, f.name);
      state.depth--;
      return;
    }
    default:
      return notSupported();
  }
}

/** "mosquitto.conf line 12: message", the way diagnostics are printed. */
export function formatDiagnostic(d: ConfDiagnostic): string {
  return d.line > 0 ? `${d.file} line ${d.line}: ${d.message}` : `${d.file}: ${d.message}`;
}
