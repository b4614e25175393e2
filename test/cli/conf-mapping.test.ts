// The mosquitto.conf options for production, parsed and mapped: TLS and websockets listeners,
// security files, persistence and bridge sections. The broker runs with them in conf-*.test.ts.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMosquittoConf } from '../../src/cli/mosquitto-conf';
import { diskStoreOptions } from '../../src/cli/conf/persistence';

/** Files the configuration names: their contents are their names, so the mapping can be checked. */
const files: Record<string, string> = { '/c/server.crt': 'CERT', '/c/server.key': 'KEY', '/c/ca.crt': 'CA', '/c/my dir/ca.crt': 'CA2' };
function readFile(file: string): Buffer {
  if (!(file in files)) throw new Error(`ENOENT: no such file or directory, open '${file}'`);
  return Buffer.from(files[file]);
}
const conf = (lines: string[]) => parseMosquittoConf(lines.join('\n'), { file: 't.conf', readFile });
const text = (b: unknown) => (Buffer.isBuffer(b) ? b.toString() : b);

describe('mosquitto.conf: TLS and websockets listeners', () => {
  test('certfile/keyfile make mqtts; with protocol websockets, wss; cafile, require_certificate and use_identity_as_username per listener', () => {
    const c = conf([
      'listener 1883 127.0.0.1',
      'listener 8883',
      'certfile /c/server.crt',
      'keyfile /c/server.key',
      'listener 8884',
      'cafile /c/ca.crt',
      'certfile /c/server.crt',
      'keyfile /c/server.key',
      'require_certificate true',
      'use_identity_as_username true',
      'listener 9001',
      'protocol websockets',
      'listener 9443',
      'protocol websockets',
      'certfile /c/server.crt',
      'keyfile /c/server.key',
    ]);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(
      c.listeners.map((l) => [l.port, l.protocol ?? 'mqtt', text(l.tls?.cert), text(l.tls?.key), text(l.tls?.ca), l.tls?.requireCertificate, l.useIdentityAsUsername]),
      [
        [1883, 'mqtt', undefined, undefined, undefined, undefined, undefined],
        [8883, 'mqtts', 'CERT', 'KEY', undefined, undefined, undefined],
        [8884, 'mqtts', 'CERT', 'KEY', 'CA', true, true],
        [9001, 'ws', undefined, undefined, undefined, undefined, undefined],
        [9443, 'wss', 'CERT', 'KEY', undefined, undefined, undefined],
      ],
    );
  });

  test('TLS options before any listener belong to the default listener (port)', () => {
    const c = conf(['port 8883', 'certfile /c/server.crt', 'keyfile /c/server.key', 'cafile /c/my dir/ca.crt']);
    assert.deepEqual(c.errors, []);
    assert.equal(c.listeners.length, 1);
    assert.equal(c.listeners[0].port, 8883);
    assert.equal(c.listeners[0].protocol, 'mqtts');
    assert.equal(text(c.listeners[0].tls?.ca), 'CA2', 'a path with a space is the rest of the line');
  });

  test('a file that cannot be read is an error naming the file and the line', () => {
    const c = conf(['listener 8883', 'certfile /c/missing.crt', 'keyfile /c/server.key']);
    assert.equal(c.errors.length >= 1, true);
    assert.equal(c.errors[0].line, 2);
    assert.match(c.errors[0].message, /unable to read certfile '\/c\/missing\.crt'/);
  });

  test('incomplete TLS is an error, never a plain listener: keyfile without certfile, require_certificate without cafile', () => {
    for (const [lines, pattern] of [
      [['listener 8883', 'keyfile /c/server.key'], /needs both 'certfile' and 'keyfile'/],
      [['listener 8883', 'certfile /c/server.crt', 'keyfile /c/server.key', 'require_certificate true'], /needs a 'cafile'/],
    ] as [string[], RegExp][]) {
      const c = conf(lines);
      assert.equal(c.errors.length, 1, lines.join('; '));
      assert.match(c.errors[0].message, pattern);
      assert.equal(c.errors[0].line, 2, 'the first TLS line of the listener');
    }
  });

  test('use_identity_as_username without require_certificate asks for a certificate without requiring it', () => {
    const c = conf(['listener 8883', 'cafile /c/ca.crt', 'certfile /c/server.crt', 'keyfile /c/server.key', 'use_identity_as_username true']);
    assert.deepEqual(c.errors, []);
    assert.equal(c.listeners[0].useIdentityAsUsername, true);
    assert.equal(c.listeners[0].tls?.requestCertificate, true);
    assert.notEqual(c.listeners[0].tls?.requireCertificate, true);
  });

  test('require_certificate false alone asks for nothing', () => {
    const c = conf(['listener 1883', 'require_certificate false']);
    assert.deepEqual(c.errors, []);
    assert.equal(c.listeners[0].tls, undefined);
    assert.equal(c.listeners[0].protocol, undefined);
  });
});

