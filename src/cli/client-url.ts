// `-L URL`: mosquitto's `mqtt(s)://[username[:password]@]host[:port]/topic`, extended to
// `ws(s)://[username[:password]@]host[:port][/path]` where the path is the WebSocket path and the
// topic comes from -t. Parsed by hand, not with WHATWG URL: the topic after the first '/' is taken
// literally, so '#' and '+' keep their MQTT meaning instead of starting a fragment.
import type { Scheme } from '../client';
import { ArgsError } from './client-errors';

export interface ParsedUrl {
  scheme: Scheme;
  host: string;
  port?: number;
  username?: string;
  password?: string;
  /** mqtt(s) only: the topic after the first '/'. */
  topic?: string;
  /** ws(s) only: the WebSocket path, when one is given. */
  path?: string;
}

const schemes: readonly Scheme[] = ['mqtt', 'mqtts', 'ws', 'wss'];

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ArgsError('Invalid URL for -L argument specified - bad percent-encoding in the credentials.');
  }
}

export function parseUrl(url: string): ParsedUrl {
  const schemeEnd = url.indexOf('://');
  const schemeWord = schemeEnd > 0 ? url.slice(0, schemeEnd).toLowerCase() : '';
  if (!schemes.includes(schemeWord as Scheme)) throw new ArgsError('unsupported URL scheme.');
  const scheme = schemeWord as Scheme;
  const rest = url.slice(schemeEnd + 3);
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const after = slash >= 0 ? rest.slice(slash + 1) : undefined;

  const parsed: ParsedUrl = { scheme, host: '' };
  // The credentials end at the last '@', so a password may hold '@' (or write it %40).
  const at = authority.lastIndexOf('@');
  let hostPort = authority;
  if (at >= 0) {
    const credentials = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    const colon = credentials.indexOf(':');
    parsed.username = decode(colon >= 0 ? credentials.slice(0, colon) : credentials);
    if (colon >= 0) parsed.password = decode(credentials.slice(colon + 1));
  }
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw new ArgsError('Invalid URL for -L argument specified - unterminated IPv6 address.');
    parsed.host = hostPort.slice(1, close);
    const tail = hostPort.slice(close + 1);
    if (tail.startsWith(':')) portText = tail.slice(1);
    else if (tail !== '') throw new ArgsError('Invalid URL for -L argument specified - bad host.');
  } else {
    const colon = hostPort.lastIndexOf(':');
    parsed.host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    if (colon >= 0) portText = hostPort.slice(colon + 1);
  }
  if (parsed.host === '') throw new ArgsError('Invalid URL for -L argument specified - host missing.');
  if (portText !== undefined) {
    const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new ArgsError(`Invalid port given: ${portText}`);
    parsed.port = port;
  }
  if (scheme === 'mqtt' || scheme === 'mqtts') {
    // A URL without a topic is left for the caller: -t may give it.
    if (after !== undefined && after !== '') parsed.topic = after;
  } else if (after !== undefined && after !== '') {
    parsed.path = `/${after}`;
  }
  return parsed;
}
