// `mqtt-hub broker -c` with allow_anonymous false, a password_file made by mosquitto_passwd -b and an
// acl_file: mosquitto_pub/mosquitto_sub exit codes as against Mosquitto, denied subscribe and publish;
// and what allow_anonymous is when the file does not say, beside Mosquitto 2.0 on the same file.
import { after, afterEach, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { freePort, waitForPort } from '../helpers/net';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { killAll, run, start, type Running } from '../broker/helpers/processes';
import { RawClient } from '../broker/helpers/raw-client';
import { ConnackReturnCode, ReasonCode } from '../../src/codec';
import { startBroker, MAIN, tmpConf, removeTmpDirs } from './helpers/cli-broker';

const skip = mosquittoAvailable() ? false : 'mosquitto is not installed';

let dir: string;
let port: number;
let b: Running | undefined;
const files = (): { passwd: string; acl: string; conf: string } => ({
  passwd: path.join(dir, 'passwd'),
  acl: path.join(dir, 'acl'),
  conf: path.join(dir, 'mosquitto.conf'),
});

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-conf-'));
  const f = files();
  execFileSync('mosquitto_passwd', ['-c', '-b', f.passwd, 'alice', 'secret-a']);
  execFileSync('mosquitto_passwd', ['-b', f.passwd, 'bob', 'secret-b']);
  fs.writeFileSync(f.acl, ['user alice', 'topic readwrite alice/#', 'topic read public/#', '', 'user bob', 'topic read alice/#', 'topic readwrite public/#', ''].join('\n'));
  port = await freePort();
  fs.writeFileSync(f.conf, [`listener ${port} 127.0.0.1`, 'per_listener_settings false', 'allow_anonymous false', `password_file ${f.passwd}`, `acl_file ${f.acl}`, ''].join('\n'));
  b = await startBroker(f.conf);
});
after(async () => {
  await killAll();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  if (b && b.child.exitCode !== null) throw new Error(`the broker stopped: ${b.stderr()}`);
});

const pub = (args: string[]) => run('mosquitto_pub', ['-p', String(port), ...args]);

describe('mqtt-hub broker -c with password_file and acl_file', { timeout: 60_000, skip }, () => {
  test('mosquitto_pub: the right password exits 0; a wrong one (4, bad user name or password) and no user (5, not authorised) are refused', async () => {
    const right = await pub(['-u', 'alice', '-P', 'secret-a', '-t', 'alice/x', '-m', '1', '-q', '1']);
    assert.equal(right.code, 0, right.stderr);
    const wrong = await pub(['-u', 'alice', '-P', 'secret-b', '-t', 'alice/x', '-m', '1', '-q', '1']);
    // Mosquitto answers 5 here too; the broker tells the client which of the two it was.
    assert.equal(wrong.code, 4, wrong.stderr);
    assert.match(wrong.stderr, /bad user name or password/i);
    const anonymous = await pub(['-t', 'alice/x', '-m', '1']);
    assert.equal(anonymous.code, 5, anonymous.stderr);
  });

  test('a subscription the ACL does not allow is refused (3.1.1 0x80, 5.0 0x87); an allowed one granted', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion, username: 'alice', password: 'secret-a', reconnectPeriod: 0 });
      try {
        // MQTT.js rejects when any filter is refused; the SUBACK is on the error.
        const granted = await c.subscribeAsync({ 'bob/#': { qos: 1 }, 'public/#': { qos: 1 } }).then(
          () => assert.fail('the refused filter was granted'),
          (err: { packet?: { granted?: Array<number | { qos: number }> } }) => err.packet?.granted?.map((g) => (typeof g === 'number' ? g : g.qos)),
        );
        assert.deepEqual(granted, [protocolVersion === 5 ? 0x87 : 0x80, 1]);
      } finally {
        await c.endAsync();
      }
    }
  });

  test('a publish the ACL does not allow is not delivered; 5.0 mosquitto_pub is told Not authorized', async () => {
    // bob's persistent session reads alice/# and public/#; alice may write only alice/#.
    const sub = ['-p', String(port), '-u', 'bob', '-P', 'secret-b', '-i', 'bob-reader', '-c', '-q', '1', '-t', 'alice/#', '-t', 'public/#'];
    assert.equal((await run('mosquitto_sub', [...sub, '-E'])).code, 0);
    const denied = await pub(['-u', 'alice', '-P', 'secret-a', '-t', 'public/news', '-m', 'denied', '-q', '1', '-V', '5']);
    assert.match(denied.stderr, /Not authorized/);
    const allowed = await pub(['-u', 'alice', '-P', 'secret-a', '-t', 'alice/news', '-m', 'allowed', '-q', '1']);
    assert.equal(allowed.code, 0, allowed.stderr);
    const got = await run('mosquitto_sub', [...sub, '-C', '1', '-v', '-W', '10']);
    assert.equal(got.stdout.trim(), 'alice/news allowed');
  });

  test('a password_file that cannot be read stops the start with exit 3, naming the file and line', async () => {
    const conf = path.join(dir, 'broken.conf');
    const p = await freePort();
    fs.writeFileSync(conf, [`listener ${p} 127.0.0.1`, 'allow_anonymous false', 'password_file /definitely/not/passwd', ''].join('\n'));
    const r = await run(process.execPath, [MAIN, 'broker', '-c', conf], 10_000);
    assert.equal(r.code, 3);
    assert.ok(r.stderr.includes(`${conf} line 3: unable to load password_file '/definitely/not/passwd'`), r.stderr);
    assert.doesNotMatch(r.stdout, / running/);
  });
});

