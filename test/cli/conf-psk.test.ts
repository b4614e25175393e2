// `mqtt-hub broker -c` with TLS-PSK listeners (psk_hint, psk_file), driven by the real mosquitto_pub and
// mosquitto_sub with --psk/--psk-identity (TLS 1.3 with an external PSK, as they negotiate it with
// Mosquitto; openssl s_client checks TLS 1.2 and the identity hint): the right key gets in, a wrong key
// or an unknown identity fails the handshake, use_identity_as_username makes the identity the username
// the ACL sees, a key added to psk_file works after SIGHUP, and bad settings stop the start.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, waitUntil } from '../helpers/net';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { killAll, run, start } from '../broker/helpers/processes';
import { MAIN, removeTmpDirs, startBroker, tmpConf, tmpDir } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

let dir: string;
let pskFile: string;

before(() => {
  if (skip) return;
  dir = tmpDir();
  pskFile = path.join(dir, 'psk');
  // "00ff01": a leading zero byte, which Mosquitto and mosquitto_pub both keep in the key
  fs.writeFileSync(pskFile, ['# identity:key', 'dev1:deadbeefcafe', 'dev2:00ff01', ''].join('\n'));
});
after(async () => {
  await killAll();
  removeTmpDirs();
});

const psk = (port: number, identity: string, key: string): string[] => ['-h', '127.0.0.1', '-p', String(port), '--psk-identity', identity, '--psk', key];

describe('mqtt-hub broker -c: TLS-PSK listeners (psk_hint, psk_file)', { timeout: 90_000, skip }, () => {
  test('mosquitto_sub and mosquitto_pub with --psk: the right key delivers; a wrong key or an unknown identity fails', async () => {
    const port = await freePort();
    const b = await startBroker(tmpConf([`listener ${port} 127.0.0.1`, 'psk_hint mqtt-hub-tests', `psk_file ${pskFile}`, 'allow_anonymous true']));
    const sub = start('mosquitto_sub', [...psk(port, 'dev1', 'deadbeefcafe'), '-t', 'psk/#', '-C', '2', '-v', '-W', '15']);
    await waitUntil(async () => (await run('mosquitto_pub', [...psk(port, 'dev2', '00ff01'), '-t', 'psk/probe', '-m', 'x', '-r'])).code === 0, 10_000, 'a first publish');
    const sent = await run('mosquitto_pub', [...psk(port, 'dev2', '00FF01'), '-t', 'psk/a', '-m', 'over psk', '-q', '1']); // hex in either case
    assert.equal(sent.code, 0, sent.stderr);
    const got = await sub.exited;
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(got.stdout.trim().split('\n'), ['psk/probe x', 'psk/a over psk']);
    const wrongKey = await run('mosquitto_pub', [...psk(port, 'dev1', 'deadbeefcaff'), '-t', 'psk/a', '-m', 'x']);
    assert.notEqual(wrongKey.code, 0);
    const shortKey = await run('mosquitto_pub', [...psk(port, 'dev2', 'ff01'), '-t', 'psk/a', '-m', 'x']); // without the zero byte
    assert.notEqual(shortKey.code, 0);
    const unknown = await run('mosquitto_pub', [...psk(port, 'nobody', 'deadbeefcafe'), '-t', 'psk/a', '-m', 'x']);
    assert.notEqual(unknown.code, 0);
    assert.equal(b.child.exitCode, null);
  });

  test('TLS 1.2 PSK (openssl s_client -tls1_2) completes the handshake and is offered the identity hint', async () => {
    const port = await freePort();
    await startBroker(tmpConf([`listener ${port} 127.0.0.1`, 'psk_hint mqtt-hub-hint', `psk_file ${pskFile}`]));
    const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-psk_identity', 'dev1', '-psk', 'deadbeefcafe'], { input: '', encoding: 'utf8', timeout: 10_000 });
    assert.match(r.stdout, /Protocol\s*: TLSv1\.2/, r.stdout + r.stderr);
    assert.match(r.stdout, /Cipher\s*: \S*PSK/);
    assert.match(r.stderr + r.stdout, /PSK identity hint: mqtt-hub-hint|Received PSK identity hint 'mqtt-hub-hint'/);
  });

  test('use_identity_as_username: the PSK identity is the username the ACL sees; a key added to psk_file works after SIGHUP', async () => {
    const port = await freePort();
    const keys = path.join(dir, 'psk-reload');
    fs.copyFileSync(pskFile, keys);
    const acl = path.join(dir, 'acl');
    fs.writeFileSync(acl, ['user dev1', 'topic readwrite dev1/#', 'user dev3', 'topic readwrite dev3/#', ''].join('\n'));
    const b = await startBroker(tmpConf([`listener ${port} 127.0.0.1`, 'psk_hint mqtt-hub-tests', 'use_identity_as_username true', `psk_file ${keys}`, `acl_file ${acl}`]));
    const mine = await run('mosquitto_pub', [...psk(port, 'dev1', 'deadbeefcafe'), '-t', 'dev1/t', '-m', 'x', '-q', '1', '-V', '5']);
    assert.equal(mine.code, 0, mine.stderr);
    const notMine = await run('mosquitto_pub', [...psk(port, 'dev2', '00ff01'), '-t', 'dev1/t', '-m', 'x', '-q', '1', '-V', '5', '-u', 'dev1']);
    assert.match(notMine.stderr, /Not authorized/, 'dev2 is dev2, whatever username CONNECT gives');
    assert.notEqual((await run('mosquitto_pub', [...psk(port, 'dev3', 'abcdef'), '-t', 'dev3/t', '-m', 'x'])).code, 0);

    fs.appendFileSync(keys, 'dev3:abcdef\n');
    const before = b.stdout().split('Reloading config.').length;
    b.child.kill('SIGHUP');
    await waitUntil(() => b.stdout().split('Reloading config.').length > before, 10_000, 'the reload');
    await waitUntil(async () => (await run('mosquitto_pub', [...psk(port, 'dev3', 'abcdef'), '-t', 'dev3/t', '-m', 'x', '-q', '1'])).code === 0, 10_000, 'dev3 to get in');
  });

  test('bad PSK settings stop the start with exit 3: certificate and psk on one listener, psk_hint without psk_file, a key that is not hex', async () => {
    const badKeys = path.join(dir, 'psk-bad');
    fs.writeFileSync(badKeys, 'dev1:not-hex\n');
    for (const [lines, why] of [
      [['psk_hint h', `psk_file ${pskFile}`, `certfile ${pskFile}`], /cannot use both certificate and psk encryption in a single listener/],
      [['psk_hint h'], /psk_hint needs a psk_file/],
      [['psk_hint h', `psk_file ${badKeys}`], /psk for identity "dev1" contains non-hexadecimal characters/],
    ] as const) {
      const port = await freePort();
      const r = await run(process.execPath, [MAIN, 'broker', '-c', tmpConf([`listener ${port} 127.0.0.1`, ...lines])], 10_000);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, why);
    }
  });
});
