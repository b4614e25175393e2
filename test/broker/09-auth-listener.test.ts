// 09-auth per listener: a certificate login (useIdentityAsUsername) next to password logins, and
// listeners with security hooks of their own (Mosquitto's per_listener_settings), through the
// library API with MQTT.js clients over real sockets.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { AclRules, PasswordFile } from '../../src/auth';
import { type Broker, createBroker, createSecurityHooks } from '../../src/broker';
import { makeTestCerts, type TestCerts } from '../helpers/certs';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let certs: TestCerts;
let passwords: PasswordFile;
before(async () => {
  certs = makeTestCerts('sensor-7');
  passwords = PasswordFile.empty();
  await passwords.setPassword('alice', 'alice-pw', { iterations: 1000 });
});
after(() => certs.cleanup());

const ACL = ['user sensor-7', 'topic readwrite sensors/7/#', 'user alice', 'topic readwrite alice/#', 'topic read sensors/#'].join('\n');

async function listen(broker: Broker): Promise<number[]> {
  await broker.listen();
  cleanups.push(() => broker.close());
  return broker.addresses().map((a) => a.port);
}

/** Connects, or resolves with the CONNACK's refusal code (MQTT.js `error.code`); never retries. */
async function attempt(url: string, options: IClientOptions): Promise<{ client?: MqttClient; refused?: number | string }> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    cleanups.push(() => client.endAsync());
    return { client };
  } catch (err) {
    return { refused: (err as { code?: number | string }).code ?? (err as Error).message };
  }
}

/** The granted QoS or failure code per filter (MQTT.js rejects a SUBACK with a failure). */
async function grants(client: MqttClient, filters: string | string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw err;
    return granted;
  }
}

function nextMessage(client: MqttClient): Promise<{ topic: string; payload: string }> {
  return new Promise((resolve) => client.once('message', (topic, payload) => resolve({ topic, payload: payload.toString() })));
}

describe('09-auth: certificate logins (useIdentityAsUsername)', { timeout: 30_000 }, () => {
  for (const protocolVersion of [4, 5] as const) {
    test(`v${protocolVersion}: with allowAnonymous false, a password file and an ACL, the verified CN logs in without a password and the ACL applies to it; a password user on the plain listener still needs the password`, async () => {
      const hooks = createSecurityHooks({ passwordFile: passwords, acl: AclRules.parse(ACL), allowAnonymous: false, loginFailureDelayMs: 0 });
      const broker = createBroker({
        sysInterval: 0,
        listeners: [
          { host: '127.0.0.1', port: 0 },
          {
            host: '127.0.0.1',
            port: 0,
            protocol: 'mqtts',
            tls: { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), ca: fs.readFileSync(certs.caCert), requireCertificate: true },
            useIdentityAsUsername: true,
          },
        ],
        ...hooks,
      });
      const [plain, secure] = await listen(broker);
      const tls = { ca: fs.readFileSync(certs.caCert), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey), protocolVersion };

      // the certificate is the login: no username, no password, and a wrong password changes nothing
      const sensor = await attempt(`mqtts://127.0.0.1:${secure}`, { ...tls, clientId: 'sensor-a' });
      assert.ok(sensor.client, `refused: ${String(sensor.refused)}`);
      const sensorWithWrongPassword = await attempt(`mqtts://127.0.0.1:${secure}`, { ...tls, clientId: 'sensor-b', username: 'alice', password: 'wrong' });
      assert.ok(sensorWithWrongPassword.client, 'CONNECT credentials are replaced by the certificate');
      assert.deepEqual(broker.clients().filter((c) => c.id.startsWith('sensor-')).map((c) => c.username), ['sensor-7', 'sensor-7']);

      // alice on the plain listener: her password is checked
      const wrong = await attempt(`mqtt://127.0.0.1:${plain}`, { protocolVersion, username: 'alice', password: 'nope' });
      assert.equal(wrong.refused, protocolVersion === 5 ? 0x86 : 4);
      const anonymous = await attempt(`mqtt://127.0.0.1:${plain}`, { protocolVersion });
      assert.equal(anonymous.refused, protocolVersion === 5 ? 0x87 : 5);
      const alice = await attempt(`mqtt://127.0.0.1:${plain}`, { protocolVersion, username: 'alice', password: 'alice-pw' });
      assert.ok(alice.client);
      await alice.client.subscribeAsync('sensors/#', { qos: 1 });

      // the ACL by the CN: sensors/7/# is sensor-7's, sensors/8/# is not
      const got = nextMessage(alice.client);
      await sensor.client.publishAsync('sensors/8/t', 'not mine', { qos: 1 }).catch(() => undefined); // 5.0: PUBACK 0x87
      await sensor.client.publishAsync('sensors/7/t', 'mine', { qos: 1 });
      assert.deepEqual(await got, { topic: 'sensors/7/t', payload: 'mine' });
      assert.deepEqual(await grants(sensor.client, ['sensors/7/#', 'alice/#']), [1, protocolVersion === 5 ? 0x87 : 0x80]);
    });
  }

  test('without a certificate the TLS listener lets no one in, not even with a valid password', async () => {
    const hooks = createSecurityHooks({ passwordFile: passwords, allowAnonymous: false, loginFailureDelayMs: 0 });
    const broker = createBroker({
      sysInterval: 0,
      listeners: [
        {
          host: '127.0.0.1',
          port: 0,
          protocol: 'mqtts',
          // the certificate is asked for, not required by the handshake: the broker itself refuses
          tls: { cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), ca: fs.readFileSync(certs.caCert), requestCertificate: true },
          useIdentityAsUsername: true,
        },
      ],
      ...hooks,
    });
    const [secure] = await listen(broker);
    const r = await attempt(`mqtts://127.0.0.1:${secure}`, { ca: fs.readFileSync(certs.caCert), protocolVersion: 5, username: 'alice', password: 'alice-pw' });
    assert.equal(r.refused, 0x86); // Bad User Name or Password, as Mosquitto answers
    assert.equal(broker.clients().length, 0);
  });
});

