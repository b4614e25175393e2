// One line per packet for the "verbose" log of the broker and connection nodes.
import type { Packet } from '../../src/codec/types';

export function describePacket(packet: Packet): string {
  switch (packet.type) {
    case 'publish':
      return `PUBLISH ${packet.topic} q${packet.qos}${packet.retain ? ' r' : ''}${packet.packetId ? ` id ${packet.packetId}` : ''} (${packet.payload.length} bytes)`;
    case 'subscribe':
      return `SUBSCRIBE ${packet.subscriptions.map((s) => `${s.topicFilter} q${s.qos}`).join(', ')}`;
    case 'connect':
      return `CONNECT ${packet.clientId} v${packet.protocolVersion} k${packet.keepalive}${packet.clean ? ' clean' : ''}`;
    default: {
      const withCode = packet as { reasonCode?: number; packetId?: number };
      return `${packet.type.toUpperCase()}${withCode.packetId ? ` id ${withCode.packetId}` : ''}${withCode.reasonCode ? ` rc 0x${withCode.reasonCode.toString(16)}` : ''}`;
    }
  }
}