describe('mosquitto.conf: limits', () => {
  test('max_queued_messages (0 = no limit), max_queued_bytes, max_connections (-1 = no limit), message_size_limit, max_inflight_messages, sys_interval', () => {
    const c = conf(['max_queued_messages 0', 'max_queued_bytes 1048576', 'max_connections -1', 'message_size_limit 1024', 'max_inflight_messages 5', 'sys_interval 0']);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.options, { maxQueuedMessages: 0, maxQueuedBytes: 1_048_576, maxConnections: 0, messageSizeLimit: 1024, maxInflightMessages: 5, sysInterval: 0 });
  });
});

describe('mosquitto.conf: security files', () => {
  test('allow_anonymous, password_file and acl_file are kept with their lines for the start', () => {
    const c = conf(['per_listener_settings false', 'allow_anonymous false', 'password_file /etc/p w', 'acl_file /etc/acl']);
    assert.deepEqual(c.errors, []);
    assert.equal(c.security.allowAnonymous, false);
    assert.deepEqual(c.security.passwordFile, { path: '/etc/p w', where: { file: 't.conf', line: 3 } });
    assert.deepEqual(c.security.aclFile, { path: '/etc/acl', where: { file: 't.conf', line: 4 } });
  });

  test('use_identity_as_username with anonymous access off is accepted: the certificate is the login', () => {
    const tlsLines = ['listener 8883', 'cafile /c/ca.crt', 'certfile /c/server.crt', 'keyfile /c/server.key', 'require_certificate true', 'use_identity_as_username true'];
    const c = conf(['allow_anonymous false', 'password_file /p', 'acl_file /a', ...tlsLines]);
    assert.deepEqual(c.errors, []);
    assert.equal(c.listeners[0].useIdentityAsUsername, true);
    assert.equal(c.security.allowAnonymous, false);
  });

  test('per_listener_settings true: each listener keeps the security options after it, the broker none', () => {
    const c = conf([
      'per_listener_settings true',
      'listener 1883',
      'allow_anonymous true',
      'listener 1884',
      'password_file /p',
      'acl_file /a',
      'listener 1885',
    ]);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.security, {});
    assert.deepEqual(c.listenerSecurity, [
      { allowAnonymous: true, allowAnonymousWhere: { file: 't.conf', line: 3 } },
      { passwordFile: { path: '/p', where: { file: 't.conf', line: 5 } }, aclFile: { path: '/a', where: { file: 't.conf', line: 6 } } },
      {},
    ]);
  });

  test('per_listener_settings true: options before any listener belong to the default listener (port), or to none, with a warning', () => {
    const c = conf(['per_listener_settings true', 'port 1883', 'allow_anonymous true', 'listener 1884', 'password_file /p']);
    assert.deepEqual(c.listeners.map((l) => l.port), [1883, 1884]);
    assert.deepEqual(c.listenerSecurity?.map((s) => [s.allowAnonymous, s.passwordFile?.path]), [[true, undefined], [undefined, '/p']]);
    const orphan = conf(['per_listener_settings true', 'allow_anonymous true', 'listener 1884', 'password_file /p']);
    assert.deepEqual(orphan.warnings.map((w) => w.line), [2]);
    assert.match(orphan.warnings[0].message, /applies to no listener/);
    assert.deepEqual(orphan.listenerSecurity?.map((s) => s.allowAnonymous), [undefined]);
  });

  test('per_listener_settings false (the default): the last value of each option holds for every listener', () => {
    const c = conf(['listener 1883', 'allow_anonymous true', 'listener 1884', 'allow_anonymous false', 'password_file /p']);
    assert.equal(c.listenerSecurity, undefined);
    assert.equal(c.security.allowAnonymous, false);
    assert.equal(c.security.passwordFile?.path, '/p');
  });
});