describe('09-auth: security per listener', { timeout: 30_000 }, () => {
  test('an anonymous listener and one with a password file and an ACL, side by side', async () => {
    const strict = createSecurityHooks({ passwordFile: passwords, acl: AclRules.parse(ACL), allowAnonymous: false, loginFailureDelayMs: 0 });
    const open = createSecurityHooks({ allowAnonymous: true });
    const broker = createBroker({
      sysInterval: 0,
      listeners: [
        { host: '127.0.0.1', port: 0, security: open },
        { host: '127.0.0.1', port: 0, security: strict },
      ],
    });
    const [anonymousPort, strictPort] = await listen(broker);

    const guest = await attempt(`mqtt://127.0.0.1:${anonymousPort}`, { protocolVersion: 5 });
    assert.ok(guest.client, 'anonymous on the open listener');
    const guestOnStrict = await attempt(`mqtt://127.0.0.1:${strictPort}`, { protocolVersion: 5 });
    assert.equal(guestOnStrict.refused, 0x87);
    const wrong = await attempt(`mqtt://127.0.0.1:${strictPort}`, { protocolVersion: 5, username: 'alice', password: 'x' });
    assert.equal(wrong.refused, 0x86);
    const alice = await attempt(`mqtt://127.0.0.1:${strictPort}`, { protocolVersion: 5, username: 'alice', password: 'alice-pw' });
    assert.ok(alice.client);

    // the ACL holds on the strict listener only: alice may not read other/#, the guest may
    assert.deepEqual(await grants(alice.client, 'other/#'), [0x87]);
    await alice.client.subscribeAsync('alice/#', { qos: 1 });
    await guest.client.subscribeAsync('other/#', { qos: 1 });
    const guestGot = nextMessage(guest.client);
    const aliceGot = nextMessage(alice.client);
    await guest.client.publishAsync('alice/x', 'from a guest', { qos: 1 });
    await guest.client.publishAsync('other/x', 'open', { qos: 1 });
    assert.deepEqual(await aliceGot, { topic: 'alice/x', payload: 'from a guest' });
    assert.deepEqual(await guestGot, { topic: 'other/x', payload: 'open' });
    // and alice may not write outside alice/#: the guest sees nothing of it
    const seen: string[] = [];
    guest.client.on('message', (t) => seen.push(t));
    await alice.client.publishAsync('other/y', 'denied', { qos: 1 }).catch(() => undefined); // 5.0: PUBACK 0x87
    await alice.client.publishAsync('alice/done', 'x', { qos: 1 });
    await guest.client.publishAsync('other/z', 'marker', { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seen, ['other/z']);
  });
});
