// Converts between Node-RED messages and MQTT publishes, with the msg property names Node-RED's
// core MQTT nodes use, so flows written for them keep working.
import { isUtf8 } from 'node:buffer';
import type { Properties, PublishPacket, QoS, UserProperty } from '../../src/codec/types';
import type { NodeMessage } from './node-red-types';

export type OutputType = 'auto-detect' | 'auto' | 'utf8' | 'buffer' | 'json' | 'base64';

/** How a content type is read when the publisher named one (as the core node does). */
const mediaTypes: Record<string, 'string' | 'buffer' | 'json'> = {
  'text/css': 'string',
  'text/html': 'string',
  'text/plain': 'string',
  'text/csv': 'string',
  'application/json': 'json',
  'application/xml': 'string',
  'application/octet-stream': 'buffer',
  'application/pdf': 'buffer',
  'application/zip': 'buffer',
  'application/gzip': 'buffer',
  'image/png': 'buffer',
  'image/jpeg': 'buffer',
  'image/gif': 'buffer',
};

export class PayloadConversionError extends Error {
  override readonly name = 'PayloadConversionError';
}

/** User properties as one object; a name that repeats [MQTT-3.3.2-18] keeps all its values in an array. */
export function userPropertiesToObject(list: UserProperty[] | undefined): Record<string, string | string[]> | undefined {
  if (!list || list.length === 0) return undefined;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of list) {
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else out[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** An object of user properties as the wire list; non-string values are sent as JSON text. */
export function userPropertiesFromObject(obj: unknown): UserProperty[] | undefined {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const out: UserProperty[] = [];
  for (const [name, value] of Object.entries(obj as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) out.push([name, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  return out.length ? out : undefined;
}

/** Parses a user-properties JSON text from a node's form; empty text is no properties. */
export function parseUserPropertiesJson(text: unknown): Record<string, unknown> | undefined {
  if (text && typeof text === 'object' && !Array.isArray(text)) return text as Record<string, unknown>;
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError('user properties must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Merges user-property objects; a later one wins per key (connection < node < msg). */
export function mergeUserProperties(...layers: Array<Record<string, unknown> | undefined>): Record<string, unknown> | undefined {
  const merged: Record<string, unknown> = {};
  let any = false;
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      merged[k] = v;
      any = true;
    }
  }
  return any ? merged : undefined;
}

function decodePayload(payload: Buffer, type: OutputType, props: Properties | undefined, v5: boolean): unknown {
  const formatUtf8 = v5 && props?.payloadFormatIndicator === 1;
  switch (type) {
    case 'buffer':
      return payload;
    case 'base64':
      return payload.toString('base64');
    case 'utf8':
      return payload.toString('utf8');
    case 'json':
      if (!formatUtf8 && !isUtf8(payload)) throw new PayloadConversionError('payload is not UTF-8 text, so not JSON');
      try {
        return JSON.parse(payload.toString('utf8'));
      } catch {
        throw new PayloadConversionError('payload is not valid JSON');
      }
    default: {
      const parseJson = type === 'auto-detect';
      const declared = v5 && props?.contentType ? mediaTypes[props.contentType.toLowerCase().split(';')[0].trim()] : undefined;
      if (declared === 'buffer') return payload;
      if (declared === 'string') return payload.toString('utf8');
      if (declared === 'json') {
        const text = payload.toString('utf8');
        try {
          const obj: unknown = JSON.parse(text);
          return parseJson ? obj : text;
        } catch {
          throw new PayloadConversionError('content type says JSON but the payload is not valid JSON');
        }
      }
      if (!formatUtf8 && !isUtf8(payload)) return payload;
      const text = payload.toString('utf8');
      if (parseJson) {
        try {
          return JSON.parse(text);
        } catch {
          return text; // not JSON: a string is the right answer
        }
      }
      return text;
    }
  }
}

/** The msg an in node sends for a received PUBLISH. Throws PayloadConversionError for a payload the type refuses. */
export function messageFromPublish(packet: PublishPacket, type: OutputType, v5: boolean): NodeMessage {
  const props = packet.properties;
  const msg: NodeMessage = {
    topic: packet.topic,
    payload: decodePayload(packet.payload, type, props, v5),
    qos: packet.qos,
    retain: packet.retain,
  };
  if (v5 && props) {
    if (props.responseTopic !== undefined) msg.responseTopic = props.responseTopic;
    if (props.correlationData !== undefined) msg.correlationData = props.correlationData;
    if (props.contentType !== undefined) msg.contentType = props.contentType;
    if (props.messageExpiryInterval !== undefined) msg.messageExpiryInterval = props.messageExpiryInterval;
    if (props.payloadFormatIndicator !== undefined) msg.payloadFormatIndicator = props.payloadFormatIndicator === 1;
    const user = userPropertiesToObject(props.userProperties);
    if (user) msg.userProperties = user;
    const ids = props.subscriptionIdentifiers;
    if (ids && ids.length) msg.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
  }
  return msg;
}

/** Any payload as bytes: Buffer as is, object → JSON, null/undefined → empty, the rest → text. */
export function payloadToBuffer(payload: unknown): Buffer {
  if (payload === null || payload === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (typeof payload === 'object') return Buffer.from(JSON.stringify(payload), 'utf8');
  return Buffer.from(String(payload), 'utf8');
}

export function parseQos(value: unknown): QoS | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return n === 0 || n === 1 || n === 2 ? n : undefined;
}

export function parseBool(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** A whole number from a form field or `${ENV}` text; `fallback` when empty or not a number in range. */
export function parseIntSetting(value: unknown, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < min || n > max) return fallback;
  return n;
}

/** The 5.0 publish properties a msg (or a node's defaults in msg shape) carries. */
export interface PublishFields {
  responseTopic?: string;
  correlationData?: Buffer;
  contentType?: string;
  messageExpiryInterval?: number;
  payloadFormatIndicator?: boolean;
  userProperties?: Record<string, unknown>;
}

export function publishFieldsFrom(src: Record<string, unknown>): PublishFields {
  const out: PublishFields = {};
  if (typeof src.responseTopic === 'string' && src.responseTopic) out.responseTopic = src.responseTopic;
  const cd = src.correlationData;
  if (Buffer.isBuffer(cd)) out.correlationData = cd;
  else if (typeof cd === 'string' && cd) out.correlationData = Buffer.from(cd, 'utf8');
  if (typeof src.contentType === 'string' && src.contentType) out.contentType = src.contentType;
  const expiry = parseIntSetting(src.messageExpiryInterval, -1, 0, 0xffffffff);
  if (expiry >= 0) out.messageExpiryInterval = expiry;
  const pfi = parseBool(src.payloadFormatIndicator);
  if (pfi !== undefined) out.payloadFormatIndicator = pfi;
  if (src.userProperties && typeof src.userProperties === 'object' && !Array.isArray(src.userProperties)) {
    out.userProperties = src.userProperties as Record<string, unknown>;
  }
  return out;
}

/** Layers 5.0 publish fields (later wins; user properties merged per key) into wire properties. */
export function buildPublishProperties(...layers: Array<PublishFields | undefined>): Properties | undefined {
  const merged: PublishFields = {};
  const users: Array<Record<string, unknown> | undefined> = [];
  for (const layer of layers) {
    if (!layer) continue;
    const { userProperties, ...rest } = layer;
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
    users.push(userProperties);
  }
  const props: Properties = {};
  if (merged.responseTopic !== undefined) props.responseTopic = merged.responseTopic;
  if (merged.correlationData !== undefined) props.correlationData = merged.correlationData;
  if (merged.contentType !== undefined) props.contentType = merged.contentType;
  if (merged.messageExpiryInterval !== undefined) props.messageExpiryInterval = merged.messageExpiryInterval;
  if (merged.payloadFormatIndicator !== undefined) props.payloadFormatIndicator = merged.payloadFormatIndicator ? 1 : 0;
  const user = userPropertiesFromObject(mergeUserProperties(...users));
  if (user) props.userProperties = user;
  return Object.keys(props).length ? props : undefined;
}
