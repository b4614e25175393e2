// CONNACK (section 3.2): acknowledge flags, return/reason code, 5.0 properties.
import { malformed } from '../protocol-error';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import { variableByteIntegerLength } from '../primitives';
import type { ConnackPacket } from '../types';
import { checkReasonCode, expectEnd, expectFlags, readReasonCode } from './common';
import type { PacketCodec } from './packet-codec';

const CODE = 2;

export const connack: PacketCodec<ConnackPacket> = {
  code: CODE,

  firstByte: () => 0x20,

  remainingLength(p, version) {
    if (version === 5) {
      checkReasonCode(p.reasonCode, 'connack');
      const pl = propertiesLength(p.properties, CODE);
      return 2 + variableByteIntegerLength(pl) + pl;
    }
    if (!Number.isInteger(p.reasonCode) || p.reasonCode < 0 || p.reasonCode > 5) {
      throw new TypeError(`CONNACK return code ${String(p.reasonCode)} is not 0..5`);
    }
    return 2;
  },

  write(p, version, buf, pos) {
    buf[pos++] = p.sessionPresent ? 1 : 0;
    buf[pos++] = p.reasonCode;
    if (version === 5) pos = writePropertiesWithLength(buf, pos, p.properties, propertiesLength(p.properties, CODE));
    return pos;
  },

  decode(r, flags, version) {
    expectFlags(flags, 0, 'CONNACK');
    const ackFlags = r.byte('acknowledge flags');
    if (ackFlags & 0xfe) throw malformed('CONNACK reserved acknowledge flags are set (3.1.1 section 3.2.2.1, 5.0 [MQTT-3.2.2-1])');
    const packet: ConnackPacket = { type: 'connack', sessionPresent: ackFlags === 1, reasonCode: 0 };
    if (version === 5) {
      packet.reasonCode = readReasonCode(r, 'connack');
      const props = readProperties(r, CODE);
      if (props !== undefined) packet.properties = props;
    } else {
      packet.reasonCode = r.byte('return code');
      if (packet.reasonCode > 5) throw malformed(`CONNACK return code ${packet.reasonCode} is reserved`);
    }
    expectEnd(r, 'CONNACK');
    return packet;
  },
};
