// Mosquitto options users carry over in their mosquitto.conf, each through `mqtt-hub broker -c` and
// real sockets: maximum_qos, max_subscriptions_per_client (ours), upgrade_outgoing_qos, mount_point,
// check_retain_source and persistence_file.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../helpers/net';
import { killAll } from '../broker/helpers/processes';
import { RawClient, connectPacket, uniqueId, type Version } from '../broker/helpers/raw-client';
import { removeTmpDirs, startBroker, tmpConf, tmpDir } from './helpers/cli-broker';

const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await killAll();
  removeTmpDirs();
});

async function connect(port: number, version: Version = 5, extra: Parameters<typeof connectPacket>[1] = {}) {
  const client = await RawClient.open(port, version);
  clients.push(client);
  client.send(connectPacket(version, extra));
  const connack = await client.expect('connack');
  return { client, connack };
}

describe('mosquitto.conf options carried over, over real sockets', { timeout: 60_000 }, () => {
  test('maximum_qos (Mosquitto\'s other name for max_qos): CONNACK says Maximum QoS 1, SUBSCRIBE at 2 is granted 1', async () => {
    const port = await freePort();
    const b = await startBroker(tmpConf([`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'maximum_qos 1']));
    assert.doesNotMatch(b.stderr(), /maximum_qos/, 'not warned about as unknown');
    const { client, connack } = await connect(port, 5);
    assert.equal(connack.properties?.maximumQoS, 1);
    assert.deepEqual((await client.subscribe('q/t', 2)).granted, [1]);
  });

  test('max_subscriptions_per_client: the filter past it is refused (0x97), with one log line for the client', async () => {
    const port = await freePort();
    const b = await startBroker(tmpConf([`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'max_subscriptions_per_client 2']));
    const { client } = await connect(port, 5, { clientId: 'many-filters' });
    const suback = await client.subscribe(['s/1', 's/2', 's/3', 's/4'].map((topic) => ({ topic, qos: 0 })) as never);
    assert.deepEqual(suback.granted, [0, 0, 0x97, 0x97]);
    const lines = b.stderr().split('\n').filter((l) => /maxSubscriptionsPerClient 2/.test(l));
    assert.equal(lines.length, 1, b.stderr());
    assert.match(lines[0], /many-filters/);
  });

  test('upgrade_outgoing_qos true: a QoS 0 message goes out at the subscription\'s QoS 2, live and retained; without it at QoS 0 [MQTT-3.8.4-8]', async () => {
    for (const upgrade of [true, false]) {
      const port = await freePort();
      await startBroker(tmpConf([`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...(upgrade ? ['upgrade_outgoing_qos true'] : [])]));
      const { client: pub } = await connect(port, 4);
      await pub.publish('up/retained', 'kept', 0, { retain: true });
      const { client: sub } = await connect(port, 4);
      await sub.subscribe('up/#', 2);
      const retained = await sub.receive();
      assert.equal(retained.qos, upgrade ? 2 : 0, `retained, upgrade ${upgrade}`);
      await pub.publish('up/live', 'now', 0);
      const live = await sub.receive();
      assert.equal(live.topic, 'up/live');
      assert.equal(live.qos, upgrade ? 2 : 0, `live, upgrade ${upgrade}`);
      await killAll();
    }
  });

  test('mount_point: a listener\'s clients publish and subscribe below it, see topics without it, and nothing outside it', async () => {
    const mounted = await freePort();
    const plain = await freePort();
    await startBroker(tmpConf(['allow_anonymous true', `listener ${mounted} 127.0.0.1`, 'mount_point site-a/', `listener ${plain} 127.0.0.1`]));
    const { client: outside } = await connect(plain, 5);
    await outside.subscribe('#', 1);
    await outside.publish('site-a/config', 'retained for a', 1, { retain: true });
    await outside.receive(); // its own retained message, live

    const { client: inside } = await connect(mounted, 5, { clientId: uniqueId('in'), will: { topic: 'will', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await inside.subscribe('#', 1);
    const retained = await inside.receive();
    assert.deepEqual([retained.topic, retained.payload.toString(), retained.retain], ['config', 'retained for a', true], 'retained, without the mount point');
    // a 3.1.1 subscriber at QoS 0, whose retained messages otherwise go out as the packet built when stored
    const { client: old } = await connect(mounted, 4);
    await old.subscribe('config', 0);
    const packet = await old.receive();
    assert.deepEqual([packet.topic, packet.payload.toString(), packet.qos], ['config', 'retained for a', 0]);
    old.destroy();

    // on the way in: prefixed
    await inside.publish('temp', '21', 1);
    const seen = await outside.receive();
    assert.equal(seen.topic, 'site-a/temp');
    assert.equal((await inside.receive()).topic, 'temp', 'its own message comes back without the prefix');

    // on the way out: stripped, and topics outside the mount point never arrive
    await outside.publish('site-b/temp', 'not for a', 1);
    await outside.publish('site-a/cmd', 'for a', 1);
    const got = await inside.receive();
    assert.deepEqual([got.topic, got.payload.toString()], ['cmd', 'for a']);
    assert.ok(await inside.silentFor(300), 'nothing from site-b');
    while (outside.received.length > 0) outside.received.shift();

    // UNSUBSCRIBE is mounted the same way; the Will goes on the mounted topic
    await inside.unsubscribe(['#']);
    await outside.publish('site-a/after', 'x', 1);
    await outside.receive(); // its own
    assert.ok(await inside.silentFor(300), 'unsubscribed from site-a/#');
    inside.destroy();
    const will = await outside.receive();
    assert.deepEqual([will.topic, will.payload.toString()], ['site-a/will', 'gone']);
  });

  test('check_retain_source: a retained message whose publisher may no longer write it is not sent to new subscribers (true, the default); false sends it', async () => {
    const dir = tmpDir();
    const acl = path.join(dir, 'acl');
    const data = path.join(dir, 'data');
    const port = await freePort();
    const confLines = (extra: string[]) => [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `acl_file ${acl}`, 'persistence true', `persistence_location ${data}/`, ...extra];
    // alice may write her status; everyone may read every status
    fs.writeFileSync(acl, 'pattern write status/%u/#\npattern read status/#\n');
    let b = await startBroker(tmpConf(confLines([])));
    const { client: alice } = await connect(port, 5, { username: 'alice' });
    await alice.publish('status/alice/state', 'online', 1, { retain: true });
    const { client: early } = await connect(port, 5, { username: 'bob' });
    await early.subscribe('status/#', 1);
    assert.equal((await early.receive()).payload.toString(), 'online', 'sent while alice may write it');
    alice.destroy();
    early.destroy();
    await b.kill('SIGTERM');

    // alice's write access is withdrawn; the retained message stays in the store
    fs.writeFileSync(acl, 'pattern read status/#\n');
    b = await startBroker(tmpConf(confLines([])));
    const { client: bob } = await connect(port, 5, { username: 'bob' });
    await bob.subscribe('status/#', 1);
    assert.ok(await bob.silentFor(500), 'not sent: its publisher may no longer write it');
    bob.destroy();
    await b.kill('SIGTERM');

    b = await startBroker(tmpConf(confLines(['check_retain_source false'])));
    const { client: carol } = await connect(port, 5, { username: 'carol' });
    await carol.subscribe('status/#', 1);
    assert.equal((await carol.receive()).payload.toString(), 'online', 'sent without the check');
  });

  test('persistence_file: two brokers on one persistence_location with different persistence_file keep their own retained messages; the store is that one file at rest', async () => {
    const dir = tmpDir();
    const location = path.join(dir, 'shared');
    const ports = [await freePort(), await freePort()];
    const confs = ports.map((port, i) => tmpConf([`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${location}/`, `persistence_file broker-${i}.db`]));
    let brokers = await Promise.all(confs.map((c) => startBroker(c)));
    assert.deepEqual(fs.readdirSync(location).sort(), ['broker-0.db.store', 'broker-1.db.store'], 'a working folder each while running');
    for (const [i, port] of ports.entries()) {
      const { client } = await connect(port, 4);
      await client.publish('same/topic', `from broker ${i}`, 1, { retain: true });
      client.destroy();
    }
    await Promise.all(brokers.map((b) => b.kill('SIGTERM')));
    assert.deepEqual(fs.readdirSync(location).sort(), ['broker-0.db', 'broker-1.db'], 'one file each at rest, as Mosquitto');
    assert.ok(fs.statSync(path.join(location, 'broker-0.db')).isFile());

    brokers = await Promise.all(confs.map((c) => startBroker(c)));
    for (const [i, port] of ports.entries()) {
      const { client } = await connect(port, 4);
      await client.subscribe('same/topic', 1);
      assert.equal((await client.receive()).payload.toString(), `from broker ${i}`);
      assert.ok(await client.silentFor(200), 'only its own retained message');
      client.destroy();
    }
    // a crash leaves the working folder, which the next start reads: nothing is lost
    const { client: late } = await connect(ports[0], 4);
    await late.publish('after/crash', 'kept', 1, { retain: true });
    late.destroy();
    await brokers[0].kill('SIGKILL');
    await brokers[1].kill('SIGTERM');
    brokers[0] = await startBroker(confs[0]);
    const { client: back } = await connect(ports[0], 4);
    await back.subscribe('after/crash', 1);
    assert.equal((await back.receive()).payload.toString(), 'kept');
    back.destroy();
    await brokers[0].kill('SIGTERM');

    // deleting the file after a clean stop starts that broker afresh, the other keeps its own
    fs.rmSync(path.join(location, 'broker-0.db'));
    brokers = await Promise.all(confs.map((c) => startBroker(c)));
    const { client: fresh } = await connect(ports[0], 4);
    await fresh.subscribe('#', 1);
    assert.ok(await fresh.silentFor(300), 'nothing retained any more');
    const { client: other } = await connect(ports[1], 4);
    await other.subscribe('same/topic', 1);
    assert.equal((await other.receive()).payload.toString(), 'from broker 1');
  });

  test('persistence_file that is not a store of ours (Mosquitto\'s own mosquitto.db) is refused with a clear error', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'mosquitto.db'), Buffer.from('\u0000\u00b5mosquitto db'));
    const port = await freePort();
    const conf = tmpConf([`listener ${port} 127.0.0.1`, 'persistence true', `persistence_location ${dir}/`, 'persistence_file mosquitto.db']);
    await assert.rejects(startBroker(conf), /not a store file of this broker/);
  });
});
