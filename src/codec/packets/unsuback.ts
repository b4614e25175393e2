// UNSUBACK (section 3.11): packet identifier; under 5.0 also properties and one reason code per filter.
import { malformed } from '../protocol-error';
import { checkPacketId, variableByteIntegerLength, writeTwoByteInteger } from '../primitives';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import type { UnsubackPacket } from '../types';
import { checkReasonCode, expectEnd, expectFlags, readPacketId, readReasonCode } from './common';
import type { PacketCodec } from './packet-codec';

const CODE = 11;

export const unsuback: PacketCodec<UnsubackPacket> = {
  code: CODE,

  firstByte: () => 0xb0,

  remainingLength(p, version) {
    checkPacketId(p.packetId);
    if (version !== 5) return 2;
    const codes = p.reasonCodes ?? [];
    for (const rc of codes) checkReasonCode(rc, 'unsuback');
    const pl = propertiesLength(p.properties, CODE);
    return 2 + variableByteIntegerLength(pl) + pl + codes.length;
  },

  write(p, version, buf, pos) {
    pos = writeTwoByteInteger(buf, pos, p.packetId);
    if (version !== 5) return pos;
    pos = writePropertiesWithLength(buf, pos, p.properties, propertiesLength(p.properties, CODE));
    for (const rc of p.reasonCodes ?? []) buf[pos++] = rc;
    return pos;
  },

  decode(r, flags, version) {
    expectFlags(flags, 0, 'UNSUBACK');
    const packet: UnsubackPacket = { type: 'unsuback', packetId: readPacketId(r) };
    if (version === 5) {
      const props = readProperties(r, CODE);
      if (props !== undefined) packet.properties = props;
      packet.reasonCodes = [];
      while (r.remaining > 0) packet.reasonCodes.push(readReasonCode(r, 'unsuback'));
    } else if (r.remaining !== 0) {
      throw malformed('UNSUBACK remaining length must be 2');
    }
    expectEnd(r, 'UNSUBACK');
    return packet;
  },
};
