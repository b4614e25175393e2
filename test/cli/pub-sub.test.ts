// `mqtt-hub pub` and `mqtt-hub sub` as processes, against a real Mosquitto and mosquitto_pub /
// mosquitto_sub on the other side, plus our own broker for MQTT over WebSocket.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Broker, createBroker } from '../../src/broker';
import { makeTestCerts, TestCerts } from '../helpers/certs';
import { disposeMosquitto, MosquittoInstance, startMosquitto } from '../helpers/mosquitto';
import { freePort, waitUntil } from '../helpers/net';

const dist = path.resolve(__dirname, '..', '..');
const mainJs = path.join(dist, 'src', 'cli', 'main.js');
let tmp: string;
let wrapper: string;

interface Finished {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  stdout(): Buffer;
  stderr(): string;
  exited: Promise<Finished>;
}

const children = new Set<ChildProcess>();

function launch(command: string, args: string[], input?: string | Buffer): Running {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  if (input !== undefined) child.stdin!.end(input);
  else child.stdin!.end();
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
  return { child, stdout: () => Buffer.concat(out), stderr: () => err, exited };
}

/** Our tool through `mqtt-hub <tool>` (main.js), or a two-line stand-in until main.js dispatches to it. */
function hub(tool: 'pub' | 'sub', args: string[], input?: string | Buffer): Running {
  const useMain = fs.existsSync(mainJs) && fs.readFileSync(mainJs, 'utf8').includes(`./${tool}`);
  return useMain ? launch(process.execPath, [mainJs, tool, ...args], input) : launch(process.execPath, [wrapper, tool, ...args], input);
}

const run = (tool: 'pub' | 'sub', args: string[], input?: string | Buffer) => hub(tool, args, input).exited;

let mq: MosquittoInstance;
let locked: MosquittoInstance;
let mutual: MosquittoInstance;
let certs: TestCerts;
let broker: Broker;
let wsPort: number;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-pubsub-'));
  wrapper = path.join(tmp, 'run.js');
  fs.writeFileSync(
    wrapper,
    `const [tool, ...argv] = process.argv.slice(2);\n` +
      `require(${JSON.stringify(path.join(dist, 'src', 'cli'))} + '/' + tool + '.js').main(argv).then((c) => process.exit(c), (e) => { console.error(e); process.exit(99); });\n`,
  );
  certs = makeTestCerts();
  // 'user root' keeps Mosquitto able to read the key in our private temporary directory.
  mq = await startMosquitto({ tls: { cert: certs.serverCert, key: certs.serverKey }, extraConfig: ['user root'] });
  locked = await startMosquitto({ extraConfig: ['allow_anonymous false', 'user root'] });
  mutual = await startMosquitto({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requireCertificate: true }, extraConfig: ['user root'] });
  broker = createBroker({ listeners: [{ host: '127.0.0.1', port: 0, protocol: 'ws', path: '/mqtt-ws' }], sysInterval: 0 });
  await broker.listen();
  wsPort = broker.addresses()[0].port;
});

