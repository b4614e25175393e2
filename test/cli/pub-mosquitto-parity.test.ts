// `mqtt-hub pub` (and `sub` where they share an option) run side by side with mosquitto_pub on
// the same command line against the same Mosquitto, where the two must agree: a repeated -t, a
// publish the broker refuses (ACL, MQTT 5 reason code), --insecure, --tls-version, the -d CONNECT.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeTestCerts, TestCerts } from '../helpers/certs';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { waitUntil } from '../helpers/net';

const mainJs = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

function launch(command: string, args: string[], input?: string): { child: ChildProcess; stdout(): string; exited: Promise<Finished> } {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.on('error', () => undefined); // a tool that exits without reading its input
  child.stdin!.end(input ?? '');
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout: out, stderr: err });
    });
  });
  return { child, stdout: () => out, exited };
}

const hubPub = (args: string[], input?: string) => launch(process.execPath, [mainJs, 'pub', ...args], input).exited;
const hubSub = (args: string[]) => launch(process.execPath, [mainJs, 'sub', ...args]).exited;
const mosquittoPub = (args: string[], input?: string) => launch('mosquitto_pub', args, input).exited;

/** Both tools with the same arguments. */
async function both(args: string[], input?: string): Promise<{ ours: Finished; theirs: Finished }> {
  const [ours, theirs] = await Promise.all([hubPub(args, input), mosquittoPub(args, input)]);
  return { ours, theirs };
}

let certs: TestCerts;
let tmp: string;
let mq: MosquittoInstance;
let tls12Only: MosquittoInstance;
let tls13Only: MosquittoInstance;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-pub-parity-'));
  certs = makeTestCerts();
  // Anonymous clients may use parity/# only: a publish elsewhere is refused (PUBACK 0x87 under 5.0).
  const acl = path.join(tmp, 'acl');
  fs.writeFileSync(acl, 'topic readwrite parity/#\n');
  const tls = { cert: certs.serverCert, key: certs.serverKey };
  // 'user root' keeps Mosquitto able to read our private temporary files.
  mq = await startMosquitto({ tls, extraConfig: ['user root', `acl_file ${acl}`] });
  tls13Only = await startMosquitto({ tls, extraConfig: ['user root', 'tls_version tlsv1.3'] });
  // Mosquitto has no setting for the highest TLS version; OpenSSL's system defaults do, read from
  // OPENSSL_CONF by the Mosquitto started while it is set (and by nothing else here).
  const opensslConf = path.join(tmp, 'openssl.cnf');
  fs.writeFileSync(opensslConf, [
    'openssl_conf = default_conf',
    '[default_conf]', 'ssl_conf = ssl_sect',
    '[ssl_sect]', 'system_default = system_default_sect',
    '[system_default_sect]', 'MaxProtocol = TLSv1.2', '',
  ].join('\n'));
  const saved = process.env.OPENSSL_CONF;
  process.env.OPENSSL_CONF = opensslConf;
  try {
    tls12Only = await startMosquitto({ tls, extraConfig: ['user root'] });
  } finally {
    if (saved === undefined) delete process.env.OPENSSL_CONF;
    else process.env.OPENSSL_CONF = saved;
  }
});

after(async () => {
  for (const m of [mq, tls12Only, tls13Only]) if (m) await disposeMosquitto(m);
  certs?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
});

const plain = () => ['-h', '127.0.0.1', '-p', String(mq.port)];

/** mosquitto_sub on `filter`, subscribed (its -d shows the SUBACK) before this resolves. */
async function watch(filter: string, count: number): Promise<{ exited: Promise<Finished> }> {
  const r = launch('stdbuf', ['-oL', 'mosquitto_sub', '-d', ...plain(), '-t', filter, '-C', String(count), '-W', '10', '-F', '%t %p']);
  await waitUntil(() => r.stdout().includes('Subscribed (mid: '), 15000, 'mosquitto_sub subscribed');
  return { exited: r.exited };
}

const messages = (f: Finished) => f.stdout.split('\n').filter((l) => l !== '' && !/^(Client |Subscribed )/.test(l));

