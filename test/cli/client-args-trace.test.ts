// From parsed arguments to the client: options (TLS files, client id), the -d trace lines and the
// wording and exit codes of connection failures, as mosquitto_pub / mosquitto_sub print them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { MqttError } from '../../src/client';
import { parseClientArgs, PubArgs } from '../../src/cli/client-args';
import { clientOptions, describeConnectFailure, describePacket, SetupError } from '../../src/cli/client-connection';
import { connackString, reasonString } from '../../src/cli/client-errors';

function pub(...argv: string[]): PubArgs {
  const r = parseClientArgs('pub', ['-t', 't', '-n', ...argv]);
  assert.equal(r.action, 'run');
  return (r as { args: PubArgs }).args;
}

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-cli-tls-'));
  fs.writeFileSync(path.join(dir, 'ca.crt'), 'CA ONE');
  fs.mkdirSync(path.join(dir, 'capath'));
  fs.writeFileSync(path.join(dir, 'capath', 'a.crt'), 'CA A');
  fs.writeFileSync(path.join(dir, 'capath', 'b.pem'), 'CA B');
  fs.writeFileSync(path.join(dir, 'capath', 'notes.txt'), 'not a certificate');
  fs.writeFileSync(path.join(dir, 'client.crt'), 'CERT');
  fs.writeFileSync(path.join(dir, 'client.key'), 'KEY');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('client options from the command line', () => {
  test('3.1.1 leaves the client id to the client; 5.0 sends an empty one for the server to assign [MQTT-3.1.3-6]', () => {
    assert.equal(clientOptions(pub(), 0).clientId, undefined);
    assert.equal(clientOptions(pub('-V', '5'), 0).clientId, '');
    assert.equal(clientOptions(pub('-V', '5', '-i', 'mine'), 0).clientId, 'mine');
  });

  test('connection settings, will and its properties, CONNECT properties only under 5.0', () => {
    const o = clientOptions(pub('-h', 'h', '-p', '1999', '-k', '10', '-u', 'u', '-P', 'p', '-c', '-i', 'id', '-V', '5', '--will-topic', 'w',
      '--will-payload', 'bye', '-D', 'will', 'will-delay-interval', '3', '-D', 'connect', 'receive-maximum', '5'), 250);
    assert.equal(o.protocol, 'mqtt');
    assert.equal(o.host, 'h');
    assert.equal(o.port, 1999);
    assert.equal(o.keepalive, 10);
    assert.equal(o.username, 'u');
    assert.equal(o.password, 'p');
    assert.equal(o.clean, false);
    assert.equal(o.reconnectPeriod, 250);
    assert.deepEqual(o.will, { topic: 'w', payload: Buffer.from('bye'), qos: 0, retain: false, properties: { willDelayInterval: 3 } });
    assert.deepEqual(o.properties, { receiveMaximum: 5, sessionExpiryInterval: 0xffffffff });
    assert.equal(clientOptions(pub('-V', '311', '-D', 'connect', 'receive-maximum', '5'), 0).properties, undefined);
  });

  test('TLS files are read; --capath takes the *.crt and *.pem of a directory; --insecure skips only the host name check', () => {
    const o = clientOptions(pub('--cafile', path.join(dir, 'ca.crt'), '--cert', path.join(dir, 'client.crt'), '--key', path.join(dir, 'client.key'), '--insecure', '--tls-alpn', 'mqtt'), 0);
    assert.equal(o.protocol, 'mqtts');
    assert.deepEqual(o.ca, [Buffer.from('CA ONE')]);
    assert.deepEqual(o.cert, Buffer.from('CERT'));
    assert.deepEqual(o.key, Buffer.from('KEY'));
    // The chain is still verified (rejectUnauthorized left at its default, true); any name passes.
    assert.equal(o.rejectUnauthorized, undefined);
    assert.equal(typeof o.checkServerIdentity, 'function');
    assert.equal(o.checkServerIdentity?.('any.name.example', {} as tls.PeerCertificate), undefined);
    assert.deepEqual(o.ALPNProtocols, ['mqtt']);
    const p = clientOptions(pub('--capath', path.join(dir, 'capath')), 0);
    assert.deepEqual((p.ca as Buffer[]).map(String).sort(), ['CA A', 'CA B']);
    assert.equal(p.rejectUnauthorized, undefined);
    assert.equal(p.checkServerIdentity, undefined);
  });

  test('--tls-version is the lowest TLS version, as libmosquitto takes it; an unknown one fails even without TLS', () => {
    const ca = path.join(dir, 'ca.crt');
    assert.equal(clientOptions(pub('--cafile', ca, '--tls-version', 'tlsv1.3'), 0).minVersion, 'TLSv1.3');
    assert.equal(clientOptions(pub('--cafile', ca, '--tls-version', 'tlsv1.2'), 0).minVersion, 'TLSv1.2');
    assert.equal(clientOptions(pub('--cafile', ca, '--tls-version', 'tlsv1.2'), 0).maxVersion, undefined);
    assert.equal(clientOptions(pub('--cafile', ca), 0).minVersion, undefined);
    assert.equal(clientOptions(pub('--tls-version', 'tlsv1.3'), 0).minVersion, undefined); // no TLS: nothing to set
    for (const bad of ['tlsv1', 'TLSv1.2', 'tlsv1.4', 'constructor']) {
      assert.throws(() => clientOptions(pub('--tls-version', bad), 0), (e: unknown) =>
        e instanceof SetupError && e.message === 'Problem setting TLS options, check the options are valid.', bad);
    }
  });

  test('--tls-use-os-certs with --cafile trusts both', () => {
    const o = clientOptions(pub('--cafile', path.join(dir, 'ca.crt'), '--tls-use-os-certs'), 0);
    const ca = o.ca as (string | Buffer)[];
    assert.equal(ca.length, tls.rootCertificates.length + 1);
    assert.deepEqual(ca[ca.length - 1], Buffer.from('CA ONE'));
    // Without a CA option Node's own list is used: no `ca` at all.
    assert.equal(clientOptions(pub('-p', '8883'), 0).ca, undefined);
  });

  test('a missing TLS file is a SetupError with mosquitto\'s wording', () => {
    assert.throws(() => clientOptions(pub('--cafile', path.join(dir, 'missing.crt')), 0), (e: unknown) =>
      e instanceof SetupError && e.message === 'Problem setting TLS options: File not found.');
    assert.throws(() => clientOptions(pub('--capath', path.join(dir, 'no-such-dir')), 0), SetupError);
  });

  test('ws:// keeps its path', () => {
    const o = clientOptions(pub('-L', 'ws://127.0.0.1:9001/mqtt-ws'), 0);
    assert.deepEqual([o.protocol, o.host, o.port, o.path], ['ws', '127.0.0.1', 9001, '/mqtt-ws']);
  });
});

