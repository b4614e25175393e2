// How `mqtt-hub sub` prints a message: the payload alone, "topic payload" with -v, or the -F
// format string, which follows mosquitto_sub's OUTPUT FORMAT (man mosquitto_sub): %-parameters with
// flags, field width and maximum width, @-sequences for strftime, and \-escapes. A format string is
// compiled once, so a bad one is refused before connecting.
import type { Properties, QoS } from '../codec/types';
import { ArgsError } from './client-errors';
import { isoTime, jsonTime, strftimeOne, unixTime } from './client-time';

/** What the formatter needs of a received PUBLISH. */
export interface FormatMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  packetId?: number;
  properties?: Properties;
}

interface Parameter {
  kind: 'param';
  conversion: string;
  leftAlign: boolean;
  zeroPad: boolean;
  width: number;
  /** Maximum width; -1 when none. */
  precision: number;
}

type Token = { kind: 'text'; bytes: Buffer } | Parameter | { kind: 'time'; conversion: string };

export interface RenderContext {
  /** Nanoseconds since the epoch. */
  now: bigint;
  /** --pretty: indented JSON for %j and %J. */
  pretty: boolean;
  /** Where a per-message problem goes (a %J payload that is not JSON). */
  warn(message: string): void;
}

export type Formatter = (message: FormatMessage, context: RenderContext) => Buffer;

const parameters = new Set('%ACDEFIjJlmpPqrRStUxX');
const escapes: Record<string, string> = { '\\': '\\', '0': '\0', a: '\x07', e: '\x1b', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Compiles a -F format string; throws ArgsError with mosquitto's wording for a bad one. */
export function compileFormat(format: string): Formatter {
  const tokens: Token[] = [];
  let text = '';
  const flushText = () => {
    if (text !== '') tokens.push({ kind: 'text', bytes: Buffer.from(text, 'utf8') });
    text = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c === '%') {
      const p: Parameter = { kind: 'param', conversion: '', leftAlign: false, zeroPad: false, width: 0, precision: -1 };
      let j = i + 1;
      for (; j < format.length && (format[j] === '-' || format[j] === '0'); j++) {
        if (format[j] === '-') p.leftAlign = true;
        else p.zeroPad = true;
      }
      const widthStart = j;
      while (j < format.length && format[j] >= '0' && format[j] <= '9') j++;
      if (j > widthStart) p.width = Number(format.slice(widthStart, j));
      if (format[j] === '.') {
        const precisionStart = ++j;
        while (j < format.length && format[j] >= '0' && format[j] <= '9') j++;
        p.precision = Number(format.slice(precisionStart, j) || '0');
      }
      if (j >= format.length) throw new ArgsError('Incomplete format specifier.');
      if (!parameters.has(format[j])) throw new ArgsError(`Invalid format specifier '${format[j]}'.`);
      p.conversion = format[j];
      // The '-' flag wins over '0', as in printf.
      if (p.leftAlign) p.zeroPad = false;
      flushText();
      tokens.push(p);
      i = j;
    } else if (c === '@') {
      if (i + 1 >= format.length) throw new ArgsError('Incomplete format specifier.');
      const next = format[++i];
      if (next === '@') text += '@';
      else {
        flushText();
        tokens.push({ kind: 'time', conversion: next });
      }
    } else if (c === '\\') {
      if (i + 1 >= format.length) throw new ArgsError('Incomplete escape specifier.');
      const next = format[++i];
      if (!(next in escapes)) throw new ArgsError(`Invalid escape specifier '${next}'.`);
      text += escapes[next];
    } else {
      text += c;
    }
  }
  flushText();
  return (message, context) => {
    const parts: Buffer[] = [];
    for (const t of tokens) {
      if (t.kind === 'text') parts.push(t.bytes);
      else if (t.kind === 'time') parts.push(Buffer.from(strftimeOne(t.conversion, context.now), 'utf8'));
      else parts.push(renderParameter(t, message, context));
    }
    return Buffer.concat(parts);
  };
}

function padded(s: string, p: Parameter, zeroAllowed: boolean): string {
  if (s.length >= p.width) return s;
  if (p.leftAlign) return s.padEnd(p.width, ' ');
  return s.padStart(p.width, zeroAllowed && p.zeroPad ? '0' : ' ');
}

/** Strings (%t %C %R %I): width is the minimum, precision the maximum. */
function stringField(s: string | undefined, p: Parameter): Buffer {
  if (s === undefined) return Buffer.alloc(0);
  const cut = p.precision >= 0 ? [...s].slice(0, p.precision).join('') : s;
  return Buffer.from(padded(cut, p, false), 'utf8');
}

/** Numbers (%A %E %F %l %m %S): width with blank or zero padding; nothing when the property is absent. */
function numberField(n: number | undefined, p: Parameter): Buffer {
  return n === undefined ? Buffer.alloc(0) : Buffer.from(padded(String(n), p, true), 'utf8');
}

/**
 * %p %x %X. As mosquitto_sub does, a field width is also the most that is printed: at most `width`
 * payload bytes (width / 2 bytes in hex), padded up to the width.
 */
function payloadField(payload: Buffer, p: Parameter, hex: '' | 'x' | 'X'): Buffer {
  let bytes = payload;
  let padLength = 0;
  if (p.width > 0) {
    const limit = hex ? Math.floor(Math.min(payload.length * 2, p.width) / 2) : Math.min(payload.length, p.width);
    bytes = payload.subarray(0, limit);
    padLength = p.width - (hex ? limit * 2 : limit);
  }
  let body = bytes;
  if (hex) {
    const h = bytes.toString('hex');
    body = Buffer.from(hex === 'X' ? h.toUpperCase() : h, 'latin1');
  }
  if (padLength <= 0) return body;
  const padding = Buffer.alloc(padLength, p.zeroPad ? '0' : ' ');
  return p.leftAlign ? Buffer.concat([body, padding]) : Buffer.concat([padding, body]);
}