describe('mosquitto.conf: persistence', () => {
  test('persistence, persistence_location, persistence_file, autosave_interval map to the disk store; autosave_on_changes warns', () => {
    const c = conf(['persistence true', 'persistence_location /var/lib/mqtt/', 'persistence_file site-a.db', 'autosave_interval 30', 'autosave_on_changes true']);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.persistence, { enabled: true, location: '/var/lib/mqtt/', file: 'site-a.db', autosaveInterval: 30 });
    assert.deepEqual(c.warnings.map((w) => [w.line, w.message.match(/'([^']+)'/)?.[1]]), [[5, 'autosave_on_changes true']]);
    const logger = {};
    // with persistence_file the store works beside that file, in <file>.store, while it runs
    assert.deepEqual(diskStoreOptions(c.persistence, logger), { directory: '/var/lib/mqtt/site-a.db.store', logger, fsync: 'interval', fsyncIntervalMs: 30_000 });
    assert.match(conf(['persistence_file ../elsewhere']).errors[0]?.message ?? '', /not a path/);
  });

  test('mount_point (per listener), check_retain_source, upgrade_outgoing_qos and maximum_qos are read', () => {
    const c = conf(['check_retain_source false', 'upgrade_outgoing_qos true', 'maximum_qos 1', 'max_subscriptions_per_client 5', 'listener 1883', 'mount_point site-a/', 'listener 1884']);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.warnings, []);
    assert.equal(c.options.checkRetainSource, false);
    assert.equal(c.options.upgradeOutgoingQos, true);
    assert.equal(c.options.maximumQoS, 1);
    assert.equal(c.options.maxSubscriptionsPerClient, 5);
    assert.deepEqual(c.listeners.map((l) => l.mountPoint), ['site-a/', undefined]);
    assert.match(conf(['listener 1883', 'mount_point a/+/']).errors[0]?.message ?? '', /wildcards/);
  });

  test('without autosave_interval every write is fsync\'d; 0 leaves it to the system; no location is the working directory', () => {
    assert.equal(diskStoreOptions({ enabled: true, location: '/d' }, undefined).fsync, undefined);
    assert.equal(diskStoreOptions({ enabled: true, autosaveInterval: 0 }, undefined).fsync, 'never');
    assert.equal(diskStoreOptions({ enabled: true }, undefined).directory, process.cwd());
  });

  test('persistence false is the default', () => {
    assert.deepEqual(conf(['persistence false']).persistence, { enabled: false });
    assert.deepEqual(conf([]).persistence, { enabled: false });
  });
});

