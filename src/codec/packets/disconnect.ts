// DISCONNECT (section 3.14): empty under 3.1.1; under 5.0 an optional reason code and properties.
import { checkReasonCode, expectEnd, expectFlags, readReasonCode } from './common';
import { variableByteIntegerLength } from '../primitives';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import type { DisconnectPacket } from '../types';
import type { PacketCodec } from './packet-codec';

const CODE = 14;

export const disconnect: PacketCodec<DisconnectPacket> = {
  code: CODE,

  firstByte: () => 0xe0,

  remainingLength(p, version) {
    if (version !== 5) return 0;
    const rc = p.reasonCode ?? 0;
    checkReasonCode(rc, 'disconnect');
    const pl = propertiesLength(p.properties, CODE);
    // Both may be left out when the reason is 0x00 and there are no properties (section 3.14.2.1).
    if (pl === 0) return rc === 0 ? 0 : 1;
    return 1 + variableByteIntegerLength(pl) + pl;
  },

  write(p, version, buf, pos) {
    if (version !== 5) return pos;
    const rc = p.reasonCode ?? 0;
    const pl = propertiesLength(p.properties, CODE);
    if (pl === 0 && rc === 0) return pos;
    buf[pos++] = rc;
    return pl === 0 ? pos : writePropertiesWithLength(buf, pos, p.properties, pl);
  },

  decode(r, flags, version) {
    expectFlags(flags, 0, 'DISCONNECT'); // [MQTT-3.14.1-1]
    const packet: DisconnectPacket = { type: 'disconnect' };
    if (version === 5) {
      if (r.remaining > 0) packet.reasonCode = readReasonCode(r, 'disconnect');
      if (r.remaining > 0) {
        const props = readProperties(r, CODE);
        if (props !== undefined) packet.properties = props;
      }
    }
    expectEnd(r, 'DISCONNECT');
    return packet;
  },
};
