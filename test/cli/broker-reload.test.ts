// `mqtt-hub broker -c` and SIGHUP, as Mosquitto: "Reloading config.", the password_file (made by the
// real mosquitto_passwd) and acl_file read again, connected clients kept, the new ACL applied to what
// they receive and publish from then on, a client whose user was removed disconnected (5.0: 0x98), a
// broken file logged with the running configuration kept, and the broker never exits on it.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { freePort, waitUntil } from '../helpers/net';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { killAll, run, type Running } from '../broker/helpers/processes';
import { startBroker } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

let dir: string;
let port: number;
let b: Running;
let passwd: string;
let acl: string;
const clients: mqtt.MqttClient[] = [];

const writeAcl = (lines: string[]): void => fs.writeFileSync(acl, lines.join('\n') + '\n');

/**
 * Sends SIGHUP, waits for a new "Reloading config." and then until `applied` holds (the files are read
 * after that line is logged, as Mosquitto logs it first).
 */
async function hangUp(applied: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const before = b.stdout().split('Reloading config.').length;
  b.child.kill('SIGHUP');
  await waitUntil(() => b.stdout().split('Reloading config.').length > before, 10_000, '"Reloading config."');
  await waitUntil(applied, 10_000, what);
}

async function connect(username: string, password: string, protocolVersion: 4 | 5 = 5): Promise<mqtt.MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion, username, password, reconnectPeriod: 0, clean: true });
  clients.push(c);
  return c;
}