describe('as mosquitto_pub', () => {
  test('a repeated -t publishes to the last one', async () => {
    const watcher = await watch('parity/t/#', 2);
    const { ours, theirs } = await both([...plain(), '-t', 'parity/t/first', '-t', 'parity/t/last', '-m', 'x', '-q', '1']);
    assert.deepEqual([ours.code, theirs.code], [0, 0], ours.stderr + theirs.stderr);
    assert.deepEqual(messages(await watcher.exited), ['parity/t/last x', 'parity/t/last x']);
  });

  for (const qos of ['1', '2']) {
    test(`a 5.0 broker refusing a QoS ${qos} publish (ACL, reason code 0x87): the same warning and exit code 0`, async () => {
      const args = [...plain(), '-V', '5', '-q', qos, '-t', 'denied/x', '-m', 'x'];
      const { ours, theirs } = await both(args);
      assert.equal(theirs.stderr, 'Warning: Publish 1 failed: Not authorized.\n');
      assert.deepEqual([ours.code, ours.stderr], [theirs.code, theirs.stderr]);
      assert.equal(ours.code, 0);
      const quiet = await both([...args, '--quiet']);
      assert.deepEqual([quiet.ours.code, quiet.ours.stderr], [quiet.theirs.code, quiet.theirs.stderr]);
      assert.equal(quiet.ours.stderr, '');
    });
  }

  test('a refused message does not stop the next ones: -l and --repeat warn per message', async () => {
    const lines = await both([...plain(), '-V', '5', '-q', '1', '-t', 'denied/lines', '-l'], 'one\ntwo\n');
    assert.deepEqual([lines.ours.code, lines.ours.stderr], [lines.theirs.code, lines.theirs.stderr]);
    assert.equal(lines.ours.stderr, 'Warning: Publish 1 failed: Not authorized.\nWarning: Publish 2 failed: Not authorized.\n');
    const repeated = await both([...plain(), '-V', '5', '-q', '1', '-t', 'denied/repeat', '-m', 'x', '--repeat', '2']);
    assert.deepEqual([repeated.ours.code, repeated.ours.stderr], [repeated.theirs.code, repeated.theirs.stderr]);
  });

  test('-d prints the CONNECT once, first, as every other packet', async () => {
    for (const version of ['311', '5']) {
      const { ours, theirs } = await both([...plain(), '-V', version, '-d', '-t', 'parity/d', '-m', 'x']);
      assert.equal(ours.code, 0, ours.stderr);
      const connects = (f: Finished) => f.stdout.split('\n').filter((l) => / sending CONNECT$/.test(l));
      assert.equal(connects(ours).length, 1, ours.stdout);
      assert.equal(ours.stdout.split('\n')[0], connects(ours)[0]);
      if (version === '5') assert.deepEqual(connects(ours), connects(theirs)); // "Client (null) sending CONNECT"
    }
  });
});

describe('TLS options as mosquitto_pub takes them', () => {
  const tlsAt = (m: MosquittoInstance, host = 'localhost') => ['-h', host, '-p', String(m.tlsPort), '--cafile', certs.caCert];

  // 127.1 resolves to 127.0.0.1 but is not a name the certificate carries (localhost, 127.0.0.1).
  test('--insecure skips the host name check only; the certificate chain is still verified', async () => {
    const message = ['-t', 'parity/tls', '-m', 'x', '-q', '1'];
    const mismatch = await both([...tlsAt(mq, '127.1'), ...message]);
    assert.notEqual(mismatch.theirs.code, 0);
    assert.equal(mismatch.ours.code, 1);
    assert.match(mismatch.ours.stderr, /^OpenSSL Error: .*(does not match|altnames).*\nUnable to connect \(A TLS error occurred\.\)\.\n$/i);

    const insecure = await both([...tlsAt(mq, '127.1'), '--insecure', ...message]);
    assert.deepEqual([insecure.ours.code, insecure.theirs.code], [0, 0], insecure.ours.stderr);

    const untrusted = await both(['-h', '127.1', '-p', String(mq.tlsPort), '--cafile', certs.strangerCert, '--insecure', ...message]);
    assert.notEqual(untrusted.theirs.code, 0);
    assert.equal(untrusted.ours.code, 1);
    assert.match(untrusted.ours.stderr, /^OpenSSL Error: .+\nUnable to connect \(A TLS error occurred\.\)\.\n$/);

    // sub shares the option.
    const sub = await hubSub([...tlsAt(mq, '127.1'), '--insecure', '-t', 'parity/tls', '-E']);
    assert.equal(sub.code, 0, sub.stderr);
  });

  test('--tls-version is the lowest version: tlsv1.3 fails on a TLS 1.2 server; tlsv1.2 connects to a TLS 1.3 one', async () => {
    const message = ['-t', 'parity/version', '-m', 'x', '-q', '1'];
    const cases: [MosquittoInstance, string, boolean][] = [
      [tls12Only, 'tlsv1.2', true],
      [tls12Only, 'tlsv1.3', false],
      [tls13Only, 'tlsv1.3', true],
      [tls13Only, 'tlsv1.2', true],
    ];
    for (const [server, version, connects] of cases) {
      const { ours, theirs } = await both([...tlsAt(server), '--tls-version', version, ...message]);
      const what = `${version} against ${server === tls12Only ? 'TLS 1.2' : 'TLS 1.3'}`;
      assert.equal(theirs.code === 0, connects, `mosquitto_pub, ${what}: ${theirs.stderr}`);
      assert.equal(ours.code === 0, connects, `ours, ${what}: ${ours.stderr}`);
      if (!connects) assert.match(ours.stderr, /^OpenSSL Error: .*protocol version.*\nUnable to connect \(A TLS error occurred\.\)\.\n$/);
    }
    const sub = await hubSub([...tlsAt(tls12Only), '--tls-version', 'tlsv1.3', '-t', 'parity/version', '-E']);
    assert.equal(sub.code, 1);
  });

  test('an unknown --tls-version: the same error and exit code, even on a plain connection', async () => {
    const { ours, theirs } = await both([...plain(), '--tls-version', 'tlsv1', '-t', 'parity/x', '-m', 'x']);
    assert.equal(theirs.stderr, 'Error: Problem setting TLS options, check the options are valid.\n');
    assert.deepEqual([ours.code, ours.stderr], [theirs.code, theirs.stderr]);
  });
});
