// AUTH (section 3.15), 5.0 only: reason code and properties.
import { malformed } from '../protocol-error';
import { variableByteIntegerLength } from '../primitives';
import { propertiesLength, readProperties, writePropertiesWithLength } from '../properties';
import type { AuthPacket } from '../types';
import { checkReasonCode, expectEnd, expectFlags, readReasonCode } from './common';
import type { PacketCodec } from './packet-codec';

const CODE = 15;

export const auth: PacketCodec<AuthPacket> = {
  code: CODE,

  firstByte: () => 0xf0,

  remainingLength(p, version) {
    if (version !== 5) throw new TypeError('AUTH exists only in MQTT 5.0');
    const rc = p.reasonCode ?? 0;
    checkReasonCode(rc, 'auth');
    const pl = propertiesLength(p.properties, CODE);
    // Always written although 0x00 without properties could be left out (section 3.15.2.1):
    // mqtt-packet, and so MQTT.js, cannot parse an AUTH of remaining length 0.
    return 1 + variableByteIntegerLength(pl) + pl;
  },

  write(p, _version, buf, pos) {
    const rc = p.reasonCode ?? 0;
    const pl = propertiesLength(p.properties, CODE);
    buf[pos++] = rc;
    return writePropertiesWithLength(buf, pos, p.properties, pl);
  },

  decode(r, flags, version) {
    // Type 15 is "Reserved" in 3.1.1 (section 2.2.1): a malformed packet there.
    if (version !== 5) throw malformed('AUTH (type 15) is reserved before MQTT 5.0');
    expectFlags(flags, 0, 'AUTH'); // [MQTT-3.15.1-1]
    const packet: AuthPacket = { type: 'auth' };
    if (r.remaining > 0) {
      packet.reasonCode = readReasonCode(r, 'auth');
      // A lone reason code without a Property Length is accepted, as it is for DISCONNECT.
      if (r.remaining > 0) {
        const props = readProperties(r, CODE);
        if (props !== undefined) packet.properties = props;
      }
    }
    expectEnd(r, 'AUTH');
    return packet;
  },
};
