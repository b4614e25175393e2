// Reads Mosquitto's mosquitto.conf format into broker options, so a user can start `mqtt-hub broker`
// with the configuration they already have. Every line is accounted for: applied, a warning naming an
// option that is not supported yet, or an error. Security options are errors, never warnings: a
// configuration that asks for passwords, ACLs or TLS must not start a broker open to everyone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrokerOptions, ListenerOptions } from '../broker';

export interface ConfDiagnostic {
  file: string;
  line: number;
  message: string;
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
  warnings: ConfDiagnostic[];
  errors: ConfDiagnostic[];
}

/** Options whose presence means authentication, authorization or TLS: refusing to start is safer. */
const SECURITY_OPTIONS = new Set([
  'password_file', 'acl_file', 'auth_plugin', 'plugin', 'global_plugin', 'auth_plugin_deny_special_chars',
  'certfile', 'keyfile', 'cafile', 'capath', 'crlfile', 'dhparamfile', 'require_certificate', 'ciphers',
  'ciphers_tls1.3', 'tls_version', 'tls_engine', 'tls_engine_kpass_sha1', 'tls_keyform', 'psk_file', 'psk_hint',
  'use_identity_as_username', 'use_subject_as_username', 'use_username_as_clientid', 'ocsp_stapling', 'ocsp_data',
  'check_retain_source', 'clientid_prefixes',
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
  defaultListener: { port?: number; host?: string };
  maxConnectionsSeen: Set<number>;
  readDir: (dir: string) => Array<{ name: string; text: string }>;
  depth: number;
}

export function parseMosquittoConf(text: string, context: ParseContext = {}): MosquittoConf {
  const conf: MosquittoConf = { options: {}, listeners: [], logTypes: [], connectionMessages: true, warnings: [], errors: [] };
  const state: State = {
    conf,
    current: undefined,
    defaultListener: {},
    maxConnectionsSeen: new Set(),
    readDir: context.readDir ?? readConfDir,
    depth: 0,
  };
  parseInto(state, text, context.file ?? 'mosquitto.conf');
  if (state.defaultListener.port !== undefined || state.defaultListener.host !== undefined) {
    // `port`/`bind_address` describe the default listener, which Mosquitto opens before the others.
    conf.listeners.unshift({ port: state.defaultListener.port ?? 1883, ...(state.defaultListener.host ? { host: state.defaultListener.host } : {}) });
    conf.defaultListenerIndex = 0;
  }
  if (conf.listeners.length > 0) conf.options.listeners = conf.listeners;
  return conf;
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

type Where = { file: string; line: number };

function applyOption(state: State, option: string, args: string[], where: Where): void {
  const { conf } = state;
  const error = (message: string): void => {
    conf.errors.push({ ...where, message });
  };
  const warn = (message: string): void => {
    conf.warnings.push({ ...where, message });
  };
  const notSupported = (): void => warn(`option '${option}' is not supported yet and is ignored`);
  const oneArg = (): string | undefined => {
    if (args.length !== 1) {
      error(`option '${option}' takes exactly one value`);
      return undefined;
    }
    return args[0];
  };
  const integer = (min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const v = oneArg();
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      error(`invalid value '${v}' for '${option}': an integer from ${min} to ${max} is expected`);
      return undefined;
    }
    return Number(v);
  };
  const bool = (): boolean | undefined => {
    const v = oneArg();
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') {
      error(`invalid value '${v}' for '${option}': 'true' or 'false' is expected`);
      return undefined;
    }
    return v === 'true';
  };

  if (SECURITY_OPTIONS.has(option) || SECURITY_PREFIXES.some((p) => option.startsWith(p))) {
    if (option === 'require_certificate' && args[0] === 'false') return; // asks for nothing
    error(`security option '${option}' is not supported yet: refusing to start a broker without the protection it asks for`);
    return;
  }

  const o = conf.options;
  switch (option) {
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
      if (state.current) state.current.host = v;
      else state.defaultListener.host = v;
      return;
    }
    case 'protocol': {
      const v = oneArg();
      if (v === undefined) return;
      if (!state.current) return error(`'protocol' must follow a 'listener'`);
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
      // allow_anonymous true is what this broker does; false asks for authentication it cannot do yet.
      if (v === false) error(`security option 'allow_anonymous false' is not supported yet: refusing to start a broker open to anonymous clients`);
      return;
    }
    case 'per_listener_settings': {
      // Only changes how security options are scoped, and those are refused above.
      bool();
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
    case 'max_qos': {
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
    case 'persistence': {
      const v = bool();
      if (v === true) warn(`option 'persistence' is not supported yet and is ignored: sessions and retained messages are kept in memory only`);
      return;
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
