// 12-properties: MQTT 5.0 features (§3.1.2.11, §3.2.2.3, §3.3.2.3, §3.8.3.1, §4.9, §4.12), and how
// messages cross between 5.0 and 3.1.1 clients.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { useBroker } from './helpers/harness';
import { needsBrokerObject } from './helpers/broker';
import { uniqueId } from './helpers/raw-client';
import { publishBytes, str, u16 } from './helpers/bytes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('12-properties MQTT 5.0', { timeout: 30_000 }, () => {
  const h = useBroker({ maxKeepalive: 10 });
  const topic = () => `${uniqueId('p')}/t`;

  test('[MQTT-3.3.4-9] the server sends no more unacknowledged QoS 1/2 PUBLISHes than the client\'s Receive Maximum', async () => {
    const { client: sub } = await h.raw(5, { properties: { receiveMaximum: 2 } });
    const { client: pub } = await h.raw(5);
    const t = topic();
    await sub.subscribe(t, 1);
    for (let i = 0; i < 5; i++) await pub.publish(t, `m${i}`, 1);
    const a = await sub.expect('publish');
    const b = await sub.expect('publish');
    assert.deepEqual([a.payload.toString(), b.payload.toString()], ['m0', 'm1']);
    assert.ok(await sub.silentFor(300), 'a third one waits for an acknowledgement');
    sub.send({ cmd: 'puback', messageId: a.messageId! });
    const c = await sub.expect('publish');
    assert.equal(c.payload.toString(), 'm2');
    assert.ok(await sub.silentFor(200));
    for (const p of [b, c]) sub.send({ cmd: 'puback', messageId: p.messageId! });
    assert.equal((await sub.receive()).payload.toString(), 'm3');
    assert.equal((await sub.receive()).payload.toString(), 'm4');
  });

  test('[MQTT-3.1.2-24] [MQTT-3.1.2-25] no packet larger than the client\'s Maximum Packet Size is sent to it', async () => {
    const { client: sub } = await h.raw(5, { properties: { maximumPacketSize: 200 } });
    const { client: pub } = await h.raw(5);
    const t = topic();
    await sub.subscribe(t, 1);
    await pub.publish(t, Buffer.alloc(500, 0x61), 1);
    await pub.publish(t, 'small', 1);
    const p = await sub.receive();
    assert.equal(p.payload.toString(), 'small', 'the large message is discarded for this client');
    assert.ok(sub.rawData.length < 200 + 100);
  });

  test('§3.2.2.3.8 CONNACK advertises Topic Alias Maximum; an alias set by the client is resolved', async () => {
    const { client: pub, connack } = await h.raw(5);
    const aliasMax = connack.properties?.topicAliasMaximum ?? 0;
    assert.ok(aliasMax >= 1, 'Topic Alias Maximum advertised');
    const { client: sub } = await h.raw(5);
    const t = topic();
    await sub.subscribe(t, 1);
    await pub.publish(t, 'with-topic', 1, { properties: { topicAlias: 1 } });
    await pub.publish('', 'alias-only', 1, { properties: { topicAlias: 1 } });
    const a = await sub.receive();
    const b = await sub.receive();
    assert.equal(a.topic, t);
    assert.equal(b.topic, t, 'alias resolved to the topic name');
    assert.equal(b.payload.toString(), 'alias-only');
  });

  test('[MQTT-3.3.2-9] a Topic Alias above the server\'s Topic Alias Maximum: DISCONNECT 0x94', async () => {
    const { client, connack } = await h.raw(5);
    const aliasMax = connack.properties?.topicAliasMaximum ?? 0;
    client.sendBytes(publishBytes({ version: 5, topic: [...Buffer.from('a/b')], properties: [0x23, ...u16(aliasMax + 1)] }));
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x94]]);
  });

  test('§3.3.2.3.4 an alias not yet set (empty topic, unknown alias): DISCONNECT 0x82', async () => {
    const { client } = await h.raw(5);
    client.sendBytes(publishBytes({ version: 5, topic: [], properties: [0x23, ...u16(1)] }));
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x82]]);
  });

  test('[MQTT-3.1.2-26] [MQTT-3.1.2-27] outgoing topic aliases stay within the client\'s Topic Alias Maximum, none without one', async () => {
    const { client: withAliases } = await h.raw(5, { properties: { topicAliasMaximum: 2 } });
    const { client: without } = await h.raw(5);
    const { client: pub } = await h.raw(5);
    const base = uniqueId('alias');
    await withAliases.subscribe(`${base}/#`, 0);
    await without.subscribe(`${base}/#`, 0);
    const sent = [`${base}/a`, `${base}/b`, `${base}/a`, `${base}/c`, `${base}/a`, `${base}/b`];
    for (const t of sent) await pub.publish(t, 'x', 1);
    const aliases = new Map<number, string>();
    const resolved: string[] = [];
    for (let i = 0; i < sent.length; i++) {
      const p = await withAliases.expect('publish');
      const alias = p.properties?.topicAlias;
      if (alias !== undefined) {
        assert.ok(alias >= 1 && alias <= 2, `[MQTT-3.1.2-26] alias ${alias} within 1..2`);
        if (p.topic) aliases.set(alias, p.topic);
        assert.ok(aliases.has(alias), 'an alias is set before it is used alone');
        resolved.push(p.topic || aliases.get(alias)!);
      } else {
        resolved.push(p.topic);
      }
      const q = await without.expect('publish');
      assert.equal(q.properties?.topicAlias, undefined, '[MQTT-3.1.2-27] no alias to a client without Topic Alias Maximum');
      assert.equal(q.topic, sent[i]);
    }
    assert.deepEqual(resolved, sent);
  });

  test('[MQTT-3.3.2-5] a message whose Message Expiry Interval has passed is not delivered to a returning session', async () => {
    const id = uniqueId('exp');
    const t = `${id}/t`;
    const persistent = { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await h.raw(5, persistent);
    await first.client.subscribe(t, 1);
    first.client.disconnect();
    await first.client.closedByBroker();
    const { client: pub } = await h.raw(5);
    await pub.publish(t, 'short-lived', 1, { properties: { messageExpiryInterval: 1 } });
    await pub.publish(t, 'long-lived', 1, { properties: { messageExpiryInterval: 100 } });
    await sleep(2200); // beyond the 1 s expiry under test
    const second = await h.raw(5, persistent);
    assert.equal(second.connack.sessionPresent, true);
    const p = await second.client.receive();
    assert.equal(p.payload.toString(), 'long-lived');
    const left = p.properties?.messageExpiryInterval;
    assert.ok(left !== undefined && left <= 99 && left > 0, `[MQTT-3.3.2-6] expiry reduced by the time waited, got ${left}`);
    assert.ok(await second.client.silentFor(200));
    second.client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
  });

  test('[MQTT-3.3.2-5] an expired retained message is not sent to new subscribers', async () => {
    const { client: pub } = await h.raw(5);
    const t = topic();
    await pub.publish(t, 'fading', 1, { retain: true, properties: { messageExpiryInterval: 1 } });
    await sleep(2200);
    const { client: sub } = await h.raw(5);
    await sub.subscribe(t, 1);
    assert.ok(await sub.silentFor(300));
  });

  test('[MQTT-3.3.2-4] [MQTT-3.3.2-20] [MQTT-3.3.2-15] [MQTT-3.3.2-16] payload format, content type, response topic, correlation data forwarded unaltered', async () => {
    const { client: sub } = await h.raw(5);
    const { client: pub } = await h.raw(5);
    const t = topic();
    await sub.subscribe(t, 1);
    const correlationData = Buffer.from([0, 1, 2, 250]);
    await pub.publish(t, '{"a":1}', 1, {
      properties: { payloadFormatIndicator: true, contentType: 'application/json', responseTopic: `${t}/reply`, correlationData },
    });
    const p = await sub.receive();
    assert.equal(p.properties?.payloadFormatIndicator, true);
    assert.equal(p.properties?.contentType, 'application/json');
    assert.equal(p.properties?.responseTopic, `${t}/reply`);
    assert.ok(Buffer.from(p.properties?.correlationData ?? []).equals(correlationData));
  });

  test('[MQTT-3.3.2-17] [MQTT-3.3.2-18] user properties forwarded in order, repeated names kept', async () => {
    const { client: sub } = await h.raw(5);
    const { client: pub } = await h.raw(5);
    const t = topic();
    await sub.subscribe(t, 0);
    const userProps = [0x26, ...str('k'), ...str('1'), 0x26, ...str('other'), ...str('2'), 0x26, ...str('k'), ...str('3')];
    pub.sendBytes(publishBytes({ version: 5, topic: [...Buffer.from(t)], properties: userProps, payload: [0x7a] }));
    const p = await sub.expect('publish');
    assert.deepEqual({ ...p.properties?.userProperties }, { k: ['1', '3'], other: '2' });
    // mqtt-packet merges repeated names: check the order on the wire.
    assert.ok(sub.rawData.includes(Buffer.from(userProps)), 'the three pairs arrive in the order sent');
  });

  test('[MQTT-3.3.4-3] Subscription Identifier is returned with matching messages', async () => {
    const { client: sub, connack } = await h.raw(5);
    assert.notEqual(connack.properties?.subscriptionIdentifiersAvailable, false);
    const base = uniqueId('sid');
    await sub.subscribe([{ topic: `${base}/+`, qos: 1 }], 0, { subscriptionIdentifier: 7 });
    await sub.subscribe([{ topic: `${base}/x`, qos: 1 }], 0, { subscriptionIdentifier: 300 });
    const { client: pub } = await h.raw(5);
    await pub.publish(`${base}/y`, 'one-sub', 1);
    const one = await sub.receive();
    assert.deepEqual([one.properties?.subscriptionIdentifier].flat(), [7]);
    await pub.publish(`${base}/x`, 'two-subs', 1);
    const ids: number[] = [];
    ids.push(...[(await sub.receive()).properties?.subscriptionIdentifier ?? []].flat());
    if (!(await sub.silentFor(200))) ids.push(...[(await sub.receive()).properties?.subscriptionIdentifier ?? []].flat());
    assert.deepEqual(ids.sort((x, y) => x - y), [7, 300], '[MQTT-3.3.4-4] [MQTT-3.3.4-5] both identifiers');
  });

  test('[MQTT-3.8.3-3] No Local: a client does not receive its own messages on that subscription', async () => {
    const { client } = await h.raw(5);
    const { client: other } = await h.raw(5);
    const t = topic();
    await client.subscribe([{ topic: t, qos: 1, nl: true }]);
    await client.publish(t, 'mine', 1);
    await other.publish(t, 'theirs', 1);
    const p = await client.receive();
    assert.equal(p.payload.toString(), 'theirs');
    assert.ok(await client.silentFor(200));
  });

  test('[MQTT-3.3.1-10] Retain Handling 1: retained messages only for a new subscription', async () => {
    const { client: pub } = await h.raw(5);
    const t = topic();
    await pub.publish(t, 'kept', 1, { retain: true });
    const { client: sub } = await h.raw(5);
    await sub.subscribe([{ topic: t, qos: 1, rh: 1 }]);
    assert.equal((await sub.receive()).payload.toString(), 'kept');
    await sub.subscribe([{ topic: t, qos: 1, rh: 1 }]);
    assert.ok(await sub.silentFor(300), 'not again for an existing subscription');
  });

  test('[MQTT-3.3.1-11] Retain Handling 2: no retained messages at subscribe', async () => {
    const { client: pub } = await h.raw(5);
    const t = topic();
    await pub.publish(t, 'kept', 1, { retain: true });
    const { client: sub } = await h.raw(5);
    await sub.subscribe([{ topic: t, qos: 1, rh: 2 }]);
    assert.ok(await sub.silentFor(300));
  });

  test('[MQTT-3.3.1-13] Retain As Published: live messages keep their RETAIN flag', async () => {
    const { client: rap } = await h.raw(5);
    const { client: plain } = await h.raw(5);
    const { client: pub } = await h.raw(5);
    const t = topic();
    await rap.subscribe([{ topic: t, qos: 1, rap: true }]);
    await plain.subscribe([{ topic: t, qos: 1, rap: false }]);
    await pub.publish(t, 'r', 1, { retain: true });
    assert.equal((await rap.receive()).retain, true);
    assert.equal((await plain.receive()).retain, false, '[MQTT-3.3.1-12]');
    await pub.publish(t, Buffer.alloc(0), 1, { retain: true });
  });

  test('[MQTT-3.1.2-29] Request Problem Information 0: no Reason String or User Property on SUBACK, PUBACK...', async () => {
    const { client } = await h.raw(5, { properties: { requestProblemInformation: false } });
    const suback = await client.subscribe([{ topic: 'bad/#/filter', qos: 1 }]).catch(() => undefined);
    if (suback) {
      assert.equal(suback.properties?.reasonString, undefined);
      assert.equal(suback.properties?.userProperties, undefined);
    }
    if (!client.closed) {
      const puback = await client.publish(topic(), 'x', 1);
      assert.equal(puback?.properties?.reasonString, undefined);
    }
  });

  test('[MQTT-3.2.2-21] a keep alive above maxKeepalive is answered with Server Keep Alive', { skip: needsBrokerObject }, async () => {
    const { connack } = await h.raw(5, { keepalive: 60 });
    assert.equal(connack.properties?.serverKeepAlive, 10);
  });

  test('3.1.1 has no Server Keep Alive: a keep alive above maxKeepalive is refused (0x02, as Mosquitto does)', { skip: needsBrokerObject }, async () => {
    const client = await h.open(4);
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: uniqueId() });
    const connack = await client.expect('connack');
    assert.equal(connack.returnCode, 0x02);
    await client.closedByBroker();
  });

  test('[MQTT-3.2.2-16] an assigned client identifier is usable to resume the session', async () => {
    const first = await h.raw(5, { clientId: '', clean: true, properties: { sessionExpiryInterval: 60 } });
    const assigned = first.connack.properties?.assignedClientIdentifier;
    assert.ok(assigned);
    first.client.disconnect();
    await first.client.closedByBroker();
    const again = await h.raw(5, { clientId: assigned, clean: false, properties: { sessionExpiryInterval: 0 } });
    assert.equal(again.connack.sessionPresent, true);
  });

  test('[MQTT-4.12.0-1] an unsupported Authentication Method is refused with CONNACK 0x8C and the connection closed', async () => {
    const client = await h.open(5);
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: uniqueId(), properties: { authenticationMethod: 'NO-SUCH-METHOD' } });
    const connack = await client.expect('connack');
    assert.equal(connack.reasonCode, 0x8c, 'Bad authentication method');
    await client.closedByBroker();
  });

  test('§4.12 AUTH without an authentication method in CONNECT is a protocol error', async () => {
    const { client } = await h.raw(5);
    client.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'X' } });
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x82]]);
  });

  test('a 5.0 message with properties reaches a 3.1.1 subscriber as plain PUBLISH; the reverse has none', async () => {
    const { client: v4 } = await h.raw(4, { keepalive: 5 }); // within maxKeepalive
    const { client: v5 } = await h.raw(5);
    const t = topic();
    await v4.subscribe(t, 1);
    await v5.subscribe(t, 1);
    await v5.publish(t, 'from-5', 1, { properties: { userProperties: { a: 'b' }, contentType: 'text/plain' } });
    assert.equal((await v4.receive()).payload.toString(), 'from-5');
    await v5.receive();
    await v4.publish(t, 'from-4', 1);
    const p = await v5.receive();
    assert.equal(p.payload.toString(), 'from-4');
    assert.equal(p.properties?.userProperties, undefined);
    assert.equal(p.properties?.contentType, undefined);
  });

  test('MQTT.js 5.0: user properties and response topic round trip', async () => {
    const a = await h.js(5);
    const t = topic();
    await a.client.subscribeAsync(t, { qos: 1 });
    await a.client.publishAsync(t, 'req', { qos: 1, properties: { responseTopic: `${t}/r`, userProperties: { x: 'y' } } });
    const m = await a.nextMessage();
    assert.equal(m.packet.properties?.responseTopic, `${t}/r`);
    assert.deepEqual({ ...m.packet.properties?.userProperties }, { x: 'y' });
  });
});

