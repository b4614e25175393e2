// The command line of `mqtt-hub pub` and `mqtt-hub sub`: the flags of mosquitto_pub and
// mosquitto_sub where they overlap, with the same defaults, checks and error wording, so users of
// those tools know ours. Parsing is pure: it reads no file and opens no socket.
import type { Properties, ProtocolVersion, QoS } from '../codec/types';
import type { Scheme } from '../client';
import { validateTopicFilter, validateTopicName } from '../topics';
import { ArgsError } from './client-errors';
import { compileFormat, Formatter } from './client-format';
import { CommandProperties, parsePropertyOption, PropertyCommand } from './client-properties';
import { parseUrl } from './client-url';

export type Tool = 'pub' | 'sub';

export interface TlsArgs {
  cafile?: string;
  capath?: string;
  cert?: string;
  key?: string;
  /** --insecure: do not check that the certificate names the host (the chain is still verified). */
  insecure: boolean;
  /** --tls-use-os-certs (implied by mqtts:// and by port 8883 without other TLS options). */
  useOsCerts: boolean;
  alpn?: string;
}

export interface WillArgs {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

/** Where the payload of `pub` comes from. */
export type MessageSource =
  | { kind: 'message'; payload: Buffer } // -m
  | { kind: 'null' } // -n
  | { kind: 'file'; path: string } // -f
  | { kind: 'lines' } // -l
  | { kind: 'stdin' }; // -s

export interface CommonArgs {
  scheme: Scheme;
  host: string;
  port: number;
  /** WebSocket path for ws/wss. */
  path?: string;
  protocolVersion: ProtocolVersion;
  /** undefined: let the client (3.1.1) or the server (5.0) choose. */
  clientId?: string;
  clean: boolean;
  /** 5.0 Session Expiry Interval (seconds) for CONNECT; undefined sends none. */
  sessionExpiryInterval?: number;
  keepalive: number;
  username?: string;
  password?: string;
  will?: WillArgs;
  tls?: TlsArgs;
  /** --tls-version as given (tlsv1.3, tlsv1.2, tlsv1.1: the lowest version allowed); checked when connecting, as mosquitto does. */
  tlsVersion?: string;
  /** -D, per packet. */
  properties: CommandProperties;
  debug: boolean;
  quiet: boolean;
  qos: QoS;
}

export interface PubArgs extends CommonArgs {
  tool: 'pub';
  topic: string;
  message: MessageSource;
  retain: boolean;
  repeat: number;
  /** Seconds between repeats. */
  repeatDelay: number;
}

export interface SubArgs extends CommonArgs {
  tool: 'sub';
  topics: string[];
  filterOut: string[];
  unsubscribe: string[];
  verbose: boolean;
  eol: boolean;
  format?: Formatter;
  pretty: boolean;
  /** -C */
  count?: number;
  /** -W, seconds. */
  timeout?: number;
  /** -R: do not print retained (stale) messages. */
  noStale: boolean;
  retainedOnly: boolean;
  removeRetained: boolean;
  /** -E */
  exitAfterSubscribe: boolean;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling?: 0 | 1 | 2;
}

/** What the command line asks for: run with these arguments, or print help or the version. */
export type ParseResult<T> = { action: 'run'; args: T } | { action: 'help' } | { action: 'version' };

/** What each option's argument is called in "-x argument given but no ... specified". */
const argumentNames: Record<string, string> = {
  '-h': 'host', '-p': 'port', '-t': 'topic', '-m': 'message', '-q': 'QoS', '-i': 'id', '-I': 'id_prefix',
  '-k': 'keepalive', '-u': 'username', '-P': 'password', '-f': 'file', '-V': 'protocol version', '-x': 'session expiry interval',
  '-L': 'URL', '-C': 'count', '-W': 'timeout', '-T': 'topic filter', '-U': 'unsubscribe topic', '-F': 'format',
  '--cafile': 'certificate', '--capath': 'certificate directory', '--cert': 'certificate', '--key': 'key',
  '--tls-alpn': 'protocol', '--tls-version': 'version', '--will-topic': 'will topic', '--will-payload': 'will payload', '--will-qos': 'will QoS',
  '--repeat': 'count', '--repeat-delay': 'time', '--rh': 'retain handling', '-D': 'property',
};

/** Long spellings of short options, as mosquitto accepts them. */
const aliases: Record<string, string> = {
  '--host': '-h', '--port': '-p', '--topic': '-t', '--message': '-m', '--qos': '-q', '--id': '-i', '--id-prefix': '-I',
  '--keepalive': '-k', '--username': '-u', '--pw': '-P', '--file': '-f', '--protocol-version': '-V', '--url': '-L',
  '--retain': '-r', '--null-message': '-n', '--stdin-line': '-l', '--stdin-file': '-s', '--debug': '-d',
  '--disable-clean-session': '-c', '--property': '-D', '--filter-out': '-T', '--unsubscribe': '-U', '--verbose': '-v',
  '--session-expiry-interval': '-x', '--no-local': '--nl', '--retain-as-published': '--rap', '--retain-handling': '--rh',
};

const commonFlags = new Set(['-c', '-d', '--quiet', '--insecure', '--tls-use-os-certs', '--will-retain', '--nodelay', '--help', '--version']);
const commonValued = new Set(['-h', '-p', '-q', '-i', '-I', '-k', '-u', '-P', '-V', '-x', '-L', '--cafile', '--capath', '--cert', '--key',
  '--tls-alpn', '--tls-version', '--will-topic', '--will-payload', '--will-qos']);
const toolFlags: Record<Tool, Set<string>> = {
  pub: new Set(['-r', '-n', '-l', '-s']),
  sub: new Set(['-v', '-N', '-R', '-E', '--retained-only', '--remove-retained', '--pretty', '--nl', '--rap']),
};
const toolValued: Record<Tool, Set<string>> = {
  pub: new Set(['-t', '-m', '-f', '--repeat', '--repeat-delay']),
  sub: new Set(['-t', '-C', '-W', '-T', '-U', '-F', '--rh']),
};
const propertyCommands: Record<Tool, PropertyCommand[]> = {
  pub: ['connect', 'publish', 'disconnect', 'will'],
  sub: ['connect', 'subscribe', 'unsubscribe', 'disconnect', 'will'],
};

function parseQos(text: string, what = 'QoS'): QoS {
  if (text !== '0' && text !== '1' && text !== '2') throw new ArgsError(what === 'QoS' ? `Invalid QoS given: ${text}` : `Invalid ${what} ${text}.`);
  return Number(text) as QoS;
}

function parseVersion(text: string): ProtocolVersion {
  const versions: Record<string, ProtocolVersion> = { '31': 3, mqttv31: 3, '311': 4, mqttv311: 4, '5': 5, mqttv5: 5 };
  const v = versions[text.toLowerCase()];
  if (v === undefined) throw new ArgsError('Invalid protocol version argument given.');
  return v;
}

function parseInteger(text: string): number {
  return /^-?\d+$/.test(text) ? Number(text) : NaN;
}

/** Parses the arguments after `pub` or `sub`. Throws ArgsError for anything mosquitto would refuse. */
export function parseClientArgs(tool: 'pub', argv: readonly string[]): ParseResult<PubArgs>;
export function parseClientArgs(tool: 'sub', argv: readonly string[]): ParseResult<SubArgs>;
export function parseClientArgs(tool: Tool, argv: readonly string[]): ParseResult<PubArgs | SubArgs> {
  const seen = new Map<string, string>();
  const topics: string[] = [];
  const filterOut: string[] = [];
  const unsubscribe: string[] = [];
  const flags = new Set<string>();
  const properties: CommandProperties = {};
  let message: MessageSource | undefined;
  let url: ReturnType<typeof parseUrl> | undefined;
  // pub: the last of -t and -L's topic, in command line order, as mosquitto_pub takes it.
  let publishTopic: string | undefined;
  const setMessage = (m: MessageSource) => {
    if (message) throw new ArgsError('Only one type of message can be sent at once.');
    message = m;
  };

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    const option = aliases[word] ?? word;
    if (option === '--help') return { action: 'help' };
    if (option === '--version') return { action: 'version' };
    if (commonFlags.has(option) || toolFlags[tool].has(option)) {
      flags.add(option);
      if (option === '-n') setMessage({ kind: 'null' });
      if (option === '-l') setMessage({ kind: 'lines' });
      if (option === '-s') setMessage({ kind: 'stdin' });
      continue;
    }
    if (option === '-D') {
      i += parsePropertyOption(argv, i + 1, propertyCommands[tool], properties);
      continue;
    }
    if (!commonValued.has(option) && !toolValued[tool].has(option)) throw new ArgsError(`Unknown option '${word}'.`, true);
    if (i + 1 >= argv.length) throw new ArgsError(`${word} argument given but no ${argumentNames[option]} specified.`);
    const value = argv[++i];
    switch (option) {
      case '-t':
        if (tool === 'pub') {
          if (!validateTopicName(value)) throw new ArgsError(`Invalid publish topic '${value}', does it contain '+' or '#'?`);
          publishTopic = value;
        } else if (!validateTopicFilter(value)) {
          throw new ArgsError(`Invalid subscription topic '${value}', are all '+' and '#' wildcards correct?`);
        }
        topics.push(value);
        break;
      case '-T':
        if (!validateTopicFilter(value)) throw new ArgsError(`Invalid filter topic '${value}', are all '+' and '#' wildcards correct?`);
        filterOut.push(value);
        break;
      case '-U':
        if (!validateTopicFilter(value)) throw new ArgsError(`Invalid unsubscribe topic '${value}', are all '+' and '#' wildcards correct?`);
        unsubscribe.push(value);
        break;
      case '-m':
        setMessage({ kind: 'message', payload: Buffer.from(value, 'utf8') });
        break;
      case '-f':
        setMessage({ kind: 'file', path: value });
        break;
      case '-L':
        url = parseUrl(value);
        if (tool === 'pub' && url.topic !== undefined) {
          if (!validateTopicName(url.topic)) throw new ArgsError(`Invalid publish topic '${url.topic}', does it contain '+' or '#'?`);
          publishTopic = url.topic;
        }
        break;
      default:
        seen.set(option, value);
    }
    if (option === '-t') seen.set('-t', value);
  }