function renderParameter(p: Parameter, m: FormatMessage, context: RenderContext): Buffer {
  const props = m.properties ?? {};
  switch (p.conversion) {
    case '%': return Buffer.from('%');
    case 'A': return numberField(props.topicAlias, p);
    case 'C': return stringField(props.contentType, p);
    case 'D': return props.correlationData ?? Buffer.alloc(0);
    case 'E': return numberField(props.messageExpiryInterval, p);
    case 'F': return numberField(props.payloadFormatIndicator, p);
    case 'I': return stringField(isoTime(context.now), p);
    case 'j': return Buffer.from(messageJson(m, context, false) ?? '', 'utf8');
    case 'J': {
      const json = messageJson(m, context, true);
      if (json === undefined) context.warn(`Error: Message payload is not valid JSON on topic ${m.topic}.`);
      return Buffer.from(json ?? '', 'utf8');
    }
    case 'l': return numberField(m.payload.length, p);
    case 'm': return numberField(m.packetId ?? 0, p);
    case 'p': return payloadField(m.payload, p, '');
    case 'P': return Buffer.from((props.userProperties ?? []).map(([k, v]) => `${k}:${v}`).join(' '), 'utf8');
    case 'q': return Buffer.from(String(m.qos));
    case 'r': return Buffer.from(m.retain ? '1' : '0');
    case 'R': return stringField(props.responseTopic, p);
    case 'S': return numberField(props.subscriptionIdentifiers?.[0], p);
    case 't': return stringField(m.topic, p);
    case 'U': return Buffer.from(unixTime(context.now));
    case 'x': return payloadField(m.payload, p, 'x');
    case 'X': return payloadField(m.payload, p, 'X');
    default: throw new Error(`unreachable format conversion ${p.conversion}`);
  }
}

/** A JSON object from [key, already-serialised value] pairs; keys may repeat (user properties do). */
function jsonObject(entries: [string, string][], pretty: boolean, depth: number): string {
  if (!pretty) return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  const inner = '\t'.repeat(depth + 1);
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}:\t${v}`).join(',\n')}\n${'\t'.repeat(depth)}}`;
}

/**
 * %j (payload as a JSON string) and %J (payload embedded as JSON; undefined when it is not JSON),
 * with the fields and names mosquitto_sub uses.
 */
export function messageJson(m: FormatMessage, context: Pick<RenderContext, 'now' | 'pretty'>, rawPayload: boolean): string | undefined {
  const text = m.payload.toString('utf8');
  let payload: string;
  if (rawPayload) {
    try {
      JSON.parse(text);
    } catch {
      return undefined;
    }
    payload = context.pretty ? JSON.stringify(JSON.parse(text), null, '\t').replace(/\n/g, '\n\t') : text.trim();
  } else {
    payload = JSON.stringify(text);
  }
  const entries: [string, string][] = [
    ['tst', JSON.stringify(jsonTime(context.now))],
    ['topic', JSON.stringify(m.topic)],
    ['qos', String(m.qos)],
    ['retain', m.retain ? '1' : '0'],
    ['payloadlen', String(m.payload.length)],
  ];
  if (m.qos > 0 && m.packetId !== undefined) entries.push(['mid', String(m.packetId)]);
  const props = m.properties;
  if (props) {
    const p: [string, string][] = [];
    if (props.userProperties?.length) {
      p.push(['user-properties', jsonObject(props.userProperties.map(([k, v]) => [k, JSON.stringify(v)]), context.pretty, 2)]);
    }
    if (props.contentType !== undefined) p.push(['content-type', JSON.stringify(props.contentType)]);
    if (props.responseTopic !== undefined) p.push(['response-topic', JSON.stringify(props.responseTopic)]);
    if (props.correlationData !== undefined) p.push(['correlation-data', JSON.stringify(props.correlationData.toString('utf8'))]);
    if (props.payloadFormatIndicator !== undefined) p.push(['payload-format-indicator', String(props.payloadFormatIndicator)]);
    if (props.messageExpiryInterval !== undefined) p.push(['message-expiry-interval', String(props.messageExpiryInterval)]);
    if (props.topicAlias !== undefined) p.push(['topic-alias', String(props.topicAlias)]);
    if (props.subscriptionIdentifiers?.length) p.push(['subscription-identifier', String(props.subscriptionIdentifiers[0])]);
    if (p.length > 0) entries.push(['properties', jsonObject(p, context.pretty, 1)]);
  }
  entries.push(['payload', payload]);
  return jsonObject(entries, context.pretty, 0);
}

export interface OutputOptions {
  /** -F, compiled. */
  format?: Formatter;
  /** -v: "topic payload". */
  verbose: boolean;
  /** False with -N: no end of line after each message. */
  eol: boolean;
}

/**
 * The bytes printed for one message. Without -F, an empty payload prints nothing, or
 * "topic (null)" with -v, as mosquitto_sub does.
 */
export function formatOutput(m: FormatMessage, out: OutputOptions, context: RenderContext): Buffer {
  const eol = out.eol ? Buffer.from('\n') : Buffer.alloc(0);
  if (out.format) return Buffer.concat([out.format(m, context), eol]);
  if (out.verbose) {
    if (m.payload.length === 0) return out.eol ? Buffer.from(`${m.topic} (null)\n`, 'utf8') : Buffer.alloc(0);
    return Buffer.concat([Buffer.from(`${m.topic} `, 'utf8'), m.payload, eol]);
  }
  if (m.payload.length === 0) return Buffer.alloc(0);
  return Buffer.concat([m.payload, eol]);
}
