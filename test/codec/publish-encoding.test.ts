import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, PublishEncoding, encode, validatePayloadFormat } from '../../src/codec';
import type { Properties, PublishPacket, PublishRecipient } from '../../src/codec';

const shared: Properties = {
  payloadFormatIndicator: 1,
  contentType: 'text/plain',
  userProperties: [['a', 'b']],
  messageExpiryInterval: 100,
  topicAlias: 9, // per recipient: ignored from the message
  subscriptionIdentifiers: [77], // per recipient: ignored from the message
};
const message = { topic: 'fan/out', payload: Buffer.from('payload bytes'), properties: shared };

/** The packet `encode` would have to produce for this recipient. */
function expected(r: PublishRecipient): PublishPacket {
  const p: PublishPacket = {
    type: 'publish', topic: r.omitTopic ? '' : message.topic, payload: message.payload, qos: r.qos,
    retain: r.retain, dup: r.qos > 0 && !!r.dup,
  };
  if (r.qos > 0) p.packetId = r.packetId;
  if (r.protocolVersion === 5) {
    // In the order PublishEncoding writes them: per-recipient first, then the shared ones.
    const props: Properties = { messageExpiryInterval: r.messageExpiryInterval ?? 100 };
    if (r.topicAlias !== undefined) props.topicAlias = r.topicAlias;
    if (r.subscriptionIdentifiers !== undefined) props.subscriptionIdentifiers = r.subscriptionIdentifiers;
    p.properties = { ...props, payloadFormatIndicator: 1, contentType: 'text/plain', userProperties: [['a', 'b']] };
  }
  return p;
}

function decode(buf: Buffer, version: 3 | 4 | 5): PublishPacket {
  const d = new PacketDecoder({ protocolVersion: version });
  d.push(buf);
  const p = d.next();
  assert.ok(p && !(p instanceof Error) && p.type === 'publish');
  return p;
}

const recipients: PublishRecipient[] = [];
for (const protocolVersion of [3, 4, 5] as const) {
  for (const qos of [0, 1, 2] as const) {
    for (const retain of [false, true]) {
      recipients.push({ protocolVersion, qos, retain, dup: qos === 2, packetId: qos > 0 ? 1000 + qos : undefined });
    }
  }
}
recipients.push(
  { protocolVersion: 5, qos: 1, retain: false, packetId: 5, subscriptionIdentifiers: [1, 200_000] },
  { protocolVersion: 5, qos: 0, retain: true, topicAlias: 3 },
  { protocolVersion: 5, qos: 2, retain: false, packetId: 6, topicAlias: 3, omitTopic: true },
  { protocolVersion: 5, qos: 0, retain: false, messageExpiryInterval: 42 },
);

describe('PublishEncoding', () => {
  const enc = new PublishEncoding(message);
  for (const r of recipients) {
    test(`recipient ${JSON.stringify(r)}`, () => {
      // Twice, so the second call goes through the cached template.
      for (let i = 0; i < 2; i++) {
        const want = encode(expected(r), r.protocolVersion);
        const one = enc.encode(r);
        assert.deepEqual(one, want);
        assert.deepEqual(Buffer.concat(enc.buffers(r)), want);
        assert.equal(enc.length(r), want.length);
        assert.deepEqual(decode(one, r.protocolVersion), expected(r));
      }
    });
  }

  test('packet identifiers differ between recipients sharing a template', () => {
    const a = enc.encode({ protocolVersion: 4, qos: 1, retain: false, packetId: 1 });
    const b = enc.encode({ protocolVersion: 4, qos: 1, retain: false, packetId: 2 });
    assert.equal(decode(a, 4).packetId, 1);
    assert.equal(decode(b, 4).packetId, 2);
  });

  test('the payload is not copied by buffers()', () => {
    const parts = enc.buffers({ protocolVersion: 4, qos: 0, retain: false });
    assert.equal(parts[1], message.payload);
  });

  test('refuses what would be malformed', () => {
    assert.throws(() => enc.encode({ protocolVersion: 4, qos: 1, retain: false }), TypeError); // [MQTT-2.2.1-3]
    assert.throws(() => enc.encode({ protocolVersion: 5, qos: 0, retain: false, omitTopic: true }), TypeError);
    assert.throws(() => enc.encode({ protocolVersion: 5, qos: 3 as 0, retain: false }), TypeError);
    assert.throws(() => new PublishEncoding({ topic: 'a/+', payload: Buffer.alloc(0) }), TypeError); // [MQTT-3.3.2-2]
  });
});

describe('validatePayloadFormat (section 3.3.2.3.2)', () => {
  const publish = (payload: Buffer, payloadFormatIndicator?: number): PublishPacket => ({
    type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false,
    properties: payloadFormatIndicator === undefined ? undefined : { payloadFormatIndicator },
  });
  test('UTF-8 promised and kept', () => assert.equal(validatePayloadFormat(publish(Buffer.from('héllo'), 1)), null));
  test('UTF-8 promised and broken gives 0x99', () => {
    assert.equal(validatePayloadFormat(publish(Buffer.from([0xc3, 0x28]), 1))?.reasonCode, 0x99);
  });
  test('no promise, no check', () => assert.equal(validatePayloadFormat(publish(Buffer.from([0xff]), 0)), null));
  test('will payload of a CONNECT', () => {
    const err = validatePayloadFormat({
      type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c',
      will: { topic: 'w', payload: Buffer.from([0xff]), qos: 0, retain: false, properties: { payloadFormatIndicator: 1 } },
    });
    assert.equal(err?.reasonCode, 0x99);
  });
});