const pub = (user: string, password: string, topic: string, message: string) =>
  run('mosquitto_pub', ['-p', String(port), '-u', user, '-P', password, '-t', topic, '-m', message, '-q', '1']);

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-reload-'));
  passwd = path.join(dir, 'passwd');
  acl = path.join(dir, 'acl');
  execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'alice', 'secret-a']);
  writeAcl(['user alice', 'topic readwrite alice/#', 'topic readwrite shared/#']);
  port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwd}`, `acl_file ${acl}`, ''].join('\n'));
  b = await startBroker(conf);
});
after(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await killAll();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  if (b && b.child.exitCode !== null) throw new Error(`the broker stopped (${b.child.exitCode} ${b.child.signalCode}): ${b.stderr()}`);
});

describe('mqtt-hub broker -c: SIGHUP reloads the configuration', { timeout: 60_000, skip }, () => {
  test('a connected client stays; a user added by mosquitto_passwd logs in; a removed ACL grant stops deliveries', async () => {
    const alice = await connect('alice', 'secret-a');
    let closes = 0;
    alice.on('close', () => closes++);
    const got: string[] = [];
    alice.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await alice.subscribeAsync({ 'shared/#': { qos: 1 }, 'alice/#': { qos: 1 } });
    await alice.publishAsync('shared/before', 'granted', { qos: 1 });
    await waitUntil(() => got.includes('shared/before granted'), 5000, 'a delivery the first ACL allows');

    execFileSync('mosquitto_passwd', ['-b', passwd, 'carol', 'secret-c']);
    writeAcl(['user alice', 'topic readwrite alice/#', '', 'user carol', 'topic readwrite shared/#']);
    // the files changed, nothing reloaded yet: carol is unknown
    assert.equal((await pub('carol', 'secret-c', 'shared/x', 'early')).code, 4);

    await hangUp(async () => (await pub('carol', 'secret-c', 'shared/after', 'denied to alice')).code === 0, 'carol to log in');
    assert.equal(closes, 0, 'alice was disconnected by the reload');
    assert.ok(alice.connected);
    // alice still writes and reads alice/#; shared/# is no longer hers to read or write
    await alice.publishAsync('alice/after', 'still mine', { qos: 1 });
    await waitUntil(() => got.includes('alice/after still mine'), 5000, "alice's own message after the reload");
    assert.ok(!got.some((m) => m.startsWith('shared/after')), `delivered after the grant was removed: ${got.join(', ')}`);
    await alice.publishAsync('shared/by-alice', 'no longer allowed', { qos: 1 }).catch(() => undefined); // 5.0: PUBACK 0x87
    const reader = await connect('carol', 'secret-c');
    const carolGot: string[] = [];
    reader.on('message', (topic) => carolGot.push(topic));
    await reader.subscribeAsync('shared/#', { qos: 1 });
    await alice.publishAsync('shared/by-alice-2', 'no longer allowed', { qos: 1 }).catch(() => undefined);
    await pub('carol', 'secret-c', 'shared/control', 'allowed');
    await waitUntil(() => carolGot.includes('shared/control'), 5000, "carol's own message");
    assert.deepEqual(carolGot, ['shared/control']);
    assert.match(b.stdout(), /\d+: Reloading config\.\n/);
  });

  test('a client whose user is removed is disconnected with 0x98 Administrative action; others stay', async () => {
    execFileSync('mosquitto_passwd', ['-b', passwd, 'dave', 'secret-d']);
    await hangUp(async () => (await pub('dave', 'secret-d', 'dave/x', 'in')).code === 0, 'dave to log in');
    const dave = await connect('dave', 'secret-d');
    const alice = await connect('alice', 'secret-a');
    const disconnected = new Promise<number | undefined>((resolve) => dave.once('disconnect', (p) => resolve(p.reasonCode)));
    execFileSync('mosquitto_passwd', ['-D', passwd, 'dave']);
    let reasonCode: number | undefined;
    void disconnected.then((rc) => (reasonCode = rc));
    await hangUp(() => reasonCode !== undefined, 'DISCONNECT to dave');
    assert.equal(reasonCode, 0x98);
    await waitUntil(() => !dave.connected, 5000, 'dave closed');
    assert.ok(alice.connected);
    await waitUntil(() => /Client \S+ disconnected, not authorised\./.test(b.stdout()), 5000, "Mosquitto's log line");
  });

  test('a broken password_file or configuration line on reload is logged; the running settings stay and the broker runs on', async () => {
    const alice = await connect('alice', 'secret-a');
    fs.renameSync(passwd, `${passwd}.away`);
    try {
      const errors = b.stderr().length;
      await hangUp(() => b.stderr().slice(errors).includes('the running configuration is kept'), 'the error');
      assert.match(b.stderr().slice(errors), /unable to load password_file/);
    } finally {
      fs.renameSync(`${passwd}.away`, passwd);
    }
    assert.ok(alice.connected);
    assert.equal((await pub('alice', 'secret-a', 'alice/y', 'still in')).code, 0);

    const conf = path.join(dir, 'mosquitto.conf');
    const good = fs.readFileSync(conf, 'utf8');
    fs.writeFileSync(conf, good + 'auth_plugin /usr/lib/nothing.so\n');
    try {
      const errors = b.stderr().length;
      await hangUp(() => b.stderr().slice(errors).includes('the running configuration is kept'), 'the error');
      assert.match(b.stderr().slice(errors), /auth_plugin[^\n]*\n[^\n]*the running configuration is kept/);
    } finally {
      fs.writeFileSync(conf, good);
    }
    assert.ok(alice.connected);
    assert.equal(b.child.exitCode, null);
  });
});

describe('mqtt-hub broker -c: SIGHUP with per_listener_settings true', { timeout: 60_000, skip }, () => {
  test("each listener gets its own reloaded settings: anonymous clients of the listener that now refuses them are disconnected, the other listener's stay", async () => {
    const strictPort = await freePort();
    const openPort = await freePort();
    const conf = path.join(dir, 'per-listener.conf');
    const write = (openAllowsAnonymous: boolean): void =>
      fs.writeFileSync(conf, [
        'per_listener_settings true',
        `listener ${strictPort} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwd}`,
        `listener ${openPort} 127.0.0.1`, `allow_anonymous ${openAllowsAnonymous}`, '',
      ].join('\n'));
    write(true);
    const broker = await startBroker(conf);
    const alice = await mqtt.connectAsync(`mqtt://127.0.0.1:${strictPort}`, { protocolVersion: 5, username: 'alice', password: 'secret-a', reconnectPeriod: 0 });
    const guest = await mqtt.connectAsync(`mqtt://127.0.0.1:${openPort}`, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(alice, guest);
    let reasonCode: number | undefined;
    guest.once('disconnect', (p) => (reasonCode = p.reasonCode));
    write(false);
    const before = broker.stdout().split('Reloading config.').length;
    broker.child.kill('SIGHUP');
    await waitUntil(() => broker.stdout().split('Reloading config.').length > before, 10_000, '"Reloading config."');
    await waitUntil(() => reasonCode !== undefined, 10_000, 'DISCONNECT to the guest');
    assert.equal(reasonCode, 0x98);
    assert.ok(alice.connected);
    const again = await run('mosquitto_pub', ['-p', String(openPort), '-t', 'x', '-m', 'y']);
    assert.equal(again.code, 5, 'anonymous refused on that listener now');
    assert.equal((await run('mosquitto_pub', ['-p', String(openPort), '-u', 'alice', '-P', 'secret-a', '-t', 'x', '-m', 'y'])).code, 4, 'that listener has no password file');
  });
});
