// The packet modules joined by type: by name for encoding, by type code (the high nibble) for decoding.
import { auth } from './packets/auth';
import { connack } from './packets/connack';
import { connect } from './packets/connect';
import { disconnect } from './packets/disconnect';
import type { PacketCodec } from './packets/packet-codec';
import { pingreq, pingresp } from './packets/ping';
import { puback, pubcomp, pubrec, pubrel } from './packets/pub-ack-like';
import { publish } from './packets/publish';
import { suback } from './packets/suback';
import { subscribe } from './packets/subscribe';
import { unsuback } from './packets/unsuback';
import { unsubscribe } from './packets/unsubscribe';
import type { Packet, PacketType } from './types';

export const codecByType: Readonly<Record<PacketType, PacketCodec>> = {
  connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback, unsubscribe, unsuback,
  pingreq, pingresp, disconnect, auth,
} as Record<PacketType, PacketCodec<Packet>>;

/** Index 0 is reserved (a malformed packet); 15 is AUTH, itself reserved before 5.0. */
export const codecByCode: readonly (PacketCodec | undefined)[] = (() => {
  const t: (PacketCodec | undefined)[] = new Array(16).fill(undefined);
  for (const c of Object.values(codecByType)) t[c.code] = c;
  return t;
})();
