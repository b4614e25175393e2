// 20-gateway: a production-style mosquitto.conf for `mqtt-hub broker -c`, all of it at once: a TLS
// listener and a plain one, allow_anonymous false, a password_file made by the real mosquitto_passwd,
// an acl_file, persistence, and a cleansession false QoS 1 bridge both ways to a real Mosquitto that
// has users of its own. Then the upstream Mosquitto restarts while messages wait for it, and our
// broker process restarts (SIGTERM, the same conf and persistence directory) while messages are
// queued and in flight: nothing acknowledged is lost, in either direction.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { disposeMosquitto, mosquittoAvailable, startMosquitto, type MosquittoInstance } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';
import { removeTmpDirs, startBroker, tmpDir } from '../cli/helpers/cli-broker';
import { killAll, type Running } from './helpers/processes';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed (.ci/run installs it)';

interface Recorder {
  client: mqtt.MqttClient;
  got: string[];
}

const DELIVERY_MS = 20_000;

/** A password file written by Mosquitto's own tool, as a user would make it. */
function mosquittoPasswd(file: string, users: [string, string][]): void {
  users.forEach(([user, password], i) => execFileSync('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', file, user, password], { stdio: 'pipe' }));
}

describe('20-gateway: TLS, users, ACL, persistence and a QoS 1 bridge to Mosquitto in one mosquitto.conf', { skip }, () => {
  let certs: TestCerts;
  let mosq: MosquittoInstance;
  let conf: string;
  let ours: Running;
  let plainPort: number;
  let tlsPort: number;
  const clients: mqtt.MqttClient[] = [];
  /** alice: allowed x/# and y/#, over TLS, with a persistent session on our broker. */
  let alice: Recorder;
  /** cloud: a user of Mosquitto's, persistent session there, subscribed to what the bridge sends out. */
  let cloud: Recorder;

  function record(client: mqtt.MqttClient): Recorder {
    clients.push(client);
    const got: string[] = [];
    client.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    return { client, got };
  }

  const arrived = (r: Recorder, entries: string[], what: string) => waitUntil(() => entries.every((e) => r.got.includes(e)), DELIVERY_MS, what);

  /** mosquitto_pub on Mosquitto, as its user "sensor". */
  function publishUpstream(topic: string, message: string): void {
    execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosq.port), '-u', 'sensor', '-P', 'sensor-pw', '-q', '1', '-t', topic, '-m', message], { stdio: 'pipe', timeout: 10_000 });
  }

  before(async () => {
    certs = makeTestCerts();
    const dir = tmpDir();
    // Mosquitto upstream: its own users, the bridge logs in as one of them
    const upstreamPasswords = path.join(dir, 'upstream.passwd');
    mosquittoPasswd(upstreamPasswords, [['gateway', 'gateway-pw'], ['cloud', 'cloud-pw'], ['sensor', 'sensor-pw']]);
    mosq = await startMosquitto({ persistence: true, extraConfig: ['allow_anonymous false', `password_file ${upstreamPasswords}`] });

    // ours
    const passwords = path.join(dir, 'gateway.passwd');
    mosquittoPasswd(passwords, [['alice', 'alice-pw'], ['mallory', 'mallory-pw']]);
    const acl = path.join(dir, 'gateway.acl');
    fs.writeFileSync(acl, ['user alice', 'topic readwrite x/#', 'topic readwrite y/#', '', 'user mallory', 'topic readwrite m/#', ''].join('\n'));
    plainPort = await freePort();
    tlsPort = await freePort();
    conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(
      conf,
      [
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${passwords}`,
        `acl_file ${acl}`,
        'persistence true',
        `persistence_location ${path.join(dir, 'data')}/`,
        '',
        `listener ${plainPort} 127.0.0.1`,
        '',
        `listener ${tlsPort} 127.0.0.1`,
        `certfile ${certs.serverCert}`,
        `keyfile ${certs.serverKey}`,
        '',
        'connection upstream',
        `address 127.0.0.1:${mosq.port}`,
        'remote_clientid gateway-upstream',
        'remote_username gateway',
        'remote_password gateway-pw',
        'cleansession false',
        'restart_timeout 1 2',
        'topic x/# out 1',
        'topic y/# in 1',
        '',
      ].join('\n'),
    );
    fs.mkdirSync(path.join(dir, 'data'));
    ours = await startBroker(conf);

    const ca = fs.readFileSync(certs.caCert);
    alice = record(
      await mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, { ca, username: 'alice', password: 'alice-pw', clientId: 'alice', clean: false, reconnectPeriod: 300 }),
    );
    await alice.client.subscribeAsync(['x/#', 'y/#'], { qos: 1 });
    cloud = record(
      await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { username: 'cloud', password: 'cloud-pw', clientId: 'cloud', clean: false, reconnectPeriod: 300 }),
    );
    await cloud.client.subscribeAsync('x/#', { qos: 1 });
  });

  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    if (ours) await ours.kill();
    await killAll();
    if (mosq) await disposeMosquitto(mosq);
    certs?.cleanup();
    removeTmpDirs();
  });

  test('both directions cross: a user over TLS to Mosquitto, mosquitto_pub on Mosquitto to the user', async () => {
    // the bridge subscribed locally at start, so this waits in its queue until it has connected
    await alice.client.publishAsync('x/start', 'out-1', { qos: 1 });
    await arrived(cloud, ['x/start=out-1'], 'out-1 at Mosquitto');
    // the bridge's y/# subscription went before out-1 on the same connection: it stands now
    publishUpstream('y/cmd', 'in-1');
    await arrived(alice, ['y/cmd=in-1'], 'in-1 at alice');
    assert.equal(ours.stderr().includes('login refused for client local.'), false, ours.stderr());
  });

  test('a user the ACL denies neither reads nor writes what the bridge carries, while it still carries it', async () => {
    const mallory = record(await mqtt.connectAsync(`mqtt://127.0.0.1:${plainPort}`, { username: 'mallory', password: 'mallory-pw', reconnectPeriod: 0 }));
    await assert.rejects(mallory.client.subscribeAsync(['x/#', 'y/#'], { qos: 1 }), (err: { packet?: { granted?: number[] } }) => {
      assert.deepEqual(err.packet?.granted, [0x80, 0x80]);
      return true;
    });
    await mallory.client.publishAsync('x/evil', 'from-mallory', { qos: 1 });
    await alice.client.publishAsync('x/start', 'out-2', { qos: 1 });
    publishUpstream('y/cmd', 'in-2');
    await arrived(cloud, ['x/start=out-2'], 'out-2 at Mosquitto');
    await arrived(alice, ['y/cmd=in-2'], 'in-2 at alice');
    assert.equal(cloud.got.includes('x/evil=from-mallory'), false, 'an ACL-denied publish was bridged');
    assert.equal(alice.got.includes('x/evil=from-mallory'), false);
    assert.deepEqual(mallory.got, []);
    // and without a password nobody gets in, on either listener
    for (const url of [`mqtt://127.0.0.1:${plainPort}`, `mqtts://127.0.0.1:${tlsPort}`]) {
      await assert.rejects(mqtt.connectAsync(url, { ca: fs.readFileSync(certs.caCert), reconnectPeriod: 0, connectTimeout: 5000 }), /Not authorized|not authorized|Connection refused/i);
    }
  });

  test('Mosquitto stops: QoS 1 messages published meanwhile queue in the bridge and arrive once it is back', async () => {
    await mosq.stop();
    const queued = ['q1', 'q2', 'q3', 'q4', 'q5'];
    // acknowledged by our broker (PUBACK) while there is nowhere to send them
    for (const m of queued) await alice.client.publishAsync(`x/queued/${m}`, m, { qos: 1 });
    await mosq.restart();
    await arrived(cloud, queued.map((m) => `x/queued/${m}=${m}`), 'the queued messages at Mosquitto');
    // and the way in works again
    publishUpstream('y/cmd', 'in-3');
    await arrived(alice, ['y/cmd=in-3'], 'in-3 at alice');
  });

  test('our broker restarts (SIGTERM, same conf and persistence) with messages queued both ways: delivery resumes, nothing acknowledged is lost', async () => {
    // out: Mosquitto down, so these wait in the bridge's session on our broker (queued and in flight)
    await mosq.stop();
    const out = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const m of out) await alice.client.publishAsync(`x/restart/${m}`, m, { qos: 1 });
    await arrived(alice, out.map((m) => `x/restart/${m}=${m}`), 'the local copies at alice');
    const result = await ours.kill('SIGTERM');
    assert.equal(result.code, 0, result.stderr);
    // in: published upstream while our broker is down, kept in the bridge's session on Mosquitto
    await mosq.restart();
    const incoming = ['d1', 'd2', 'd3'];
    for (const m of incoming) publishUpstream(`y/down/${m}`, m);

    ours = await startBroker(conf);
    await arrived(cloud, out.map((m) => `x/restart/${m}=${m}`), 'every acknowledged message at Mosquitto after the restart');
    await arrived(alice, incoming.map((m) => `y/down/${m}=${m}`), 'what Mosquitto kept, at alice after the restart');
    // the restored sessions go on as before
    await alice.client.publishAsync('x/start', 'out-after', { qos: 1 });
    publishUpstream('y/cmd', 'in-after');
    await arrived(cloud, ['x/start=out-after'], 'out-after at Mosquitto');
    await arrived(alice, ['y/cmd=in-after'], 'in-after at alice');
    assert.equal(/TypeError|encoding\.length/.test(ours.stdout() + ours.stderr()), false, ours.stdout() + ours.stderr());
  });
});

