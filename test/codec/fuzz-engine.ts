// The decoder fuzz's mutation engine, shared by the bounded fuzz in npm test (fuzz.test.ts) and the
// time-boxed fuzzer (`npm run fuzz`, bench/fuzz.ts), so both exercise the decoder the same way.
import assert from 'node:assert/strict';
import { PacketDecoder, ProtocolError, encode, propertyTable } from '../../src/codec';
import type { Packet, ProtocolVersion } from '../../src/codec';
import { Random, randomPacket, typesFor } from './fixtures/random-packets';

const propertyIds = propertyTable.map((d) => d.id);

/** The largest maximum packet size the protocol allows (remaining length 268,435,455 plus the header). */
export const MAX_PACKET_SIZE = 268_435_460;

/** Reason codes a ProtocolError from the decoder may carry. */
export const DECODER_REASONS = [0x81, 0x82, 0x84, 0x90, 0x94, 0x95];

export function mutate(r: Random, input: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (r.int(7)) {
    case 0: // flip a few bits
      for (let n = r.range(1, 4); n > 0; n--) b[r.int(b.length)] ^= 1 << r.int(8);
      return b;
    case 1: // truncate
      return b.subarray(0, r.int(b.length));
    case 2: // extend with garbage
      return Buffer.concat([b, r.bytes(20)]);
    case 3: // wrong remaining length
      if (b.length > 1) b[1] = r.int(256);
      return b;
    case 4: // a property identifier (or an unknown one) where something else was
      b[r.range(Math.min(2, b.length - 1), b.length - 1)] = r.bool(0.8) ? r.pick(propertyIds) : r.int(0x80);
      return b;
    case 5: // overwrite a length prefix-like pair of bytes
      if (b.length > 4) b.writeUInt16BE(r.int(65536), r.range(2, b.length - 2));
      return b;
    default: // other first byte (type and flags)
      b[0] = r.int(256);
      return b;
  }
}

/** One fuzz input: a stream of encoded packets with one mutated (or, 10% of the time, random bytes). */
export interface FuzzInput {
  version: ProtocolVersion;
  stream: Buffer;
  maximumPacketSize: number;
}

export function makeInput(r: Random): FuzzInput {
  const version: ProtocolVersion = r.bool() ? 5 : 4;
  let stream: Buffer;
  if (r.bool(0.1)) {
    stream = r.bytes(300);
  } else {
    const types = typesFor(version).filter((t) => t !== 'connect'); // keep the level fixed
    const parts = Array.from({ length: r.range(1, 4) }, () => encode(randomPacket(r, r.pick(types), version), version));
    const victim = r.int(parts.length);
    parts[victim] = mutate(r, parts[victim]);
    stream = Buffer.concat(parts);
  }
  const maximumPacketSize = r.bool(0.3) ? r.range(2, 512) : MAX_PACKET_SIZE;
  return { version, stream, maximumPacketSize };
}

/**
 * Feeds `stream` in random chunks and checks the decoder's invariants (an assertion error, or any throw
 * from the decoder, is a violation); returns what it produced.
 */
export function feed(r: Random, stream: Buffer, version: ProtocolVersion, maximumPacketSize: number): (Packet | ProtocolError)[] {
  const d = new PacketDecoder({ protocolVersion: version, maximumPacketSize });
  const out: (Packet | ProtocolError)[] = [];
  let failed = false;
  for (let pos = 0; pos < stream.length; ) {
    const n = r.bool(0.2) ? 1 : r.range(1, 200);
    d.push(stream.subarray(pos, pos + n));
    pos += n;
    for (;;) {
      const p = d.next(); // must not throw
      if (p === null) {
        assert.ok(d.bufferedBytes < maximumPacketSize || d.bufferedBytes <= 4, `buffered ${d.bufferedBytes}`);
        break;
      }
      if (p instanceof ProtocolError) {
        if (!failed) out.push(p);
        failed = true;
        assert.equal(d.next(), p, 'stays failed');
        assert.equal(d.bufferedBytes, 0);
        break;
      }
      assert.ok(!failed, 'no packet after an error');
      out.push(p);
    }
  }
  return out;
}