describe('mosquitto.conf: bridges', () => {
  test('a connection section maps to BridgeOptions; general options after it still apply to the broker', () => {
    const c = conf([
      'listener 1883',
      'connection up',
      'address 10.0.0.1:1884 10.0.0.2',
      'topic sensors/# out 1 local/ remote/',
      'topic cmd/# in 2',
      'topic "" both 0 a/b c/d',
      'remote_username u',
      'remote_password p',
      'remote_clientid edge-1',
      'local_clientid local-edge-1',
      'bridge_protocol_version mqttv50',
      'cleansession true',
      'restart_timeout 2 20',
      'keepalive_interval 30',
      'try_private false',
      'notifications false',
      'bridge_cafile /c/ca.crt',
      'bridge_certfile /c/server.crt',
      'bridge_keyfile /c/server.key',
      'max_keepalive 77',
      'connection second',
      'addresses remote.example:8883',
      'topic # both',
      'restart_timeout 9',
    ]);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.warnings, []);
    assert.equal(c.options.maxKeepalive, 77);
    assert.equal(c.bridges.length, 2);
    const [up, second] = c.bridges.map((b) => b.options);
    assert.deepEqual({ ...up, tls: undefined }, {
      name: 'up',
      address: ['10.0.0.1:1884', '10.0.0.2'],
      topics: [
        { pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'local/', remotePrefix: 'remote/' },
        { pattern: 'cmd/#', direction: 'in', qos: 2 },
        { pattern: '""', direction: 'both', qos: 0, localPrefix: 'a/b', remotePrefix: 'c/d' },
      ],
      remoteUsername: 'u',
      remotePassword: 'p',
      remoteClientId: 'edge-1',
      localClientId: 'local-edge-1',
      protocolVersion: 'mqttv50',
      cleanSession: true,
      restartTimeout: { base: 2, cap: 20 },
      keepalive: 30,
      tryPrivate: false,
      notifications: false,
      localCleanSession: true,
      tls: undefined,
    });
    assert.deepEqual([text(up.tls?.ca), text(up.tls?.cert), text(up.tls?.key)], ['CA', 'CERT', 'KEY']);
    // local_cleansession follows cleansession unless given, as in Mosquitto
    assert.deepEqual(second, { name: 'second', address: ['remote.example:8883'], topics: [{ pattern: '#', direction: 'both' }], restartTimeout: 9, localCleanSession: false });
  });

  test('an incomplete or wrong section is an error at its line: no topic, no address, a bad direction or QoS', () => {
    const c = conf(['connection a', 'address h', 'connection b', 'topic x out', 'connection c', 'address h', 'topic x sideways', 'topic y in 3']);
    assert.deepEqual(c.errors.map((e) => e.line).sort((x, y) => x - y), [1, 3, 5, 7, 8], "c has no valid topic left either");
    assert.match(c.errors.find((e) => e.line === 1)?.message ?? '', /no topic/);
    assert.match(c.errors.find((e) => e.line === 3)?.message ?? '', /no address/);
  });

  test('start_type, threshold, idle_timeout, bridge_max_packet_size, bridge_bind_address, local_cleansession, bridge_tls_version, bridge_identity/bridge_psk map to BridgeOptions', () => {
    const c = conf([
      'connection a', 'address h', 'topic # out',
      'start_type lazy', 'threshold 3', 'idle_timeout 20', 'bridge_max_packet_size 2048', 'bridge_bind_address 192.168.1.10',
      'cleansession true', 'local_cleansession false', 'bridge_tls_version tlsv1.3', 'bridge_identity gw-1', 'bridge_psk 00ff10',
    ]);
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.warnings, []);
    const o = c.bridges[0].options;
    assert.deepEqual(
      [o.startType, o.threshold, o.idleTimeout, o.maxPacketSize, o.bindAddress, o.cleanSession, o.localCleanSession, o.tls?.minVersion],
      ['lazy', 3, 20, 2048, '192.168.1.10', true, false, 'TLSv1.3'],
    );
    assert.deepEqual(o.tls?.psk, { identity: 'gw-1', key: Buffer.from([0x00, 0xff, 0x10]) });
  });

  test('bad values of the new bridge options are errors at their line; bridge_psk without bridge_identity at the connection line', () => {
    const c = conf(['connection a', 'address h', 'topic # out', 'start_type manual', 'bridge_tls_version sslv3', 'bridge_psk 0xff', 'threshold 0']);
    assert.deepEqual(c.errors.map((e) => e.line), [4, 5, 6, 7]);
    const half = conf(['connection a', 'address h', 'topic # out', 'bridge_psk 00ff']);
    assert.deepEqual(half.errors.map((e) => e.line), [1]);
    assert.match(half.errors[0].message, /'bridge_identity' and 'bridge_psk' go together/);
    const both = conf(['connection a', 'address h', 'topic # out', 'bridge_cafile /c/ca.crt', 'bridge_identity i', 'bridge_psk 00ff']);
    assert.match(both.errors[0]?.message ?? '', /certificates and TLS-PSK/);
  });

  test('bridge_require_ocsp, bridge_reload_type and notification_topic_local are warnings naming why; bridge_cafile that cannot be read is an error', () => {
    const c = conf(['connection a', 'address h', 'topic # out', 'bridge_require_ocsp true', 'bridge_reload_type lazy', 'notification_topic_local x/y', 'bridge_cafile /nope']);
    assert.deepEqual(c.warnings.map((w) => w.line), [4, 5, 6]);
    assert.match(c.warnings[0].message, /OCSP/);
    assert.deepEqual(c.errors.map((e) => e.line), [7]);
    assert.match(c.errors[0].message, /bridge_cafile '\/nope'/);
  });

  test('bridge_capath: every .crt and .pem certificate of the directory; an empty or missing directory is an error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-capath-'));
    try {
      const pem = (n: number) => `-----BEGIN CERTIFICATE-----\nMII${n}\n-----END CERTIFICATE-----\n`;
      fs.writeFileSync(path.join(dir, 'a.crt'), pem(1));
      fs.writeFileSync(path.join(dir, 'b.pem'), pem(2));
      fs.writeFileSync(path.join(dir, 'readme.txt'), 'not a certificate');
      const c = parseMosquittoConf(['connection a', 'address h', 'topic # out', 'bridge_cafile /c/ca.crt', `bridge_capath ${dir}`].join('\n'), { file: 't.conf', readFile });
      assert.deepEqual(c.errors, []);
      const ca = c.bridges[0].options.tls?.ca as Buffer[];
      assert.deepEqual(ca.map((b) => b.toString()), ['CA', pem(1), pem(2)]);
      fs.rmSync(path.join(dir, 'a.crt'));
      fs.rmSync(path.join(dir, 'b.pem'));
      const empty = conf(['connection a', 'address h', 'topic # out', `bridge_capath ${dir}`]);
      assert.match(empty.errors[0]?.message ?? '', /bridge_capath .*no \.crt or \.pem certificate/);
      assert.equal(conf(['connection a', 'address h', 'topic # out', 'bridge_capath /no/such/dir']).errors[0]?.line, 4);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

});
