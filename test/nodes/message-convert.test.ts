// The msg ⇄ PUBLISH conversions on their own: output types, content types, user properties.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { PublishPacket } from '../../src/codec/types';
import { buildPublishProperties, messageFromPublish, payloadToBuffer, PayloadConversionError } from '../../nodes/lib/message-convert';
import { validateTopicFilter, validateTopicName } from '../../nodes/lib/engine';
import { topicMatchesFilter } from '../../src/topics';

function publish(payload: Buffer | string, properties?: PublishPacket['properties']): PublishPacket {
  return { type: 'publish', topic: 't', payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos: 1, retain: false, dup: false, packetId: 1, properties };
}

describe('message conversion', () => {
  test('auto-detect: JSON → object, text → string, binary → Buffer; the payload format indicator and content type decide first', () => {
    assert.deepEqual(messageFromPublish(publish('{"a":1}'), 'auto-detect', true).payload, { a: 1 });
    assert.equal(messageFromPublish(publish('plain'), 'auto-detect', true).payload, 'plain');
    assert.ok(Buffer.isBuffer(messageFromPublish(publish(Buffer.from([0xc3, 0x28])), 'auto-detect', true).payload));
    assert.equal(messageFromPublish(publish('{"a":1}', { contentType: 'text/plain' }), 'auto-detect', true).payload, '{"a":1}');
    assert.ok(Buffer.isBuffer(messageFromPublish(publish('text', { contentType: 'application/octet-stream' }), 'auto-detect', true).payload));
    assert.throws(() => messageFromPublish(publish('nope', { contentType: 'application/json' }), 'auto-detect', true), PayloadConversionError);
    // Under 3.1.1 there are no properties to honour.
    assert.deepEqual(messageFromPublish(publish('{"a":1}', { contentType: 'text/plain' }), 'auto-detect', false).payload, { a: 1 });
  });

  test('a repeated user property name keeps every value [MQTT-3.3.2-18]', () => {
    const msg = messageFromPublish(publish('x', { userProperties: [['a', '1'], ['b', '2'], ['a', '3']] }), 'utf8', true);
    assert.deepEqual(msg.userProperties, { a: ['1', '3'], b: '2' });
    const props = buildPublishProperties({ userProperties: msg.userProperties as Record<string, unknown> });
    assert.deepEqual(props?.userProperties, [['a', '1'], ['a', '3'], ['b', '2']]);
  });

  test('layers: scalars from the last layer that sets them, user properties merged per key', () => {
    const props = buildPublishProperties(
      { userProperties: { site: 'conn', gw: '1' }, contentType: 'a/b' },
      { userProperties: { site: 'msg' }, contentType: undefined, messageExpiryInterval: 5 },
      { contentType: 'c/d' },
    );
    assert.equal(props?.contentType, 'c/d');
    assert.equal(props?.messageExpiryInterval, 5);
    assert.deepEqual(props?.userProperties, [['site', 'msg'], ['gw', '1']]);
  });

  test('payloads of any type become bytes', () => {
    assert.equal(payloadToBuffer(null).length, 0);
    assert.equal(payloadToBuffer(undefined).length, 0);
    assert.equal(payloadToBuffer(1.5).toString(), '1.5');
    assert.equal(payloadToBuffer(false).toString(), 'false');
    assert.equal(payloadToBuffer({ a: [1] }).toString(), '{"a":[1]}');
    assert.deepEqual(payloadToBuffer(new Uint8Array([1, 2])), Buffer.from([1, 2]));
  });

  test('the nodes check topics with the engine\'s rules: wildcards [MQTT-4.7.1-2] [MQTT-4.7.1-3], shared subscriptions [MQTT-4.8.2-2], $ topics [MQTT-4.7.2-1], 65,535 bytes', () => {
    for (const ok of ['a/b', '#', 'a/#', '+/b/+', '$share/g/a/#', '$SYS/#']) assert.ok(validateTopicFilter(ok), ok);
    for (const bad of ['', 'a/#/b', 'a#', 'a/b+', '$share/g', '$share//a', '$share/g+/a', 'a\u0000b']) assert.ok(!validateTopicFilter(bad), bad);
    assert.ok(validateTopicName('a/b'));
    assert.ok(!validateTopicName('a/+'));
    assert.ok(!validateTopicName(''));
    // a UTF-8 string holds at most 65,535 bytes (section 1.5.4): 'é' is two bytes
    assert.ok(validateTopicName('é'.repeat(32767) + 'a'));
    assert.ok(!validateTopicName('é'.repeat(32768)));
    assert.ok(!validateTopicFilter('é'.repeat(32768)));
    assert.ok(topicMatchesFilter('a/#', 'a'));
    assert.ok(!topicMatchesFilter('#', '$SYS/x'));
    assert.ok(!topicMatchesFilter('+/x', '$SYS/x'));
    assert.ok(topicMatchesFilter('$SYS/#', '$SYS/x'));
  });
});
