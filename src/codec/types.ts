// The packet model shared by the codec, the client, the broker and the Node-RED nodes.
// One tree for MQTT 3.1 (protocol level 3), 3.1.1 (4) and 5.0 (5): fields that exist only
// in 5.0 are optional and ignored (not encoded) for the older levels.

/** Protocol level byte of CONNECT: 3 = MQTT 3.1 ("MQIsdp"), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

export type QoS = 0 | 1 | 2;

/** A User Property: name and value, kept in order; a name may repeat [MQTT-3.3.2-18]. */
export type UserProperty = [name: string, value: string];

/**
 * Every MQTT 5 property by its name in the specification. Which property may appear on which
 * packet is in the property table (properties.ts); the decoder rejects the others.
 */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four-byte integer, seconds
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Buffer; // 0x09
  /** 0x0B variable byte integer; one on SUBSCRIBE, one or more on PUBLISH [MQTT-3.3.4-3]. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13
  authenticationMethod?: string; // 0x15
  authenticationData?: Buffer; // 0x16
  requestProblemInformation?: number; // 0x17 byte 0/1
  willDelayInterval?: number; // 0x18
  requestResponseInformation?: number; // 0x19 byte 0/1
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21 two-byte integer, > 0
  topicAliasMaximum?: number; // 0x22
  topicAlias?: number; // 0x23, > 0
  maximumQoS?: number; // 0x24 byte 0/1
  retainAvailable?: number; // 0x25 byte 0/1
  userProperties?: UserProperty[]; // 0x26
  maximumPacketSize?: number; // 0x27, > 0
  wildcardSubscriptionAvailable?: number; // 0x28 byte 0/1
  subscriptionIdentifiersAvailable?: number; // 0x29 byte 0/1
  sharedSubscriptionAvailable?: number; // 0x2A byte 0/1
}

export interface WillMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** 5.0 Will Properties (willDelayInterval, payloadFormatIndicator, messageExpiryInterval, ...). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 'connect';
  /** "MQTT" for levels 4 and 5, "MQIsdp" for level 3. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Bridge bit (0x80 on the protocol level byte), as Mosquitto bridges send it under 3.1/3.1.1. */
  bridge?: boolean;
  /** Clean Session (3.1.1) / Clean Start (5.0). */
  clean: boolean;
  keepalive: number;
  clientId: string;
  username?: string;
  password?: Buffer;
  will?: WillMessage;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** 5.0 reason code, or the 3.1.1 return code (0..5) for levels 3 and 4. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present iff qos > 0 [MQTT-2.3.1-1], [MQTT-2.2.1-2]. */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface PubAckLikePacket {
  type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  packetId: number;
  /** 5.0 only; 0 (Success) when absent. */
  reasonCode?: number;
  properties?: Properties;
}

export interface Subscription {
  topicFilter: string;
  qos: QoS;
  /** 5.0 subscription options. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** Granted QoS (0..2) or a failure code (0x80 in 3.1.1, 0x80+ reason codes in 5.0), one per filter. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** 5.0 only: one reason code per topic filter. */
  reasonCodes?: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}

export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** 5.0 only; 0 (Normal disconnection) when absent. */
  reasonCode?: number;
  properties?: Properties;
}

export interface AuthPacket {
  type: 'auth';
  /** 0x00 Success, 0x18 Continue authentication, 0x19 Re-authenticate. */
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubAckLikePacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketType = Packet['type'];

/** Control packet type numbers, the high nibble of the first byte. */
export const PacketTypeCode = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const satisfies Record<PacketType, number>;