  const get = (o: string) => seen.get(o);
  if (get('-i') !== undefined && get('-I') !== undefined) throw new ArgsError('-i and -I argument cannot be used together.');

  // Protocol version: -V, else 5.0 when 5.0-only options ask for it (mosquitto does so for -D).
  const fiveOnly = Object.keys(properties).length > 0 || flags.has('--nl') || flags.has('--rap') || get('--rh') !== undefined;
  const versionText = get('-V');
  const protocolVersion: ProtocolVersion = versionText !== undefined ? parseVersion(versionText) : fiveOnly ? 5 : 4;
  if (protocolVersion < 5) {
    for (const f of ['--nl', '--rap', '--rh']) {
      if (flags.has(f) || get(f) !== undefined) throw new ArgsError(`${f} is only valid for MQTT v5 clients (-V 5).`);
    }
  }

  const scheme: Scheme = url?.scheme ?? 'mqtt';
  let port: number | undefined = url?.port;
  const portText = get('-p');
  if (portText !== undefined) {
    port = parseInteger(portText);
    if (!(port >= 1 && port <= 65535)) throw new ArgsError(`Invalid port given: ${portText}`);
  }

  // TLS: any certificate option, mqtts/wss, or port 8883 alone (which implies the system CAs).
  const tlsOptionGiven = ['--cafile', '--capath', '--cert', '--key', '--tls-alpn'].some((o) => get(o) !== undefined) || flags.has('--tls-use-os-certs');
  if ((get('--cert') === undefined) !== (get('--key') === undefined)) {
    throw new ArgsError('Both certfile and keyfile must be provided if one of them is set.');
  }
  const secureScheme = scheme === 'mqtts' || scheme === 'wss';
  let tls: TlsArgs | undefined;
  if (tlsOptionGiven || secureScheme || (port === 8883 && scheme === 'mqtt')) {
    tls = {
      cafile: get('--cafile'),
      capath: get('--capath'),
      cert: get('--cert'),
      key: get('--key'),
      alpn: get('--tls-alpn'),
      insecure: flags.has('--insecure'),
      useOsCerts: flags.has('--tls-use-os-certs') || (get('--cafile') === undefined && get('--capath') === undefined),
    };
  }
  const effectiveScheme: Scheme = tls && !secureScheme ? (scheme === 'ws' ? 'wss' : 'mqtts') : scheme;
  const defaultPorts: Record<Scheme, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };

  const keepaliveText = get('-k');
  const keepalive = keepaliveText === undefined ? 60 : parseInteger(keepaliveText);
  // 0 turns keep-alive off; mosquitto 2.0 takes 5..65535 and later versions 0 too.
  if (!(keepalive === 0 || (keepalive >= 5 && keepalive <= 65535))) {
    throw new ArgsError('Invalid keepalive given, it must be between 5 and 65535 inclusive.');
  }

  const qos = get('-q') === undefined ? 0 : parseQos(get('-q') as string);
  const clean = !flags.has('-c');
  let clientId = get('-i');
  if (get('-I') !== undefined) clientId = `${get('-I')}${process.pid}`;
  if (!clean && clientId === undefined) throw new ArgsError('You must provide a client id if you are using the -c option.');

  // -x: 0..4294967294 seconds, or -1 / 4294967295 / ∞ for a session that does not expire.
  let sessionExpiryInterval: number | undefined;
  const expiryText = get('-x');
  if (expiryText !== undefined) {
    if (expiryText === '∞' || expiryText === '-1') sessionExpiryInterval = 0xffffffff;
    else {
      const v = parseInteger(expiryText);
      if (Number.isNaN(v)) throw new ArgsError('session-expiry-interval not a number.');
      if (v < 0 || v > 0xffffffff) throw new ArgsError(`session-expiry-interval out of range: ${expiryText}.`);
      sessionExpiryInterval = v;
    }
  } else if (!clean) {
    sessionExpiryInterval = 0xffffffff; // -c alone: the session never expires, as with 3.1.1
  }
  if (protocolVersion === 5 && sessionExpiryInterval === 0xffffffff && clientId === undefined) {
    throw new ArgsError('You must provide a client id if you are using an infinite session expiry interval.');
  }
  if (protocolVersion < 5) sessionExpiryInterval = undefined;

  const username = get('-u') ?? url?.username;
  const password = get('-P') ?? url?.password;
  if (password !== undefined && username === undefined && protocolVersion < 5) {
    // [MQTT-3.1.2-22]: under 3.1.1 a password needs a user name.
    throw new ArgsError('Problem setting username and/or password.');
  }

  let will: WillArgs | undefined;
  const willTopic = get('--will-topic');
  if (willTopic !== undefined) {
    if (!validateTopicName(willTopic)) throw new ArgsError(`Invalid will topic '${willTopic}', does it contain '+' or '#'?`);
    will = {
      topic: willTopic,
      payload: Buffer.from(get('--will-payload') ?? '', 'utf8'),
      qos: get('--will-qos') === undefined ? 0 : parseQos(get('--will-qos') as string, 'will QoS'),
      retain: flags.has('--will-retain'),
    };
  } else {
    if (get('--will-payload') !== undefined) throw new ArgsError('Will payload given, but no will topic given.');
    if (flags.has('--will-retain')) throw new ArgsError('Will retain given, but no will topic given.');
    if (get('--will-qos') !== undefined) throw new ArgsError('Will QoS given, but no will topic given.');
    if (properties.will) throw new ArgsError('Will properties given, but no will topic given.');
  }
  if (protocolVersion === 5 && sessionExpiryInterval !== undefined) {
    const connect: Properties = (properties.connect ??= {});
    if (expiryText !== undefined || connect.sessionExpiryInterval === undefined) connect.sessionExpiryInterval = sessionExpiryInterval;
  }

  const common: CommonArgs = {
    scheme: effectiveScheme,
    host: get('-h') ?? url?.host ?? 'localhost',
    port: port ?? defaultPorts[effectiveScheme],
    path: url?.path,
    protocolVersion,
    clientId,
    clean,
    sessionExpiryInterval,
    keepalive,
    username,
    password,
    will,
    tls,
    tlsVersion: get('--tls-version'),
    properties,
    debug: flags.has('-d'),
    quiet: flags.has('--quiet'),
    qos,
  };

  if (url?.topic !== undefined) topics.unshift(url.topic);
  if (topics.length === 0 && url && (url.scheme === 'mqtt' || url.scheme === 'mqtts')) {
    throw new ArgsError('Invalid URL for -L argument specified - topic missing.');
  }

  if (tool === 'pub') {
    if (publishTopic === undefined || !message) throw new ArgsError('Both topic and message must be supplied.', true);
    const repeatText = get('--repeat');
    const repeat = repeatText === undefined ? 1 : parseInteger(repeatText);
    if (!(repeat > 0)) throw new ArgsError('--repeat argument must be >0.');
    const delayText = get('--repeat-delay');
    const repeatDelay = delayText === undefined ? 0 : /^\d+(\.\d*)?$|^\.\d+$/.test(delayText) ? Number(delayText) : NaN;
    if (!(repeatDelay >= 0)) throw new ArgsError('--repeat-delay argument must be >=0.0.');
    return {
      action: 'run',
      args: { ...common, tool, topic: publishTopic, message, retain: flags.has('-r'), repeat, repeatDelay },
    };
  }

  if (topics.length === 0) throw new ArgsError('You must specify a topic to subscribe to.');
  const countText = get('-C');
  let count: number | undefined;
  if (countText !== undefined) {
    count = parseInteger(countText);
    if (!(count > 0)) throw new ArgsError(`Invalid message count "${countText}".`);
  }
  const timeoutText = get('-W');
  let timeout: number | undefined;
  if (timeoutText !== undefined) {
    timeout = parseInteger(timeoutText);
    if (!(timeout > 0)) throw new ArgsError(`Invalid timeout "${timeoutText}".`);
  }
  if (flags.has('-R') && flags.has('--retained-only')) throw new ArgsError('-R and --retained-only cannot be used together.');
  let retainHandling: 0 | 1 | 2 | undefined;
  const rhText = get('--rh');
  if (rhText !== undefined) {
    if (rhText !== '0' && rhText !== '1' && rhText !== '2') throw new ArgsError(`Invalid retain handling given: ${rhText}`);
    retainHandling = Number(rhText) as 0 | 1 | 2;
  }
  const formatText = get('-F');
  return {
    action: 'run',
    args: {
      ...common,
      tool,
      topics,
      filterOut,
      unsubscribe,
      verbose: flags.has('-v'),
      eol: !flags.has('-N'),
      format: formatText === undefined ? undefined : compileFormat(formatText),
      pretty: flags.has('--pretty'),
      count,
      timeout,
      noStale: flags.has('-R'),
      retainedOnly: flags.has('--retained-only'),
      removeRetained: flags.has('--remove-retained'),
      exitAfterSubscribe: flags.has('-E'),
      noLocal: flags.has('--nl'),
      retainAsPublished: flags.has('--rap'),
      retainHandling,
    },
  };
}
