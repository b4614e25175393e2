// 09-auth: the broker wired to src/auth with createSecurityHooks, as the CLI and the broker node do it:
// password file and allow_anonymous, ACL on publish, subscribe and every delivery, $SYS, and attempts
// to get around the rules.
import { afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AclRules, PasswordFile } from '../../src/auth';
import { type Broker, type BrokerOptions, createBroker, createSecurityHooks, type SecurityOptions } from '../../src/broker';
import { RawClient, connectPacket, uniqueId } from './helpers/raw-client';

const VERSIONS = [4, 5] as const;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Started {
  broker: Broker;
  port: number;
  warnings: string[];
}

async function start(security: SecurityOptions, options: BrokerOptions = {}): Promise<Started> {
  const warnings: string[] = [];
  const hooks = createSecurityHooks({ loginFailureDelayMs: 0, logger: { warn: (m) => warnings.push(m) }, ...security });
  const broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0 }], sysInterval: 0, connectTimeout: 3000, ...hooks, ...options });
  await broker.listen();
  cleanups.push(() => broker.close());
  return { broker, port: broker.addresses()[0].port, warnings };
}

async function raw(port: number, version: 4 | 5, connect: Parameters<typeof connectPacket>[1] = {}) {
  const client = await RawClient.open(port, version);
  cleanups.push(() => client.destroy());
  client.send(connectPacket(version, connect));
  const connack = await client.expect('connack', 8000);
  return { client, connack, code: version === 5 ? connack.reasonCode : connack.returnCode };
}

const login = (username: string, password?: string) => ({ username, ...(password !== undefined ? { password: Buffer.from(password) } : {}) });

