// Bridge configuration as mosquitto.conf(5) defines it: the `topic` remapping table, what Mosquitto
// refuses, addresses with and without URL schemes, protocol versions and the defaults.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { compileTopic, incomingTopic, outgoingTopic, parseAddress, resolveBridgeOptions } from '../../src/bridge';
import { RestartBackoff } from '../../src/bridge/restart-backoff';

describe('bridge topic remapping (mosquitto.conf "topic pattern [[[out|in|both] qos] local-prefix remote-prefix]")', () => {
  // The table of mosquitto.conf(5): pattern, local prefix, remote prefix -> full local and remote topic.
  const valid: [string, string, string, string, string][] = [
    ['pattern', 'L/', 'R/', 'L/pattern', 'R/pattern'],
    ['pattern', 'L/', '""', 'L/pattern', 'pattern'],
    ['pattern', '""', 'R/', 'pattern', 'R/pattern'],
    ['pattern', '""', '""', 'pattern', 'pattern'],
    ['""', 'local', 'remote', 'local', 'remote'],
  ];
  for (const [pattern, localPrefix, remotePrefix, local, remote] of valid) {
    test(`${pattern} ${localPrefix} ${remotePrefix}: ${local} <-> ${remote}`, () => {
      const m = [compileTopic({ pattern, direction: 'both', localPrefix, remotePrefix })];
      assert.equal(m[0].localFilter, local);
      assert.equal(m[0].remoteFilter, remote);
      assert.equal(outgoingTopic(m, local)?.topic, remote);
      assert.equal(incomingTopic(m, remote)?.topic, local);
    });
  }

  for (const [localPrefix, remotePrefix] of [['local', '""'], ['""', 'remote'], ['""', '""']]) {
    test(`"" ${localPrefix} ${remotePrefix} is refused`, () => {
      assert.throws(() => compileTopic({ pattern: '""', localPrefix, remotePrefix }), TypeError);
    });
  }

  test('wildcards map the whole subtree: topic # both 2 local/topic/ remote/topic/', () => {
    const m = [compileTopic({ pattern: '#', direction: 'both', qos: 2, localPrefix: 'local/topic/', remotePrefix: 'remote/topic/' })];
    assert.equal(outgoingTopic(m, 'local/topic/a/b')?.topic, 'remote/topic/a/b');
    assert.equal(incomingTopic(m, 'remote/topic/x')?.topic, 'local/topic/x');
    assert.equal(outgoingTopic(m, 'other/a'), undefined);
  });

  test('a direction maps one way only; the first matching line wins; defaults are out and QoS 0', () => {
    const m = [
      compileTopic({ pattern: 'a/#', direction: 'in', localPrefix: 'in/' }),
      compileTopic({ pattern: 'a/b', localPrefix: 'first/' }),
      compileTopic({ pattern: 'a/+', direction: 'out', localPrefix: 'first/', remotePrefix: 'second/' }),
    ];
    assert.equal(m[1].direction, 'out');
    assert.equal(m[1].qos, 0);
    assert.equal(incomingTopic(m, 'a/b')?.topic, 'in/a/b');
    assert.equal(outgoingTopic(m, 'first/a/b')?.topic, 'a/b');
    assert.equal(outgoingTopic(m, 'first/a/c')?.topic, 'second/a/c');
    assert.equal(incomingTopic(m, 'second/a/c'), undefined);
  });

  test('a prefix is a topic name (no wildcards) and prefix + pattern a valid filter', () => {
    assert.throws(() => compileTopic({ pattern: 'a', localPrefix: '+/' }), /local prefix/);
    assert.throws(() => compileTopic({ pattern: 'a', remotePrefix: '#' }), /remote prefix/);
    assert.throws(() => compileTopic({ pattern: 'a/#/b' }), /combination/);
    assert.throws(() => compileTopic({ pattern: 'a', qos: 3 as 0 }), /qos/);
    assert.throws(() => compileTopic({ pattern: 'a', direction: 'up' as 'in' }), /direction/);
  });
});