describe('12-properties Receive Maximum of the server (receiveMaximum: 2, maxQueuedMessages: 1)', { timeout: 30_000 }, () => {
  // maxQueuedMessages is the room past the Receive Maximum (Mosquitto queues that many)
  const h = useBroker({ receiveMaximum: 2, maxQueuedMessages: 1 });
  test('[MQTT-3.3.4-9] more unacknowledged QoS 2 PUBLISHes than the server\'s Receive Maximum and the room past it: DISCONNECT 0x93', { skip: needsBrokerObject }, async () => {
    const { client, connack } = await h.raw(5);
    assert.equal(connack.properties?.receiveMaximum, 2, 'advertised in CONNACK');
    for (let id = 1; id <= 3; id++) {
      client.send({ cmd: 'publish', topic: 'rm/t', payload: 'x', qos: 2, retain: false, dup: false, messageId: id });
      await client.expect('pubrec');
    }
    client.send({ cmd: 'publish', topic: 'rm/t', payload: 'x', qos: 2, retain: false, dup: false, messageId: 4 });
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x93]]);
  });

  test('within the Receive Maximum, completed flows free their slots', { skip: needsBrokerObject }, async () => {
    const { client } = await h.raw(5);
    for (let i = 0; i < 6; i++) await client.publish('rm/ok', `m${i}`, 2);
    client.send({ cmd: 'pingreq' });
    await client.expect('pingresp');
  });
});