describe('09-auth', () => {
  let passwords: PasswordFile;
  before(async () => {
    passwords = PasswordFile.empty();
    for (const user of ['alice', 'bob', 'monitor']) await passwords.setPassword(user, `${user}-pw`, { iterations: 1000 });
  });

  describe('authentication', () => {
    for (const version of VERSIONS) {
      test(`v${version}: allowAnonymous true: a client without username connects`, async () => {
        const b = await start({ passwordFile: passwords, allowAnonymous: true });
        assert.equal((await raw(b.port, version)).code, 0);
      });

      test(`v${version}: allowAnonymous false: a client without username is refused (${version === 5 ? '0x87' : 'return code 5'}), logged`, async () => {
        const b = await start({ passwordFile: passwords, allowAnonymous: false });
        const r = await raw(b.port, version);
        assert.equal(r.code, version === 5 ? 0x87 : 5);
        await r.client.closedByBroker(); // [MQTT-3.2.2-5] the connection closes after a refusing CONNACK
        assert.ok(b.warnings.some((w) => w.includes('anonymous access is not allowed')));
      });

      test(`v${version}: right password accepted; wrong password, unknown user and no password refused (${version === 5 ? '0x86' : 'return code 4'}), logged`, async () => {
        const b = await start({ passwordFile: passwords, allowAnonymous: false });
        assert.equal((await raw(b.port, version, login('alice', 'alice-pw'))).code, 0);
        for (const attempt of [login('alice', 'wrong'), login('mallory', 'alice-pw'), login('alice')]) {
          const r = await raw(b.port, version, attempt);
          assert.equal(r.code, version === 5 ? 0x86 : 4, JSON.stringify(attempt.username));
          await r.client.closedByBroker();
        }
        assert.equal(b.warnings.filter((w) => w.startsWith('login refused')).length, 3);
        assert.ok(b.warnings.some((w) => w.includes('"mallory"')));
      });
    }

    test('a failed login is answered only after loginFailureDelayMs: a correct login started after it is answered first', async () => {
      const b = await start({ passwordFile: passwords, allowAnonymous: false, loginFailureDelayMs: 1500 });
      const wrong = await RawClient.open(b.port, 5);
      cleanups.push(() => wrong.destroy());
      wrong.send(connectPacket(5, login('alice', 'guess')));
      const right = await raw(b.port, 5, login('bob', 'bob-pw'));
      assert.equal(right.code, 0);
      assert.equal(wrong.received.length, 0, 'the refusal waits out the delay');
      const refused = await wrong.expect('connack', 8000);
      assert.equal(refused.reasonCode, 0x86);
    });
  });

  describe('ACL', () => {
    const acl = AclRules.parse(
      [
        'topic read public/#',
        'user alice',
        'topic readwrite public/#',
        'topic write sensors/+/temp',
        'topic read alerts/#',
        'topic deny alerts/internal/#',
        'user monitor',
        'topic read $SYS/#',
        'topic read #',
        'pattern readwrite users/%u/#',
        'pattern readwrite clients/%c/#',
      ].join('\n'),
    );
    const secure = (extra: Partial<SecurityOptions> = {}) => start({ passwordFile: passwords, acl, allowAnonymous: true, ...extra });

    for (const version of VERSIONS) {
      test(`v${version}: a publish the ACL refuses is dropped${version === 5 ? ', PUBACK / PUBREC 0x87' : ' (3.1.1 acknowledges as usual)'}`, async () => {
        const b = await secure();
        const watcher = await raw(b.port, version, login('monitor', 'monitor-pw'));
        await watcher.client.subscribe('sensors/#', 1);
        const alice = await raw(b.port, version, login('alice', 'alice-pw'));
        const denied1 = await alice.client.publish('sensors/a/humidity', 'no', 1);
        const denied2 = await alice.client.publish('sensors/a/humidity', 'no', 2);
        if (version === 5) {
          assert.equal(denied1?.reasonCode, 0x87);
          assert.equal(denied2?.reasonCode, 0x87);
        } else {
          assert.equal(denied1?.cmd, 'puback');
          assert.equal(denied2?.cmd, 'pubrec');
        }
        const allowed = await alice.client.publish('sensors/a/temp', 'yes', 1);
        assert.equal(allowed?.reasonCode ?? 0, 0);
        assert.equal((await watcher.client.receive()).payload.toString(), 'yes');
        assert.equal(await watcher.client.silentFor(150), true);
      });

      test(`v${version}: a subscription the ACL refuses gets ${version === 5 ? '0x87' : '0x80'} in SUBACK [MQTT-3.9.3-2], the others are granted in order [MQTT-3.9.3-1]`, async () => {
        const b = await secure();
        const alice = await raw(b.port, version, login('alice', 'alice-pw'));
        const suback = await alice.client.subscribe([
          { topic: 'public/#', qos: 1 },
          { topic: 'sensors/#', qos: 1 }, // write only
          { topic: 'alerts/#', qos: 1 }, // only partly readable (a deny inside)
          { topic: 'alerts/fire', qos: 1 },
        ]);
        const no = version === 5 ? 0x87 : 0x80;
        assert.deepEqual(suback.granted, [1, no, no, 1]);
      });
    }

    test('retained messages sent on subscribe pass the read rules (partial subscriptions granted, as Mosquitto)', async () => {
      const b = await secure({ grantPartialSubscriptions: true });
      await b.broker.publish({ topic: 'alerts/fire', payload: 'fire', retain: true, qos: 1 });
      await b.broker.publish({ topic: 'alerts/internal/audit', payload: 'audit', retain: true, qos: 1 });
      const alice = await raw(b.port, 5, login('alice', 'alice-pw'));
      const suback = await alice.client.subscribe('alerts/#', 1);
      assert.deepEqual(suback.granted, [1]);
      const m = await alice.client.receive();
      assert.equal(m.payload.toString(), 'fire');
      assert.equal(await alice.client.silentFor(200), true, 'alerts/internal/audit is denied to alice');
      // live messages pass the same rules
      await b.broker.publish({ topic: 'alerts/internal/x', payload: 'hidden', qos: 1 });
      await b.broker.publish({ topic: 'alerts/smoke', payload: 'smoke', qos: 1 });
      assert.equal((await alice.client.receive()).payload.toString(), 'smoke');
      // the monitor reads everything
      const monitor = await raw(b.port, 5, login('monitor', 'monitor-pw'));
      await monitor.client.subscribe('alerts/#', 1);
      const both = [(await monitor.client.receive()).payload.toString(), (await monitor.client.receive()).payload.toString()].sort();
      assert.deepEqual(both, ['audit', 'fire']);
    });

    for (const version of VERSIONS) {
      test(`v${version}: $SYS is readable only with a rule naming it; # does not reach it [MQTT-4.7.2-1]`, async () => {
        const b = await secure({ grantPartialSubscriptions: true });
        await b.broker.publish({ topic: '$SYS/broker/test', payload: 'sys', retain: true });
        // anonymous: `topic read public/#` only
        const anon = await raw(b.port, version);
        assert.deepEqual((await anon.client.subscribe('$SYS/#', 0)).granted, [version === 5 ? 0x87 : 0x80]);
        assert.deepEqual((await anon.client.subscribe('#', 0)).granted, [0]); // partly readable: granted, filtered
        assert.deepEqual((await anon.client.subscribe('+/broker/test', 0)).granted, [0]);
        assert.equal(await anon.client.silentFor(200), true);
        // the monitor has `topic read $SYS/#`
        const monitor = await raw(b.port, version, login('monitor', 'monitor-pw'));
        assert.deepEqual((await monitor.client.subscribe('$SYS/#', 0)).granted, [0]);
        assert.equal((await monitor.client.receive()).payload.toString(), 'sys');
      });
    }

    test('wildcards across users: alice cannot subscribe to other users’ trees, nor read them through a partial grant', async () => {
      const b = await secure();
      const alice = await raw(b.port, 5, login('alice', 'alice-pw'));
      const suback = await alice.client.subscribe([
        { topic: 'users/alice/#', qos: 1 },
        { topic: 'users/+/inbox', qos: 1 },
        { topic: 'users/#', qos: 1 },
        { topic: '+/bob/#', qos: 1 },
        { topic: '$share/g/users/bob/#', qos: 1 },
      ]);
      assert.deepEqual(suback.granted, [1, 0x87, 0x87, 0x87, 0x87]);
      // alice may not write into bob's tree either
      assert.equal((await alice.client.publish('users/bob/inbox', 'spoof', 1))?.reasonCode, 0x87);

      const partial = await secure({ grantPartialSubscriptions: true });
      const a2 = await raw(partial.port, 5, login('alice', 'alice-pw'));
      assert.deepEqual((await a2.client.subscribe('users/+/inbox', 1)).granted, [1]);
      await partial.broker.publish({ topic: 'users/bob/inbox', payload: 'for-bob', qos: 1 });
      await partial.broker.publish({ topic: 'users/alice/inbox', payload: 'for-alice', qos: 1 });
      assert.equal((await a2.client.receive()).payload.toString(), 'for-alice');
      assert.equal(await a2.client.silentFor(150), true);
    });

    for (const version of VERSIONS) {
      test(`v${version}: %u / %c with +, # or / in the username or client id match nothing`, async () => {
        // no password file: with anonymous access allowed, any username is taken as given
        const b = await start({ acl, allowAnonymous: true });
        const no = version === 5 ? 0x87 : 0x80;
        for (const username of ['#', '+', 'bob/inbox', 'bob/#']) {
          const c = await raw(b.port, version, { username, clientId: uniqueId('inj') });
          assert.equal(c.code, 0);
          // users/%u/# would become users/#/#, users/+/#, users/bob/inbox/# ...
          const suback = await c.client.subscribe([
            { topic: 'users/#', qos: 1 },
            { topic: 'users/bob/#', qos: 1 },
            { topic: 'users/bob/inbox/#', qos: 1 },
            { topic: `users/${username}`, qos: 1 },
          ]);
          assert.deepEqual(suback.granted, [no, no, no, no], `username ${username}`);
          if (version === 5) assert.equal((await c.client.publish('users/bob/inbox/x', 'spoof', 1))?.reasonCode, 0x87);
        }
        for (const clientId of ['+', '#', 'bob/x']) {
          const c = await raw(b.port, version, { clientId });
          assert.equal(c.code, 0);
          const suback = await c.client.subscribe([
            { topic: 'clients/#', qos: 1 },
            { topic: 'clients/bob/#', qos: 1 },
            { topic: 'clients/bob/x/#', qos: 1 },
          ]);
          assert.deepEqual(suback.granted, [no, no, no], `client id ${clientId}`);
        }
        // a plain name still gets its own tree
        const ok = await raw(b.port, version, { username: 'carol', clientId: 'carol-1' });
        assert.deepEqual((await ok.client.subscribe([{ topic: 'users/carol/#', qos: 1 }, { topic: 'clients/carol-1/#', qos: 1 }])).granted, [1, 1]);
      });
    }

    test('a will the client may not publish is dropped and logged; read rules apply to wills delivered', async () => {
      const infos: string[] = [];
      const b = await start({ passwordFile: passwords, acl, allowAnonymous: true, logger: { info: (m) => infos.push(m), warn: () => undefined } }, { logger: { info: (m) => infos.push(m) } });
      const monitor = await raw(b.port, 5, login('monitor', 'monitor-pw'));
      await monitor.client.subscribe('sensors/#', 1);
      const alice = await raw(b.port, 5, { ...login('alice', 'alice-pw'), clientId: uniqueId('w1'), will: { topic: 'sensors/a/humidity', payload: Buffer.from('bad'), qos: 1, retain: false } });
      const alice2 = await raw(b.port, 5, { ...login('alice', 'alice-pw'), clientId: uniqueId('w2'), will: { topic: 'sensors/a/temp', payload: Buffer.from('good'), qos: 1, retain: false } });
      alice.client.destroy();
      alice2.client.destroy();
      assert.equal((await monitor.client.receive()).payload.toString(), 'good');
      assert.equal(await monitor.client.silentFor(150), true);
      assert.ok(infos.some((l) => l.includes('sensors/a/humidity not published')));
    });
  });
});
