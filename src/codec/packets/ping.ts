// PINGREQ and PINGRESP (sections 3.12, 3.13): a fixed header and nothing else.
import { expectEnd, expectFlags } from './common';
import type { PacketCodec } from './packet-codec';
import type { PingreqPacket, PingrespPacket } from '../types';

export const pingreq: PacketCodec<PingreqPacket> = {
  code: 12,
  firstByte: () => 0xc0,
  remainingLength: () => 0,
  write: (_p, _v, _buf, pos) => pos,
  decode(r, flags) {
    expectFlags(flags, 0, 'PINGREQ');
    expectEnd(r, 'PINGREQ');
    return { type: 'pingreq' };
  },
};

export const pingresp: PacketCodec<PingrespPacket> = {
  code: 13,
  firstByte: () => 0xd0,
  remainingLength: () => 0,
  write: (_p, _v, _buf, pos) => pos,
  decode(r, flags) {
    expectFlags(flags, 0, 'PINGRESP');
    expectEnd(r, 'PINGRESP');
    return { type: 'pingresp' };
  },
};
