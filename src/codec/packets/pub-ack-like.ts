// PUBACK, PUBREC, PUBREL, PUBCOMP (sections 3.4 to 3.7) share one layout: packet identifier, then under
// 5.0 an optional reason code and optional properties. Only the type code and PUBREL's flags differ.
import { malformed } from '../protocol-error';
import { checkPacketId, variableByteIntegerLength, writeTwoByteInteger } from '../primitives';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import type { PubAckLikePacket } from '../types';
import { checkReasonCode, expectEnd, expectFlags, readPacketId, readReasonCode } from './common';
import type { PacketCodec } from './packet-codec';

function pubAckLike(type: PubAckLikePacket['type'], code: number, flags: number): PacketCodec<PubAckLikePacket> {
  const name = type.toUpperCase();
  const firstByte = (code << 4) | flags;
  return {
    code,

    firstByte: () => firstByte,

    remainingLength(p, version) {
      checkPacketId(p.packetId);
      if (version !== 5) return 2;
      const rc = p.reasonCode ?? 0;
      checkReasonCode(rc, type);
      const pl = propertiesLength(p.properties, code);
      // Reason code and property length may be left out when they add nothing (section 3.4.2.1).
      if (pl === 0) return rc === 0 ? 2 : 3;
      return 3 + variableByteIntegerLength(pl) + pl;
    },

    write(p, version, buf, pos) {
      pos = writeTwoByteInteger(buf, pos, p.packetId);
      if (version !== 5) return pos;
      const rc = p.reasonCode ?? 0;
      const pl = propertiesLength(p.properties, code);
      if (pl === 0 && rc === 0) return pos;
      buf[pos++] = rc;
      if (pl === 0) return pos;
      return writePropertiesWithLength(buf, pos, p.properties, pl);
    },

    decode(r, fixedFlags, version) {
      expectFlags(fixedFlags, flags, name, version); // PUBREL: 0b0010 [MQTT-3.6.1-1]
      const packet: PubAckLikePacket = { type, packetId: readPacketId(r) };
      if (version === 5) {
        if (r.remaining > 0) packet.reasonCode = readReasonCode(r, type);
        if (r.remaining > 0) {
          const props = readProperties(r, code);
          if (props !== undefined) packet.properties = props;
        }
      } else if (r.remaining !== 0) {
        throw malformed(`${name} remaining length must be 2`);
      }
      expectEnd(r, name);
      return packet;
    },
  };
}

export const puback = pubAckLike('puback', 4, 0);
export const pubrec = pubAckLike('pubrec', 5, 0);
export const pubrel = pubAckLike('pubrel', 6, 2);
export const pubcomp = pubAckLike('pubcomp', 7, 0);
