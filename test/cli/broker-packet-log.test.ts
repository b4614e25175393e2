// The -v line formats, checked against lines real `mosquitto -v` (2.0) prints for the same packets.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  formatClientConnected,
  formatClientDisconnected,
  formatPacketIn,
  formatPacketOut,
  timestamp,
} from '../../src/broker/packet-log';
import type { ConnectPacket } from '../../src/codec/types';

const connect = (over: Partial<ConnectPacket> = {}): ConnectPacket => ({
  type: 'connect',
  protocolName: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 60,
  clientId: 'c1',
  ...over,
});

describe('packet log (mosquitto -v format)', () => {
  test('PUBLISH in and out', () => {
    const p = { type: 'publish', topic: 'a/b', payload: Buffer.from('hello world!'), qos: 1, retain: false, dup: false, packetId: 7 } as const;
    assert.deepEqual(formatPacketIn('c1', p), ["Received PUBLISH from c1 (d0, q1, r0, m7, 'a/b', ... (12 bytes))"]);
    assert.deepEqual(formatPacketOut('subby', { ...p, qos: 2, retain: true, dup: true, packetId: 2 }), [
      "Sending PUBLISH to subby (d1, q2, r1, m2, 'a/b', ... (12 bytes))",
    ]);
    assert.deepEqual(formatPacketIn('c3', { ...p, qos: 0, packetId: undefined, payload: Buffer.alloc(0) }), [
      "Received PUBLISH from c3 (d0, q0, r0, m0, 'a/b', ... (0 bytes))",
    ]);
  });

  test('acknowledgements in and out', () => {
    assert.deepEqual(formatPacketOut('c1', { type: 'puback', packetId: 7 }), ['Sending PUBACK to c1 (m7, rc0)']);
    assert.deepEqual(formatPacketOut('c2', { type: 'pubrec', packetId: 1, reasonCode: 0x10 }), ['Sending PUBREC to c2 (m1, rc16)']);
    assert.deepEqual(formatPacketOut('subby', { type: 'pubrel', packetId: 2 }), ['Sending PUBREL to subby (m2)']);
    assert.deepEqual(formatPacketOut('c2', { type: 'pubcomp', packetId: 1 }), ['Sending PUBCOMP to c2 (m1)']);
    assert.deepEqual(formatPacketIn('subby', { type: 'puback', packetId: 1 }), ['Received PUBACK from subby (Mid: 1, RC:0)']);
    assert.deepEqual(formatPacketIn('subby', { type: 'pubrec', packetId: 2 }), ['Received PUBREC from subby (Mid: 2)']);
    assert.deepEqual(formatPacketIn('c2', { type: 'pubrel', packetId: 1 }), ['Received PUBREL from c2 (Mid: 1)']);
    assert.deepEqual(formatPacketIn('subby', { type: 'pubcomp', packetId: 2, reasonCode: 0 }), ['Received PUBCOMP from subby (Mid: 2, RC:0)']);
  });

  test('CONNECT, CONNACK, and the connection lines', () => {
    assert.deepEqual(formatPacketIn('c1', connect({ username: 'user' })), ["Received CONNECT from c1 (p2, c1, k60, u'user')"]);
    assert.deepEqual(formatPacketOut('c1', { type: 'connack', sessionPresent: false, reasonCode: 0 }), ['Sending CONNACK to c1 (0, 0)']);
    assert.deepEqual(formatPacketOut('c1', { type: 'connack', sessionPresent: true, reasonCode: 0 }), ['Sending CONNACK to c1 (1, 0)']);
    assert.deepEqual(formatClientConnected('127.0.0.1:5555', 'c1', connect()), [
      'New client connected from 127.0.0.1:5555 as c1 (p2, c1, k60).',
      'No will message specified.',
    ]);
    assert.deepEqual(
      formatClientConnected('127.0.0.1:5556', 'dup', connect({ protocolVersion: 5, keepalive: 1, username: 'bob', will: { topic: 'w/t', payload: Buffer.from('x'), qos: 1, retain: true } })),
      ["New client connected from 127.0.0.1:5556 as dup (p5, c1, k1, u'bob').", 'Will message specified (1 bytes) (r1, q1).', '\tw/t'],
    );
    assert.deepEqual(formatClientConnected('127.0.0.1:1', 'old', connect({ protocolVersion: 3, protocolName: 'MQIsdp', clean: false })).slice(0, 1), [
      'New client connected from 127.0.0.1:1 as old (p1, c0, k60).',
    ]);
    assert.deepEqual(formatClientConnected('127.0.0.1:2', 'q', { protocolVersion: 4, keepalive: 30 }), ['New client connected from 127.0.0.1:2 as q (p2, k30).']);
  });

  test('SUBSCRIBE and UNSUBSCRIBE give a line per filter', () => {
    assert.deepEqual(
      formatPacketIn('dup', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'x/y', qos: 1 }, { topicFilter: 'z', qos: 0 }] }),
      ['Received SUBSCRIBE from dup', '\tx/y (QoS 1)', 'dup 1 x/y', '\tz (QoS 0)', 'dup 0 z'],
    );
    assert.deepEqual(formatPacketOut('dup', { type: 'suback', packetId: 1, reasonCodes: [1, 0] }), ['Sending SUBACK to dup']);
    assert.deepEqual(formatPacketIn('dup', { type: 'unsubscribe', packetId: 2, topicFilters: ['x/y', 'z'] }), [
      'Received UNSUBSCRIBE from dup',
      '\tx/y',
      'dup x/y',
      '\tz',
      'dup z',
    ]);
    assert.deepEqual(formatPacketOut('dup', { type: 'unsuback', packetId: 2 }), ['Sending UNSUBACK to dup']);
  });

  test('PINGREQ, PINGRESP, DISCONNECT', () => {
    assert.deepEqual(formatPacketIn('dup', { type: 'pingreq' }), ['Received PINGREQ from dup']);
    assert.deepEqual(formatPacketOut('dup', { type: 'pingresp' }), ['Sending PINGRESP to dup']);
    assert.deepEqual(formatPacketIn('c1', { type: 'disconnect' }), ['Received DISCONNECT from c1']);
    assert.deepEqual(formatPacketIn('c1', { type: 'disconnect', reasonCode: 4 }), ['Received DISCONNECT from c1 (rc4)']);
    assert.deepEqual(formatPacketOut('c1', { type: 'disconnect', reasonCode: 0x8e }), ['Sending DISCONNECT to c1 (rc142)']);
  });

  test('client leaving, by reason', () => {
    assert.equal(formatClientDisconnected('c1', 'disconnect'), 'Client c1 disconnected.');
    assert.equal(formatClientDisconnected('gone', 'closed'), 'Client gone closed its connection.');
    assert.equal(formatClientDisconnected('k', 'keepalive'), 'Client k has exceeded timeout, disconnecting.');
    assert.equal(formatClientDisconnected('dup', 'takeover'), 'Client dup already connected, closing old connection.');
    assert.equal(formatClientDisconnected('bad', 'protocol-error'), 'Client bad disconnected due to protocol error.');
    assert.equal(formatClientDisconnected('x', 'something-else'), 'Client x disconnected (something-else).');
  });

  test('timestamp prefix: epoch seconds and ": "', () => {
    assert.equal(timestamp(1_700_000_000_999), '1700000000: ');
    assert.match(timestamp(), /^\d{10,}: $/);
  });
});