/** The CONNACK code an anonymous client gets on each port: [3.1.1 return code, 5.0 reason code]. */
async function anonymousCodes(ports: number[]): Promise<Array<[number | undefined, number | undefined]>> {
  const codes: Array<[number | undefined, number | undefined]> = [];
  for (const p of ports) {
    const pair: Array<number | undefined> = [];
    for (const version of [4, 5] as const) {
      const { client, connack } = await RawClient.connect(p, version);
      pair.push(version === 5 ? connack.reasonCode : connack.returnCode);
      client.socket.destroy();
    }
    codes.push(pair as [number | undefined, number | undefined]);
  }
  return codes;
}

describe('mqtt-hub broker -c: allow_anonymous is false unless the file says true once it defines a listener, as Mosquitto 2', { timeout: 60_000, skip }, () => {
  after(() => removeTmpDirs());
  const refused: [number, number] = [ConnackReturnCode.NotAuthorized, ReasonCode.NotAuthorized];
  const accepted: [number, number] = [ConnackReturnCode.Accepted, ReasonCode.Success];
  const cases: Array<{ name: string; lines: (ports: number[]) => string[]; ports: number; expected: Array<[number, number]> }> = [
    { name: 'listener alone: refused (3.1.1 return code 5, 5.0 0x87)', lines: ([a]) => [`listener ${a} 127.0.0.1`], ports: 1, expected: [refused] },
    { name: 'port alone: refused', lines: ([a]) => [`port ${a}`], ports: 1, expected: [refused] },
    { name: 'listener and allow_anonymous true: let in', lines: ([a]) => [`listener ${a} 127.0.0.1`, 'allow_anonymous true'], ports: 1, expected: [accepted] },
    {
      name: 'per_listener_settings true: the listener whose section says allow_anonymous true lets in, the other refuses',
      lines: ([a, b]) => ['per_listener_settings true', `listener ${a} 127.0.0.1`, 'allow_anonymous true', `listener ${b} 127.0.0.1`],
      ports: 2,
      expected: [accepted, refused],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const ours = await Promise.all(Array.from({ length: c.ports }, () => freePort()));
      const broker = await startBroker(tmpConf(c.lines(ours)));
      try {
        assert.deepEqual(await anonymousCodes(ours), c.expected);
      } finally {
        await broker.kill();
      }
      // the same file under Mosquitto 2.0 answers alike
      const theirs = await Promise.all(Array.from({ length: c.ports }, () => freePort()));
      const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
      const mosquitto = start('mosquitto', ['-c', tmpConf([...c.lines(theirs), ...(asRoot ? ['user root'] : [])])]);
      try {
        for (const p of theirs) await waitForPort(p);
        assert.deepEqual(await anonymousCodes(theirs), c.expected);
      } finally {
        await mosquitto.kill();
      }
    });
  }
});