describe('bridge options', () => {
  test('addresses: host[:port] (1883 by default, mqtts when TLS is configured), [v6]:port, URLs, several in turn', () => {
    assert.deepEqual(parseAddress('broker.example', false), { protocol: 'mqtt', host: 'broker.example', port: 1883 });
    assert.deepEqual(parseAddress('10.0.0.1:1884', true), { protocol: 'mqtts', host: '10.0.0.1', port: 1884 });
    assert.deepEqual(parseAddress('[::1]:1885', false), { protocol: 'mqtt', host: '::1', port: 1885 });
    assert.deepEqual(parseAddress('mqtts://h:8884', false), { protocol: 'mqtts', host: 'h', port: 8884 });
    assert.deepEqual(parseAddress('wss://h/ws', false), { protocol: 'wss', host: 'h', port: 443, path: '/ws' });
    assert.deepEqual(parseAddress('ws://h:9001', false), { protocol: 'ws', host: 'h', port: 9001 });
    assert.throws(() => parseAddress('http://h', false), /scheme/);
    assert.throws(() => parseAddress('h:99999', false), /port/);
    const o = resolveBridgeOptions({ name: 'n', address: 'a:1 b:2, mqtt://c:3', topics: [{ pattern: '#' }] });
    assert.deepEqual(o.addresses.map((a) => `${a.host}:${a.port}`), ['a:1', 'b:2', 'c:3']);
  });

  test("Mosquitto's defaults and names", () => {
    const o = resolveBridgeOptions({ name: 'edge', address: 'h', topics: [{ pattern: '#' }] });
    assert.equal(o.remoteClientId, `${os.hostname()}.edge`);
    assert.equal(o.localClientId, `local.${os.hostname()}.edge`);
    assert.equal(o.notificationTopic, `$SYS/broker/connection/${os.hostname()}.edge/state`);
    assert.equal(o.protocolVersion, 4);
    assert.equal(o.cleanSession, false);
    assert.equal(o.keepalive, 60);
    assert.deepEqual(o.restartTimeout, { base: 5, cap: 30 });
    assert.equal(o.tryPrivate, true);
    assert.equal(o.notifications, true);
    assert.equal(o.attemptUnsubscribe, true);
    assert.equal(o.outgoingRetain, true);
    assert.equal(o.roundRobin, false);
  });

  test('protocol versions by name or level; bad values refused', () => {
    const version = (protocolVersion: unknown) =>
      resolveBridgeOptions({ name: 'n', address: 'h', topics: [{ pattern: '#' }], protocolVersion: protocolVersion as 4 }).protocolVersion;
    assert.equal(version('mqttv31'), 3);
    assert.equal(version('mqttv311'), 4);
    assert.equal(version('mqttv50'), 5);
    assert.equal(version(5), 5);
    assert.throws(() => version('mqttv6'), /protocolVersion/);
    assert.deepEqual(resolveBridgeOptions({ name: 'n', address: 'h', topics: [{ pattern: '#' }], restartTimeout: 20 }).restartTimeout, { base: 20, cap: 20 });
    assert.throws(() => resolveBridgeOptions({ name: 'n', address: 'h', topics: [{ pattern: '#' }], restartTimeout: { base: 10, cap: 5 } }), /restartTimeout/);
    assert.throws(() => resolveBridgeOptions({ name: 'n', address: '', topics: [{ pattern: '#' }] }), /no address/);
    assert.throws(() => resolveBridgeOptions({ name: 'n', address: 'h', topics: [] }), /no topic/);
    assert.throws(() => resolveBridgeOptions({ name: 'n', address: 'h', topics: [{ pattern: '#' }], remotePassword: 'p' }), /remoteUsername/);
  });
});

describe('bridge restart backoff (restart_timeout)', () => {
  test('constant form waits the same each time', () => {
    const b = new RestartBackoff(20, 20);
    assert.deepEqual([b.next(), b.next(), b.next()], [20, 20, 20]);
  });

  test('base cap: decorrelated jitter between base and three times the last delay, capped; reset starts over', () => {
    const high = new RestartBackoff(5, 30, () => 0.999999);
    const delays = [high.next(), high.next(), high.next()];
    assert.ok(Math.abs(delays[0] - 15) < 0.001, `first at most 3 x base, got ${delays[0]}`);
    assert.equal(delays[1], 30, 'capped');
    assert.equal(delays[2], 30);
    high.reset();
    assert.ok(high.next() < 15.001);
    const low = new RestartBackoff(5, 30, () => 0);
    assert.deepEqual([low.next(), low.next()], [5, 5], 'never below the base');
  });
});
