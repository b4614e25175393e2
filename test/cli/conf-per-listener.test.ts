// `per_listener_settings true` with two listeners, one anonymous and one with a password_file and an
// acl_file: the same configuration runs under `mqtt-hub broker -c` and under Mosquitto 2.0, the
// reference, and MQTT.js clients must see the same logins, subscriptions and deliveries on both.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort, waitForPort } from '../helpers/net';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { killAll, start, until } from '../broker/helpers/processes';
import { removeTmpDirs, startBroker, tmpDir } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

let dir: string;
before(() => {
  if (skip) return;
  dir = tmpDir();
  execFileSync('mosquitto_passwd', ['-c', '-b', path.join(dir, 'passwd'), 'alice', 'alice-pw']);
  fs.writeFileSync(path.join(dir, 'acl'), ['user alice', 'topic readwrite alice/#', 'topic read news/#', ''].join('\n'));
});
after(() => removeTmpDirs());
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await killAll();
});

function confLines(open: number, strict: number): string[] {
  return [
    'per_listener_settings true',
    `listener ${open} 127.0.0.1`,
    'allow_anonymous true',
    `listener ${strict} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${path.join(dir, 'passwd')}`,
    `acl_file ${path.join(dir, 'acl')}`,
  ];
}

/** The CONNACK return code (0 = accepted); an accepted client is kept for the next steps. */
async function login(port: number, username?: string, password?: string): Promise<{ code: number; client?: MqttClient }> {
  try {
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, username, password, clean: true });
    clients.push(client);
    return { code: 0, client };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'number') throw err;
    return { code };
  }
}

async function grants(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw err;
    return granted;
  }
}

/** What the clients see on a broker with the configuration above, as one comparable record. */
async function observe(open: number, strict: number) {
  const anonymousOnOpen = await login(open);
  const anonymousOnStrict = await login(strict);
  const wrongPassword = await login(strict, 'alice', 'nope');
  const alice = await login(strict, 'alice', 'alice-pw');
  // no password_file on the open listener: a username is taken as given
  const aliceOnOpen = await login(open, 'alice', 'whatever');
  const guest = anonymousOnOpen.client!;
  const aliceClient = alice.client!;
  const subscriptions = {
    guest: await grants(guest, ['alice/#', 'news/#', 'other/#']),
    alice: await grants(aliceClient, ['alice/#', 'news/#']),
  };
  const received: Record<'guest' | 'alice', string[]> = { guest: [], alice: [] };
  guest.on('message', (t) => received.guest.push(t));
  aliceClient.on('message', (t) => received.alice.push(t));
  await aliceClient.publishAsync('alice/from-alice', 'x', { qos: 1 });
  await aliceClient.publishAsync('news/from-alice', 'x', { qos: 1 }); // read only: dropped
  await aliceClient.publishAsync('other/from-alice', 'x', { qos: 1 }); // no rule: dropped
  await guest.publishAsync('news/from-guest', 'x', { qos: 1 });
  await guest.publishAsync('other/from-guest', 'x', { qos: 1 });
  await guest.publishAsync('alice/end', 'x', { qos: 1 });
  await until(() => received.guest.includes('alice/end') && received.alice.includes('alice/end'), 10_000, 'the end marker on both clients');
  return {
    logins: { anonymousOnOpen: anonymousOnOpen.code, anonymousOnStrict: anonymousOnStrict.code, alice: alice.code, aliceOnOpen: aliceOnOpen.code },
    // refused by both; the code differs: 4 (Bad user name or password) here, 5 from Mosquitto 2.0
    wrongPasswordRefused: wrongPassword.code !== 0,
    subscriptions,
    received: { guest: received.guest.sort(), alice: received.alice.sort() },
  };
}

describe('mqtt-hub broker -c: per_listener_settings true, as Mosquitto 2.0', { timeout: 60_000, skip }, () => {
  test('an anonymous listener and a password_file + acl_file listener: the same logins, grants and deliveries as Mosquitto', async () => {
    const [open, strict] = [await freePort(), await freePort()];
    const ourConf = path.join(dir, 'ours.conf');
    fs.writeFileSync(ourConf, confLines(open, strict).join('\n') + '\n');
    await startBroker(ourConf);
    const ours = await observe(open, strict);
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await killAll();

    const [mOpen, mStrict] = [await freePort(), await freePort()];
    const theirConf = path.join(dir, 'mosquitto.conf');
    // as root Mosquitto would drop to the `mosquitto` user, who cannot read the test's private files
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    fs.writeFileSync(theirConf, [...confLines(mOpen, mStrict), ...(asRoot ? ['user root'] : []), ''].join('\n'));
    const mosquitto = start('mosquitto', ['-c', theirConf]);
    await waitForPort(mOpen);
    await waitForPort(mStrict);
    const reference = await observe(mOpen, mStrict);
    assert.equal(mosquitto.child.exitCode, null);

    assert.deepEqual(ours, reference);
    // and what that reading is, so that two brokers refusing everything alike cannot pass
    assert.deepEqual(ours.logins, { anonymousOnOpen: 0, anonymousOnStrict: 5, alice: 0, aliceOnOpen: 0 });
    assert.equal(ours.wrongPasswordRefused, true);
    assert.deepEqual(ours.received.alice, ['alice/end', 'alice/from-alice', 'news/from-guest']);
    assert.ok(ours.received.guest.includes('other/from-guest') && !ours.received.guest.includes('other/from-alice'));
  });
});