describe('12-properties Maximum QoS 1 (maximumQoS: 1)', { timeout: 30_000 }, () => {
  const h = useBroker({ maximumQoS: 1 });
  test('[MQTT-3.2.2-9] CONNACK says Maximum QoS 1; a QoS 2 subscription is granted QoS 1', async () => {
    const { client, connack } = await h.raw(5);
    assert.equal(connack.properties?.maximumQoS, 1);
    const suback = await client.subscribe('mq/t', 2);
    assert.deepEqual(suback.granted, [1]);
  });

  test('[MQTT-3.2.2-11] a QoS 2 PUBLISH above Maximum QoS: DISCONNECT 0x9B', async () => {
    const { client } = await h.raw(5);
    client.send({ cmd: 'publish', topic: 'mq/t', payload: 'x', qos: 2, retain: false, dup: false, messageId: 1 });
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x9b]]);
  });

  test('3.1.1 clients are served too: QoS 2 subscriptions granted QoS 1', async () => {
    const { client } = await h.raw(4);
    const suback = await client.subscribe('mq/t4', 2);
    assert.deepEqual(suback.granted, [1]);
  });
});

describe('12-properties Retain not available (retainAvailable: false)', { timeout: 30_000 }, () => {
  const h = useBroker({ retainAvailable: false });
  test('[MQTT-3.2.2-14] CONNACK says Retain Available 0; a retained PUBLISH: DISCONNECT 0x9A', async () => {
    const { client, connack } = await h.raw(5);
    assert.equal(connack.properties?.retainAvailable, false);
    client.send({ cmd: 'publish', topic: 'ra/t', payload: 'x', qos: 1, retain: true, dup: false, messageId: 1 });
    const before = await client.closedByBroker();
    assert.deepEqual(before.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]), [['disconnect', 0x9a]]);
  });
});

describe('12-properties Response Information (responseInformation set)', { timeout: 30_000 }, () => {
  const h = useBroker({ responseInformation: 'responses/' });
  test('[MQTT-3.1.2-28] Response Information only for a client that requests it', { skip: needsBrokerObject }, async () => {
    const { connack: asked } = await h.raw(5, { properties: { requestResponseInformation: true } });
    assert.equal(asked.properties?.responseInformation, 'responses/');
    const { connack: notAsked } = await h.raw(5);
    assert.equal(notAsked.properties?.responseInformation, undefined);
  });
});
