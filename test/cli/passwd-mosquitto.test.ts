// A password file written by `mqtt-hub passwd` is accepted by a real Mosquitto.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/passwd';
import { disposeMosquitto, MosquittoInstance, mosquittoAvailable, startMosquitto } from '../helpers/mosquitto';

async function passwd(argv: string[]): Promise<void> {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdin: Readable.from(['']), stdout: new PassThrough(), stderr });
  assert.equal(code, 0, err);
}

/** Exit code of mosquitto_pub: 0 when the broker accepted the connection, 5 when it refused it. */
function mosquittoPub(port: number, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'auth/test', '-m', 'hi', ...args], (err) => {
      resolve(err ? Number((err as { code?: number }).code ?? 1) : 0);
    });
  });
}

describe('password file from mqtt-hub passwd in a real Mosquitto', { skip: !mosquittoAvailable() && 'mosquitto is not installed' }, () => {
  let dir: string;
  let broker: MosquittoInstance;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-passwd-mosq-'));
    const file = path.join(dir, 'passwords');
    await passwd(['-c', '-b', file, 'alice', 'alice-pass']); // default iterations
    await passwd(['-I', '101', '-b', file, 'bob', 'bob pass:with colon']);
    fs.writeFileSync(path.join(dir, 'plain'), 'carol:carol-pass\n');
    await passwd(['-U', path.join(dir, 'plain')]);
    fs.appendFileSync(file, fs.readFileSync(path.join(dir, 'plain')));
    broker = await startMosquitto({
      extraConfig: [
        'allow_anonymous false',
        `password_file ${file}`,
        // Mosquitto started as root would switch to the `mosquitto` user, who cannot read a 0600
        // file owned by root; stay root for the test.
        'user root',
      ],
    });
  });

  after(async () => {
    if (broker) await disposeMosquitto(broker);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('right passwords are accepted', async () => {
    assert.equal(await mosquittoPub(broker.port, ['-u', 'alice', '-P', 'alice-pass']), 0, broker.log());
    assert.equal(await mosquittoPub(broker.port, ['-u', 'bob', '-P', 'bob pass:with colon']), 0);
    assert.equal(await mosquittoPub(broker.port, ['-u', 'carol', '-P', 'carol-pass']), 0);
  });

  test('wrong passwords, unknown users and anonymous clients are refused', async () => {
    assert.equal(await mosquittoPub(broker.port, ['-u', 'alice', '-P', 'alice-pas']), 5);
    assert.equal(await mosquittoPub(broker.port, ['-u', 'alice', '-P', 'bob pass:with colon']), 5);
    assert.equal(await mosquittoPub(broker.port, ['-u', 'bob', '-P', 'bob pass']), 5);
    assert.equal(await mosquittoPub(broker.port, ['-u', 'dave', '-P', 'alice-pass']), 5);
    assert.equal(await mosquittoPub(broker.port, []), 5);
  });
});
