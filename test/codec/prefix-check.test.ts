// The decoder checks the first bytes of a packet that has not fully arrived: what is wrong there fails
// at once [MQTT-4.8.0-1], what is right so far waits for the rest, and a whole packet decodes as before.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, ProtocolError, encode } from '../../src/codec';
import type { ProtocolVersion } from '../../src/codec';

/** Pushes `chunks` one by one; returns what next() gave after the last one. */
function after(chunks: (number[] | Buffer)[], options: { server?: boolean; version?: ProtocolVersion; max?: number } = {}) {
  const d = new PacketDecoder({ server: options.server, protocolVersion: options.version, maximumPacketSize: options.max });
  let result: ReturnType<PacketDecoder['next']> = null;
  for (const c of chunks) {
    d.push(Buffer.from(c));
    result = d.next();
  }
  return result;
}

function assertFails(result: unknown, reasonCode: number, pattern: RegExp): void {
  assert.ok(result instanceof ProtocolError, `a ProtocolError, got ${String(result)}`);
  assert.equal(result.reasonCode, reasonCode);
  assert.match(result.message, pattern);
}

const CONNECT_V4 = encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'prefix-check' }, 4);

describe('prefix check: the first bytes of an unfinished packet', () => {
  test('[MQTT-3.1.0-1] a server refuses a first packet other than CONNECT at its first byte', () => {
    assertFails(after([[0x30]], { server: true }), 0x82, /before CONNECT/);
    assert.equal(after([[0x10]], { server: true }), null, 'CONNECT: more bytes are needed');
  });

  test('[MQTT-3.1.0-2] a second CONNECT and server-only packets are refused at their first byte', () => {
    const d = new PacketDecoder({ server: true });
    d.push(CONNECT_V4);
    assert.equal((d.next() as { type: string }).type, 'connect');
    d.push(Buffer.from([0x10]));
    assertFails(d.next(), 0x82, /second CONNECT/);
    assertFails(after([CONNECT_V4, [0x90]], { server: true }), 0x82, /sent by servers only/);
  });

  test('[MQTT-2.1.3-1] reserved fixed-header flags fail before the body arrives', () => {
    // SUBSCRIBE with flags 0000 and a Remaining Length of 100, of which 3 bytes are here
    assertFails(after([[0x80, 100, 0x00, 0x01, 0x00]]), 0x81, /flags/);
  });

  test('a Remaining Length already beyond the maximum packet size fails before its last byte', () => {
    assertFails(after([[0x30, 0xff, 0xff]], { max: 1024 }), 0x95, /at least/);
  });

  test('[MQTT-3.1.2-1] a protocol name of the wrong length fails as soon as its length is read', () => {
    assertFails(after([[0x10, 0xc8, 0x01, 0x12, 0x34]], { server: true }), 0x84, /protocol name of 4660 bytes/);
  });

  test('[MQTT-3.1.2-2] an unknown protocol level fails before the rest of CONNECT', () => {
    assertFails(after([[0x10, 0x7f, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x09]], { server: true }), 0x84, /level 9/);
  });

  test('[MQTT-1.5.3-1] a topic that is not well-formed UTF-8 fails before the payload arrives, across chunks', () => {
    assertFails(after([[0x30, 0xc8, 0x01, 0x00, 0x10], [0x61, 0xc3], [0x28]]), 0x81, /UTF-8/);
  });

  test('[MQTT-3.3.2-2] a wildcard in the topic received so far fails at once', () => {
    assertFails(after([[0x30, 0xc8, 0x01, 0x00, 0x10, 0x61, 0x2f, 0x2b]]), 0x90, /wildcard/);
  });

  test('a well-formed beginning waits, a multi-byte character cut at the end included, and the whole packet decodes', () => {
    const payload = Buffer.alloc(1000, 0x41);
    const bytes = encode({ type: 'publish', topic: 'a/é/b', payload, qos: 1, packetId: 7, retain: false, dup: false }, 5);
    const d = new PacketDecoder({ protocolVersion: 5 });
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of "é"
    d.push(bytes.subarray(0, cut));
    assert.equal(d.next(), null);
    for (let i = cut; i < bytes.length; i += 97) {
      d.push(bytes.subarray(i, Math.min(bytes.length, i + 97)));
      const p = d.next();
      if (i + 97 < bytes.length) assert.equal(p, null, 'still waiting for the rest');
      else assert.deepEqual(p, { type: 'publish', topic: 'a/é/b', payload, qos: 1, packetId: 7, retain: false, dup: false });
    }
  });
});
