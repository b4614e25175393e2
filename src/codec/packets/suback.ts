// SUBACK (section 3.9): packet identifier, 5.0 properties, one return/reason code per topic filter.
import { malformed } from '../protocol-error';
import { checkPacketId, variableByteIntegerLength, writeTwoByteInteger } from '../primitives';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import { subackReturnCodes311 } from '../reason-codes';
import type { SubackPacket } from '../types';
import { checkReasonCode, expectFlags, readPacketId, readReasonCode } from './common';
import type { PacketCodec } from './packet-codec';

const CODE = 9;

export const suback: PacketCodec<SubackPacket> = {
  code: CODE,

  firstByte: () => 0x90,

  remainingLength(p, version) {
    checkPacketId(p.packetId);
    if (!Array.isArray(p.reasonCodes) || p.reasonCodes.length === 0) {
      throw new TypeError('SUBACK needs one reason code per topic filter');
    }
    for (const rc of p.reasonCodes) {
      if (version === 5) checkReasonCode(rc, 'suback');
      else if (!subackReturnCodes311.has(rc)) throw new TypeError(`SUBACK return code ${rc} [MQTT-3.9.3-2]`);
    }
    let len = 2 + p.reasonCodes.length;
    if (version === 5) {
      const pl = propertiesLength(p.properties, CODE);
      len += variableByteIntegerLength(pl) + pl;
    }
    return len;
  },

  write(p, version, buf, pos) {
    pos = writeTwoByteInteger(buf, pos, p.packetId);
    if (version === 5) pos = writePropertiesWithLength(buf, pos, p.properties, propertiesLength(p.properties, CODE));
    for (const rc of p.reasonCodes) buf[pos++] = rc;
    return pos;
  },

  decode(r, flags, version) {
    expectFlags(flags, 0, 'SUBACK');
    const packet: SubackPacket = { type: 'suback', packetId: readPacketId(r), reasonCodes: [] };
    if (version === 5) {
      const props = readProperties(r, CODE);
      if (props !== undefined) packet.properties = props;
    }
    if (r.remaining === 0) throw malformed('SUBACK without reason codes');
    while (r.remaining > 0) {
      if (version === 5) packet.reasonCodes.push(readReasonCode(r, 'suback'));
      else {
        const rc = r.byte('return code');
        if (!subackReturnCodes311.has(rc)) throw malformed(`SUBACK return code ${rc} [MQTT-3.9.3-2]`);
        packet.reasonCodes.push(rc);
      }
    }
    return packet;
  },
};
