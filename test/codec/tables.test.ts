// The property table and the reason codes, checked against an independent source (mqtt-packet's own
// constants) and for internal consistency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnackReturnCode, ReasonCode, WireType, propertyTable, reasonCodeName } from '../../src/codec';
import { propertyById, propertyByName } from '../../src/codec/properties';
import { allowedReasonCodes } from '../../src/codec/reason-codes';

const constants = require('mqtt-packet/constants') as {
  properties: Record<string, number>;
  propertiesTypes: Record<string, string>;
};

test('every MQTT 5 property: same identifier and wire type as mqtt-packet knows it', () => {
  const wire: Record<string, number> = {
    byte: WireType.Byte, int8: WireType.Byte, int16: WireType.TwoByteInteger, int32: WireType.FourByteInteger,
    var: WireType.VariableByteInteger, string: WireType.Utf8String, binary: WireType.BinaryData, pair: WireType.Utf8StringPair,
  };
  const ours = new Map(propertyTable.map((d) => [d.name === 'subscriptionIdentifiers' ? 'subscriptionIdentifier' : d.name, d]));
  assert.equal(ours.size, Object.keys(constants.properties).length);
  for (const [name, id] of Object.entries(constants.properties)) {
    const d = ours.get(name);
    assert.ok(d, `${name} missing`);
    assert.equal(d.id, id, name);
    assert.equal(d.type, wire[constants.propertiesTypes[name]], name);
  }
});

test('the derived lookups agree with the table', () => {
  for (const d of propertyTable) {
    assert.equal(propertyById[d.id], d);
    assert.equal(propertyByName.get(d.name), d);
  }
  assert.equal(propertyById.filter(Boolean).length, propertyTable.length);
});

test('reason code names follow the specification', () => {
  assert.equal(ReasonCode.NotAuthorized, 0x87);
  assert.equal(ReasonCode.PacketTooLarge, 0x95);
  assert.equal(reasonCodeName(0x00), 'Success');
  assert.equal(reasonCodeName(0x81), 'MalformedPacket');
  assert.equal(reasonCodeName(0xa2), 'WildcardSubscriptionsNotSupported');
  assert.equal(reasonCodeName(0x05), 'Unknown(0x05)');
  assert.deepEqual(Object.values(ConnackReturnCode), [0, 1, 2, 3, 4, 5]);
});

test('every reason code a packet may carry has a name', () => {
  for (const [type, codes] of Object.entries(allowedReasonCodes)) {
    for (const code of codes) assert.doesNotMatch(reasonCodeName(code), /Unknown/, `${type} 0x${code.toString(16)}`);
  }
});