describe('20-gateway: per_listener_settings true, the listener with its own users and ACL, a bridge both ways', { skip }, () => {
  let mosq: MosquittoInstance | undefined;
  let ours: Running | undefined;
  after(async () => {
    if (ours) await ours.kill();
    await killAll();
    if (mosq) await disposeMosquitto(mosq);
    removeTmpDirs();
  });

  test('the bridge carries both ways; the listener still refuses anonymous clients', async () => {
    mosq = await startMosquitto();
    const dir = tmpDir();
    const passwords = path.join(dir, 'listener.passwd');
    mosquittoPasswd(passwords, [['alice', 'alice-pw']]);
    const acl = path.join(dir, 'listener.acl');
    fs.writeFileSync(acl, 'user alice\ntopic readwrite x/#\ntopic readwrite y/#\n');
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(
      conf,
      [
        'per_listener_settings true',
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${passwords}`,
        `acl_file ${acl}`,
        'connection upstream',
        `address 127.0.0.1:${mosq.port}`,
        'restart_timeout 1',
        'topic x/# out 1',
        'topic y/# in 1',
        '',
      ].join('\n'),
    );
    ours = await startBroker(conf);
    await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 }), /Not authorized/i);
    const alice = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: 'alice', password: 'alice-pw', reconnectPeriod: 0 });
    const far = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosq.port}`, { reconnectPeriod: 0 });
    try {
      const atAlice: string[] = [];
      const atFar: string[] = [];
      alice.on('message', (t, p) => atAlice.push(`${t}=${p.toString()}`));
      far.on('message', (t, p) => atFar.push(`${t}=${p.toString()}`));
      await alice.subscribeAsync('y/#', { qos: 1 });
      await far.subscribeAsync('x/#', { qos: 1 });
      await alice.publishAsync('x/1', 'out', { qos: 1 });
      await waitUntil(() => atFar.includes('x/1=out'), DELIVERY_MS, 'out at Mosquitto');
      await far.publishAsync('y/1', 'in', { qos: 1 });
      await waitUntil(() => atAlice.includes('y/1=in'), DELIVERY_MS, 'in at alice');
    } finally {
      await alice.endAsync(true);
      await far.endAsync(true);
    }
  });
});