after(async () => {
  await broker?.close();
  if (mq) await disposeMosquitto(mq);
  if (locked) await disposeMosquitto(locked);
  if (mutual) await disposeMosquitto(mutual);
  certs?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Output without the -d lines, which the helpers below use to see a subscription acknowledged. */
function withoutDebug(out: Buffer): string {
  return out
    .toString('utf8')
    .split(/(?<=\n)/)
    .filter((line) => !/^(Client \S+ (sending|received) |Subscribed \(mid: )/.test(line))
    .join('');
}

/**
 * mosquitto_sub, subscribed before this resolves: with -d it prints "Subscribed (mid: ..." on its
 * SUBACK, and stdbuf makes it print each line as it comes instead of at exit.
 */
async function mosquittoSub(id: string, args: string[]): Promise<Running> {
  const r = launch('stdbuf', ['-oL', 'mosquitto_sub', '-d', '-h', '127.0.0.1', '-p', String(mq.port), '-i', id, '-W', '10', ...args]);
  await waitUntil(() => r.stdout().includes('Subscribed (mid: '), 15000, `${id} subscribed`);
  return r;
}

/** Our sub, subscribed before this resolves (its -d output shows the SUBACK). */
async function hubSub(id: string, args: string[], at = ['-h', '127.0.0.1', '-p', String(mq.port)]): Promise<Running> {
  const r = hub('sub', [...at, '-d', '-i', id, ...args]);
  await waitUntil(() => r.stdout().includes('Subscribed (mid: '), 15000, `${id} subscribed`);
  return r;
}

function mosquittoPub(args: string[]): Promise<Finished> {
  return launch('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mq.port), ...args]).exited;
}

const text = (f: Finished) => withoutDebug(f.stdout);
const at = () => ['-h', '127.0.0.1', '-p', String(mq.port)];

describe('mqtt-hub pub → mosquitto_sub', () => {
  test('QoS 0, 1 and 2 arrive with their QoS; exit code 0 once each flow completes', async () => {
    const watcher = await mosquittoSub('w-qos', ['-t', 'pq/#', '-q', '2', '-C', '3', '-F', '%t %q %p']);
    for (const q of ['0', '1', '2']) {
      const r = await run('pub', [...at(), '-t', `pq/${q}`, '-m', `m${q}`, '-q', q]);
      assert.equal(r.code, 0, r.stderr);
    }
    const got = await watcher.exited;
    assert.equal(got.code, 0);
    assert.deepEqual(text(got).trim().split('\n').sort(), ['pq/0 0 m0', 'pq/1 1 m1', 'pq/2 2 m2']);
  });

  test('-d traces the QoS 2 flow as mosquitto_pub does', async () => {
    const r = await run('pub', [...at(), '-t', 'pd/1', '-m', 'hello', '-q', '2', '-d', '-i', 'tracer']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.toString('utf8').trim().split('\n'), [
      'Client tracer sending CONNECT',
      'Client tracer received CONNACK (0)',
      "Client tracer sending PUBLISH (d0, q2, r0, m1, 'pd/1', ... (5 bytes))",
      'Client tracer received PUBREC (Mid: 1, RC:0)',
      'Client tracer sending PUBREL (m1, rc0)',
      'Client tracer received PUBCOMP (Mid: 1, RC:0)',
      'Client tracer sending DISCONNECT',
    ]);
  });

  test('-l sends one message per line (an empty line is an empty message), -s the whole of stdin', async () => {
    const watcher = await mosquittoSub('w-lines', ['-t', 'pl/#', '-C', '5', '-F', '%t [%p]']);
    const lines = await run('pub', [...at(), '-t', 'pl/l', '-l', '-q', '1'], 'a\nb\n\nlast without newline');
    assert.equal(lines.code, 0, lines.stderr);
    const whole = await run('pub', [...at(), '-t', 'pl/s', '-s'], 'one\ntwo\n');
    assert.equal(whole.code, 0, whole.stderr);
    const got = await watcher.exited;
    assert.equal(text(got), 'pl/l [a]\npl/l [b]\npl/l []\npl/l [last without newline]\npl/s [one\ntwo\n]\n');
  });

  test('-f sends a file byte for byte; a missing file exits 1 before connecting', async () => {
    const file = path.join(tmp, 'payload.bin');
    fs.writeFileSync(file, Buffer.from([0x00, 0xff, 0x10, 0x0a]));
    const watcher = await mosquittoSub('w-file', ['-t', 'pf/1', '-C', '1', '-F', '%x %l']);
    const r = await run('pub', [...at(), '-t', 'pf/1', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(text(await watcher.exited), '00ff100a 4\n');
    // Aimed at a port where nothing listens: a connection attempt would say "Connection refused".
    const missing = await run('pub', ['-h', '127.0.0.1', '-p', String(await freePort()), '-t', 'pf/1', '-f', path.join(tmp, 'nope')]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `Error: Unable to open file "${path.join(tmp, 'nope')}".\nError loading input file "${path.join(tmp, 'nope')}".\n`);
  });

  test('-r retains, -n -r clears the retained message (3.1.1 [MQTT-3.3.1-10])', async () => {
    assert.equal((await run('pub', [...at(), '-t', 'pr/1', '-m', 'kept', '-r'])).code, 0);
    const first = await launch('mosquitto_sub', [...at(), '-t', 'pr/1', '-C', '1', '-W', '5', '-F', '%r %p']).exited;
    assert.equal(text(first), '1 kept\n');
    assert.equal((await run('pub', [...at(), '-t', 'pr/1', '-n', '-r'])).code, 0);
    const cleared = await launch('mosquitto_sub', [...at(), '-t', 'pr/#', '-E', '-F', '%t']).exited;
    assert.equal(cleared.code, 0);
    assert.equal(text(cleared), "", "no retained message left");
  });

  test('--repeat publishes N times', async () => {
    const watcher = await mosquittoSub('w-repeat', ['-t', 'pn/1', '-C', '3', '-F', '%p']);
    const r = await run('pub', [...at(), '-t', 'pn/1', '-m', 'again', '--repeat', '3', '--repeat-delay', '0.01']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(text(await watcher.exited), 'again\nagain\nagain\n');
  });

  test('-V 5 with -D publish properties, seen by mosquitto_sub -V 5', async () => {
    const watcher = await mosquittoSub('w-props', ['-V', '5', '-t', 'pp/1', '-C', '1', '-F', '%P|%C|%R|%D|%F|%p']);
    const r = await run('pub', [...at(), '-V', '5', '-t', 'pp/1', '-m', 'with props',
      '-D', 'publish', 'user-property', 'k', 'v', '-D', 'publish', 'user-property', 'k2', 'v2',
      '-D', 'publish', 'content-type', 'text/plain', '-D', 'publish', 'response-topic', 'reply/to',
      '-D', 'publish', 'correlation-data', 'corr', '-D', 'publish', 'payload-format-indicator', '1',
      '-D', 'publish', 'message-expiry-interval', '60']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(text(await watcher.exited), 'k:v k2:v2|text/plain|reply/to|corr|1|with props\n');
  });

  test('--will-topic: the broker publishes the Will when the connection drops', async () => {
    const watcher = await mosquittoSub('w-will', ['-t', 'pw/will', '-C', '1', '-F', '%t %p %q']);
    // Our sub holds a connection with a Will; SIGKILL gives it no chance to disconnect.
    const victim = await hubSub('victim', ['-t', 'pw/nothing', '--will-topic', 'pw/will', '--will-payload', 'gone', '--will-qos', '1']);
    victim.child.kill('SIGKILL');
    assert.equal(text(await watcher.exited), 'pw/will gone 0\n');
  });
});

describe('mosquitto_pub → mqtt-hub sub', () => {
  test('payload alone, -v "topic payload", -F with fields', async () => {
    const plain = await hubSub('s-plain', ['-t', 'sp/#', '-C', '1']);
    const verbose = await hubSub('s-verbose', ['-t', 'sp/#', '-C', '1', '-v']);
    const formatted = await hubSub('s-format', ['-t', 'sp/#', '-C', '1', '-q', '1', '-F', '%t|%p|%q|%r|%l|%x']);
    assert.equal((await mosquittoPub(['-t', 'sp/a', '-m', 'hi there', '-q', '1'])).code, 0);
    const [p, v, f] = await Promise.all([plain.exited, verbose.exited, formatted.exited]);
    assert.deepEqual([p.code, v.code, f.code], [0, 0, 0]);
    assert.equal(text(p), 'hi there\n');
    assert.equal(text(v), 'sp/a hi there\n');
    assert.equal(text(f), 'sp/a|hi there|1|0|8|6869207468657265\n');
  });

  test('QoS 2 end to end: -F %q shows 2', async () => {
    const s = await hubSub('s-qos2', ['-t', 'sq/2', '-q', '2', '-C', '1', '-F', '%q %p']);
    await mosquittoPub(['-t', 'sq/2', '-m', 'two', '-q', '2']);
    assert.equal(text(await s.exited), '2 two\n');
  });

  test('retained messages print with %r = 1; -R skips them and prints only fresh ones', async () => {
    await mosquittoPub(['-t', 'sr/old', '-m', 'stale', '-r']);
    const all = await run('sub', [...at(), '-t', 'sr/#', '-C', '1', '-F', '%t %r %p']);
    assert.equal(text(all), 'sr/old 1 stale\n');
    const fresh = await hubSub('s-fresh', ['-t', 'sr/#', '-R', '-C', '1', '-v']);
    await mosquittoPub(['-t', 'sr/new', '-m', 'fresh']);
    const got = await fresh.exited;
    assert.equal(got.code, 0);
    assert.equal(text(got), 'sr/new fresh\n');
    await mosquittoPub(['-t', 'sr/old', '-n', '-r']);
  });

  test('-C counts printed messages and exits 0; -T filters topics out', async () => {
    for (const n of ['1', '2', '3']) await mosquittoPub(['-t', `sc/${n}`, '-m', `v${n}`, '-r']);
    const got = await run('sub', [...at(), '-t', 'sc/#', '-T', 'sc/2', '-C', '2', '-v']);
    assert.equal(got.code, 0);
    assert.deepEqual(text(got).trim().split('\n').sort(), ['sc/1 v1', 'sc/3 v3']);
    for (const n of ['1', '2', '3']) await mosquittoPub(['-t', `sc/${n}`, '-n', '-r']);
  });

  test('-W: no message in time exits 27 with "Timed out", as mosquitto_sub', async () => {
    const got = await run('sub', [...at(), '-t', 'sw/none', '-W', '1']);
    assert.equal(got.code, 27);
    assert.equal(got.stderr, 'Timed out\n');
    assert.equal(text(got), '');
  });

  test('-E exits once subscribed; -c keeps the session and its queued QoS 1 message', async () => {
    const first = await run('sub', [...at(), '-t', 'sk/1', '-q', '1', '-c', '-i', 'keeper', '-E']);
    assert.equal(first.code, 0, first.stderr);
    await mosquittoPub(['-t', 'sk/1', '-m', 'queued', '-q', '1']);
    const second = await run('sub', [...at(), '-t', 'sk/1', '-q', '1', '-c', '-i', 'keeper', '-C', '1', '-W', '5']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(text(second), 'queued\n');
  });

  test('-U unsubscribes from a kept session: what it covered is no longer queued', async () => {
    const session = ['-c', '-i', 'unsub-keeper', '-q', '1'];
    assert.equal((await run('sub', [...at(), ...session, '-t', 'su/gone', '-E'])).code, 0);
    assert.equal((await run('sub', [...at(), ...session, '-t', 'su/kept', '-U', 'su/gone', '-E'])).code, 0);
    await mosquittoPub(['-t', 'su/gone', '-m', 'lost', '-q', '1']);
    await mosquittoPub(['-t', 'su/kept', '-m', 'queued', '-q', '1']);
    // Queued in order: if su/gone were still subscribed, "lost" would come first.
    const got = await run('sub', [...at(), ...session, '-t', 'su/kept', '-C', '1', '-W', '5', '-v']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(text(got), 'su/kept queued\n');
  });

  test('--retained-only prints retained messages and exits 0 at the first fresh one; -N joins payloads', async () => {
    await mosquittoPub(['-t', 'sn/1', '-m', 'a', '-r']);
    await mosquittoPub(['-t', 'sn/2', '-m', 'b', '-r']);
    const joined = await run('sub', [...at(), '-t', 'sn/1', '-t', 'sn/2', '-C', '2', '-N']);
    assert.ok(['ab', 'ba'].includes(text(joined)), text(joined));
    const s = await hubSub('s-retained-only', ['-t', 'sn/1', '--retained-only', '-v']);
    await mosquittoPub(['-t', 'sn/1', '-m', 'fresh']);
    const got = await s.exited;
    assert.equal(got.code, 0, got.stderr);
    assert.equal(text(got), 'sn/1 a\n');
    await mosquittoPub(['-t', 'sn/1', '-n', '-r']);
    await mosquittoPub(['-t', 'sn/2', '-n', '-r']);
  });

  test('a reader that goes away (sub | head -1) ends sub quietly with exit code 0', async () => {
    const s = await hubSub('s-pipe', ['-t', 'se/1']);
    s.child.stdout!.destroy();
    await mosquittoPub(['-t', 'se/1', '-m', 'into a closed pipe']);
    const got = await s.exited;
    assert.equal(got.code, 0);
    assert.equal(got.stderr, '');
  });

  test('-V 5 sees user properties and content type from mosquitto_pub -D', async () => {
    const s = await hubSub('s-v5', ['-V', '5', '-t', 'sv/1', '-C', '1', '-F', '%P|%C|%E']);
    await mosquittoPub(['-V', '5', '-t', 'sv/1', '-m', 'x', '-D', 'publish', 'user-property', 'a', 'b', '-D', 'publish', 'content-type', 'c/t']);
    assert.equal(text(await s.exited), 'a:b|c/t|\n');
  });

  test('MQTT 5 subscription options: --rh 2 sends no retained message, --rap keeps the retain flag, -D subscribe subscription-identifier', async () => {
    await mosquittoPub(['-t', 'so/1', '-m', 'stale', '-r']);
    const s = await hubSub('s-options', ['-t', 'so/1', '--rh', '2', '--rap', '-D', 'subscribe', 'subscription-identifier', '7', '-C', '1', '-F', '%p %r %S']);
    await mosquittoPub(['-t', 'so/1', '-m', 'fresh', '-r']);
    const got = await s.exited;
    assert.equal(got.code, 0, got.stderr);
    // Without --rh 2 the retained "stale" would come first [MQTT-3.3.1-9]; without --rap, "fresh" would have retain 0 [MQTT-3.3.1-12].
    assert.equal(text(got), 'fresh 1 7\n');
    await mosquittoPub(['-t', 'so/1', '-n', '-r']);
  });

  test('--remove-retained clears what it receives', async () => {
    await mosquittoPub(['-t', 'sx/1', '-m', 'old', '-r']);
    const got = await run('sub', [...at(), '-t', 'sx/#', '--remove-retained', '-C', '1']);
    assert.equal(text(got), 'old\n');
    await waitUntil(async () => {
      const left = await launch('mosquitto_sub', [...at(), '-t', 'sx/#', '-E']).exited;
      return text(left) === '';
    }, 5000, 'retained message removed');
  });
});

describe('a lost connection', () => {
  test('sub reconnects and subscribes again after the broker restarts, as mosquitto_sub does', async () => {
    const own = await startMosquitto();
    try {
      const at = ['-h', '127.0.0.1', '-p', String(own.port)];
      const s = await hubSub('s-back', ['-t', 'rc/1', '-C', '1', '-v'], at);
      await own.stop();
      await own.restart();
      const subscribedTwice = () => s.stdout().toString().split('Subscribed (mid: ').length > 2;
      await waitUntil(subscribedTwice, 10000, 'subscribed again');
      assert.equal((await launch('mosquitto_pub', [...at, '-t', 'rc/1', '-m', 'after restart']).exited).code, 0);
      const got = await s.exited;
      assert.equal(got.code, 0, got.stderr);
      assert.equal(text(got), 'rc/1 after restart\n');
    } finally {
      await disposeMosquitto(own);
    }
  });
});

describe('failures: exit codes and messages', () => {
  test('nothing listening: exit 1, "Error: Connection refused"', async () => {
    const port = String(await freePort());
    const runs = await Promise.all((['pub', 'sub'] as const).map((tool) => run(tool, ['-h', '127.0.0.1', '-p', port, '-t', 'x', ...(tool === 'pub' ? ['-m', 'x'] : [])])));
    for (const got of runs) {
      assert.equal(got.code, 1);
      assert.equal(got.stderr, 'Error: Connection refused\n');
    }
  });

  test('a refused CONNACK exits with its code and reason: 5 under 3.1.1, 0x87 under 5.0', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(locked.port), '-t', 'x'];
    const [v311, v5, quiet] = await Promise.all([run('pub', [...args, '-m', 'x']), run('sub', [...args, '-V', '5']), run('sub', [...args, '--quiet'])]);
    assert.equal(v311.code, 5);
    assert.equal(v311.stderr, 'Connection error: Connection Refused: not authorised.\n');
    assert.equal(v5.code, 0x87);
    assert.equal(v5.stderr, 'Connection error: Not authorized\n');
    assert.equal(quiet.code, 5);
    assert.equal(quiet.stderr, '');
  });

  test('unknown option: usage on stderr, exit 1; --help: usage on stdout, exit 0', async () => {
    const [bad, help, version] = await Promise.all([run('sub', ['--bogus']), run('pub', ['--help']), run('sub', ['--version'])]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error: Unknown option '--bogus'\.\n\nmqtt-hub sub is a simple mqtt client/);
    assert.equal(help.code, 0);
    assert.match(text(help), /^mqtt-hub pub is a simple mqtt client .*\n\nUsage: mqtt-hub pub /);
    assert.equal(version.code, 0);
    assert.match(text(version), /^mqtt-hub sub version \S+\n$/);
  });
});

describe('TLS', () => {
  test('--cafile with the broker\'s CA: published and received over TLS', async () => {
    const tlsAt = ['-h', '127.0.0.1', '-p', String(mq.tlsPort), '--cafile', certs.caCert];
    const s = await hubSub('tls-sub', ['-t', 'tls/1', '-C', '1', '-v'], tlsAt);
    const p = await run('pub', [...tlsAt, '-t', 'tls/1', '-m', 'secret']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(text(await s.exited), 'tls/1 secret\n');
  });

  test('a certificate the CA file does not trust: exit 1 and a TLS error on stderr', async () => {
    const runs = await Promise.all((['pub', 'sub'] as const).map((tool) =>
      run(tool, ['-h', '127.0.0.1', '-p', String(mq.tlsPort), '--cafile', certs.strangerCert, '-t', 'x', ...(tool === 'pub' ? ['-m', 'x'] : [])])));
    for (const got of runs) {
      assert.equal(got.code, 1);
      assert.match(got.stderr, /^OpenSSL Error: .+\nUnable to connect \(A TLS error occurred\.\)\.\n$/);
    }
  });

  test('-L mqtts:// with --cafile, and --capath with a directory of CA certificates', async () => {
    const capath = path.join(tmp, 'capath');
    fs.mkdirSync(capath, { recursive: true });
    fs.copyFileSync(certs.caCert, path.join(capath, 'test-ca.crt'));
    const [byUrl, byPath] = await Promise.all([
      run('pub', ['-L', `mqtts://127.0.0.1:${mq.tlsPort}/tls/url`, '--cafile', certs.caCert, '-m', 'x', '-q', '1']),
      run('pub', ['-h', '127.0.0.1', '-p', String(mq.tlsPort), '--capath', capath, '-t', 'tls/path', '-m', 'x', '-q', '1']),
    ]);
    assert.equal(byUrl.code, 0, byUrl.stderr);
    assert.equal(byPath.code, 0, byPath.stderr);
  });

  test('--cert and --key: a broker that requires a client certificate lets us in with one, not without', async () => {
    const base = ['-h', '127.0.0.1', '-p', String(mutual.tlsPort), '--cafile', certs.caCert, '-t', 'tls/mutual', '-m', 'x', '-q', '1'];
    const [withCert, without] = await Promise.all([
      run('pub', [...base, '--cert', certs.clientCert, '--key', certs.clientKey]),
      run('pub', base),
    ]);
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.equal(without.code, 1);
    // TLS 1.3 lets the client finish its handshake before the server checks for a certificate, so
    // the refusal arrives as the server's alert or, if the socket closes first, as a reset.
    assert.match(without.stderr, /^(OpenSSL Error: .*certificate required.*\nUnable to connect \(A TLS error occurred\.\)\.|Error: .+)\n$/);
  });
});

describe('-L URLs', () => {
  test('mqtt://host:port/topic for pub and sub', async () => {
    await run('pub', ['-L', `mqtt://127.0.0.1:${mq.port}/lu/1`, '-m', 'by url', '-r']);
    const got = await run('sub', ['-L', `mqtt://127.0.0.1:${mq.port}/lu/#`, '-C', '1', '-v']);
    assert.equal(text(got), 'lu/1 by url\n');
    await mosquittoPub(['-t', 'lu/1', '-n', '-r']);
  });

  test('ws://host:port/path to our broker\'s WebSocket listener', async () => {
    const url = `ws://127.0.0.1:${wsPort}/mqtt-ws`;
    const p = await run('pub', ['-L', url, '-t', 'ws/1', '-m', 'over websocket', '-r', '-q', '1']);
    assert.equal(p.code, 0, p.stderr);
    const s = await run('sub', ['-L', url, '-t', 'ws/#', '-C', '1', '-F', '%t %r %p', '-V', '5']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(text(s), 'ws/1 1 over websocket\n');
  });
});
