// The lines `mosquitto -v` prints for each packet in and out, and for clients coming and going, so
// people who read Mosquitto logs can read ours (and tools that scrape them keep working).
// Pure functions: they format, the caller decides where the lines go.
import type { ConnectPacket, Packet } from '../codec/types';

/** Mosquitto's protocol marker: p1 = MQTT 3.1, p2 = 3.1.1, p5 = 5.0. */
function protocolMarker(version: number): string {
  return version === 3 ? 'p1' : version === 4 ? 'p2' : `p${version}`;
}

const flag = (b: boolean | undefined): string => (b ? '1' : '0');

/** What the connection lines show of a CONNECT; `clean` and `will` are left out when not known. */
export interface ConnectSummary {
  protocolVersion: number;
  clean?: boolean;
  keepalive: number;
  username?: string;
  will?: ConnectPacket['will'];
}

/** "(p2, c1, k60, u'user')" as in "New client connected ... as c1 (p2, c1, k60, u'user')." */
export function connectSummary(connect: ConnectSummary): string {
  const parts = [protocolMarker(connect.protocolVersion)];
  if (connect.clean !== undefined) parts.push(`c${flag(connect.clean)}`);
  parts.push(`k${connect.keepalive}`);
  if (connect.username !== undefined) parts.push(`u'${connect.username}'`);
  return `(${parts.join(', ')})`;
}

function publishSummary(p: Extract<Packet, { type: 'publish' }>): string {
  return `(d${flag(p.dup)}, q${p.qos}, r${flag(p.retain)}, m${p.packetId ?? 0}, '${p.topic}', ... (${p.payload.length} bytes))`;
}

/** Lines for a packet received from a client. SUBSCRIBE and UNSUBSCRIBE give one line per filter too. */
export function formatPacketIn(clientId: string, packet: Packet): string[] {
  switch (packet.type) {
    case 'connect':
      return [`Received CONNECT from ${clientId} ${connectSummary(packet)}`];
    case 'publish':
      return [`Received PUBLISH from ${clientId} ${publishSummary(packet)}`];
    case 'puback':
    case 'pubcomp':
      return [`Received ${packet.type.toUpperCase()} from ${clientId} (Mid: ${packet.packetId}, RC:${packet.reasonCode ?? 0})`];
    case 'pubrec':
    case 'pubrel':
      return [`Received ${packet.type.toUpperCase()} from ${clientId} (Mid: ${packet.packetId})`];
    case 'subscribe': {
      const lines = [`Received SUBSCRIBE from ${clientId}`];
      for (const s of packet.subscriptions) lines.push(`\t${s.topicFilter} (QoS ${s.qos})`, `${clientId} ${s.qos} ${s.topicFilter}`);
      return lines;
    }
    case 'unsubscribe': {
      const lines = [`Received UNSUBSCRIBE from ${clientId}`];
      for (const f of packet.topicFilters) lines.push(`\t${f}`, `${clientId} ${f}`);
      return lines;
    }
    case 'disconnect':
      return [
        packet.reasonCode !== undefined && packet.reasonCode !== 0
          ? `Received DISCONNECT from ${clientId} (rc${packet.reasonCode})`
          : `Received DISCONNECT from ${clientId}`,
      ];
    default:
      return [`Received ${packet.type.toUpperCase()} from ${clientId}`];
  }
}

/** Lines for a packet sent to a client. */
export function formatPacketOut(clientId: string, packet: Packet): string[] {
  switch (packet.type) {
    case 'connack':
      return [`Sending CONNACK to ${clientId} (${packet.sessionPresent ? 1 : 0}, ${packet.reasonCode})`];
    case 'publish':
      return [`Sending PUBLISH to ${clientId} ${publishSummary(packet)}`];
    case 'puback':
    case 'pubrec':
      return [`Sending ${packet.type.toUpperCase()} to ${clientId} (m${packet.packetId}, rc${packet.reasonCode ?? 0})`];
    case 'pubrel':
    case 'pubcomp':
      return [`Sending ${packet.type.toUpperCase()} to ${clientId} (m${packet.packetId})`];
    case 'disconnect':
      return [`Sending DISCONNECT to ${clientId} (rc${packet.reasonCode ?? 0})`];
    default:
      return [`Sending ${packet.type.toUpperCase()} to ${clientId}`];
  }
}

/** "New client connected from 127.0.0.1:5555 as c1 (p2, c1, k60)." and the will lines Mosquitto adds. */
export function formatClientConnected(address: string, clientId: string, connect: ConnectSummary | undefined): string[] {
  if (!connect) return [`New client connected from ${address} as ${clientId}.`];
  const lines = [`New client connected from ${address} as ${clientId} ${connectSummary(connect)}.`];
  if (!('clean' in connect)) return lines; // will unknown: say nothing rather than "No will"
  if (connect.will) {
    lines.push(`Will message specified (${connect.will.payload.length} bytes) (r${flag(connect.will.retain)}, q${connect.will.qos}).`, `\t${connect.will.topic}`);
  } else {
    lines.push('No will message specified.');
  }
  return lines;
}

/** The line for a client leaving, by the broker's `clientDisconnected` reason. */
export function formatClientDisconnected(clientId: string, reason: string): string {
  switch (reason) {
    case 'disconnect':
    case 'will-disconnect':
    case 'shutdown':
      return `Client ${clientId} disconnected.`;
    case 'closed':
      return `Client ${clientId} closed its connection.`;
    case 'keepalive':
      return `Client ${clientId} has exceeded timeout, disconnecting.`;
    case 'takeover':
      return `Client ${clientId} already connected, closing old connection.`;
    case 'protocol-error':
      return `Client ${clientId} disconnected due to protocol error.`;
    case 'not-authorized':
      return `Client ${clientId} disconnected, not authorised.`;
    default:
      return `Client ${clientId} disconnected (${reason}).`;
  }
}

/** Mosquitto's line prefix: seconds since the epoch, then ": ". */
export function timestamp(nowMs: number = Date.now()): string {
  return `${Math.floor(nowMs / 1000)}: `;
}