describe('-d trace lines', () => {
  test('CONNECT, CONNACK, PUBLISH and the QoS 2 flow', () => {
    assert.deepEqual(describePacket({ type: 'connack', sessionPresent: false, reasonCode: 5 }, false), ['CONNACK (5)']);
    assert.deepEqual(
      describePacket({ type: 'publish', topic: 'a/b', payload: Buffer.from('hello'), qos: 1, retain: true, dup: true, packetId: 9 }, true),
      ["PUBLISH (d1, q1, r1, m9, 'a/b', ... (5 bytes))"],
    );
    assert.deepEqual(describePacket({ type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, false), ["PUBLISH (d0, q0, r0, m0, 't', ... (0 bytes))"]);
    assert.deepEqual(describePacket({ type: 'pubrec', packetId: 1 }, false), ['PUBREC (Mid: 1, RC:0)']);
    assert.deepEqual(describePacket({ type: 'pubrel', packetId: 1 }, true), ['PUBREL (m1, rc0)']);
    assert.deepEqual(describePacket({ type: 'puback', packetId: 4, reasonCode: 0x10 }, false), ['PUBACK (Mid: 4, RC:16)']);
    assert.deepEqual(describePacket({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'x' }, true), ['CONNECT']);
  });

  test('SUBSCRIBE, one line per filter with the options byte; UNSUBSCRIBE; DISCONNECT; PINGREQ', () => {
    assert.deepEqual(
      describePacket({
        type: 'subscribe', packetId: 2, subscriptions: [
          { topicFilter: 'a/#', qos: 1 },
          { topicFilter: 'b', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        ],
      }, true),
      ['SUBSCRIBE (Mid: 2, Topic: a/#, QoS: 1, Options: 0x00)', 'SUBSCRIBE (Mid: 2, Topic: b, QoS: 2, Options: 0x2c)'],
    );
    assert.deepEqual(describePacket({ type: 'unsubscribe', packetId: 3, topicFilters: ['x', 'y'] }, true), ['UNSUBSCRIBE (Mid: 3, Topic: x)', 'UNSUBSCRIBE (Mid: 3, Topic: y)']);
    assert.deepEqual(describePacket({ type: 'disconnect' }, true), ['DISCONNECT']);
    assert.deepEqual(describePacket({ type: 'disconnect', reasonCode: 0x8e }, false), ['DISCONNECT (142)']);
    assert.deepEqual(describePacket({ type: 'pingreq' }, true), ['PINGREQ']);
    assert.deepEqual(describePacket({ type: 'suback', packetId: 1, reasonCodes: [0] }, false), ['SUBACK']);
  });
});

describe('connection failures', () => {
  test('a refused CONNACK exits with its code: 3.1.1 return codes and 5.0 reason codes in libmosquitto\'s words', () => {
    const v311 = describeConnectFailure(new MqttError('CONNACK_REFUSED', 'refused', 5), 4);
    assert.deepEqual(v311, { exitCode: 5, lines: ['Connection error: Connection Refused: not authorised.'] });
    assert.deepEqual(describeConnectFailure(new MqttError('CONNACK_REFUSED', 'refused', 4), 3).lines, ['Connection error: Connection Refused: bad user name or password.']);
    const v5 = describeConnectFailure(new MqttError('CONNACK_REFUSED', 'refused', 0x86), 5);
    assert.deepEqual(v5, { exitCode: 0x86, lines: ['Connection error: Bad username or password'] });
  });

  test('transport errors: refused, name lookup, TLS verification', () => {
    const cause = (code: string, message = code) => Object.assign(new Error(message), { code });
    const transport = (c: Error) => new MqttError('TRANSPORT_ERROR', 'x', undefined, { cause: c });
    assert.deepEqual(describeConnectFailure(transport(cause('ECONNREFUSED')), 4), { exitCode: 1, lines: ['Error: Connection refused'] });
    assert.deepEqual(describeConnectFailure(transport(cause('ENOTFOUND')), 4), { exitCode: 1, lines: ['Unable to connect (Lookup error.).'] });
    assert.deepEqual(describeConnectFailure(transport(cause('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate')), 4), {
      exitCode: 1,
      lines: ['OpenSSL Error: self-signed certificate', 'Unable to connect (A TLS error occurred.).'],
    });
    // An alert from the server reaches Node as a socket error: OpenSSL's reason is what is printed.
    const alert = 'write EPROTO 80ACF350FA7F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 70\n';
    assert.deepEqual(describeConnectFailure(transport(cause('EPROTO', alert)), 4), {
      exitCode: 1,
      lines: ['OpenSSL Error: tlsv1 alert protocol version', 'Unable to connect (A TLS error occurred.).'],
    });
    assert.deepEqual(describeConnectFailure(new MqttError('CONNECT_TIMEOUT', 'no CONNACK within 30000 ms'), 4), { exitCode: 1, lines: ['Error: no CONNACK within 30000 ms'] });
  });

  test('reason strings for codes a server may send', () => {
    assert.equal(reasonString(0x87), 'Not authorized');
    assert.equal(reasonString(0x97), 'Quota exceeded');
    assert.equal(reasonString(0xfe), 'Unknown reason code 254');
    assert.equal(connackString(3, 4), 'Connection Refused: broker unavailable.');
    assert.equal(connackString(0x88, 5), 'Server unavailable');
  });
});
