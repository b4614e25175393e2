// `mqtt-hub broker` as a user runs it: a child process driven by mosquitto_pub/mosquitto_sub and
// MQTT.js, checking the -v log lines, exit codes, signals, configuration files and refusals.
import { describe, test, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { freePort, waitForPort } from '../helpers/net';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { killAll, run, start, until, type Running } from '../broker/helpers/processes';
import { RawClient } from '../broker/helpers/raw-client';

const MAIN = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
/** The version in the project's package.json, found above the build folder (as npm would). */
function projectVersion(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@mqtt-hub/node-red' && pkg.version) return pkg.version;
  }
  throw new Error('package.json of @mqtt-hub/node-red not found above ' + __dirname);
}
const PKG_VERSION = projectVersion();
const skipNoMosquitto = mosquittoAvailable() ? false : 'mosquitto clients are not installed';

function broker(args: string[]): Running {
  return start(process.execPath, [MAIN, 'broker', ...args]);
}

async function running(b: Running): Promise<void> {
  await until(
    () => {
      if (b.child.exitCode !== null) throw new Error(`broker exited ${b.child.exitCode}: ${b.stderr()}`);
      // the start line, not another that happens to say "running" (the persistence line does)
      return /mqtt-hub version \S+ running/.test(b.stdout());
    },
    10_000,
    'the broker to start',
  );
}

/** Every output line, timestamp checked and removed. */
function logLines(b: Running): string[] {
  return b
    .stdout()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const m = /^(\d{10,}): (.*)$/s.exec(l);
      assert.ok(m, `line without a Mosquitto-style timestamp: ${JSON.stringify(l)}`);
      return m[2];
    });
}

async function waitForLine(b: Running, match: RegExp | string, timeoutMs = 5000): Promise<void> {
  await until(() => logLines(b).some((l) => (typeof match === 'string' ? l === match : match.test(l))), timeoutMs, `log line ${match}`);
}

const tmpDirs: string[] = [];
function tmpConf(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-cli-'));
  tmpDirs.push(dir);
  const file = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(file, text);
  return file;
}

afterEach(async () => {
  await killAll();
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('mqtt-hub (main)', { timeout: 30_000 }, () => {
  test('--version prints the package version', async () => {
    const r = await run(process.execPath, [MAIN, '--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), `mqtt-hub ${PKG_VERSION}`);
  });

  test('--help lists the commands; no command is a usage error', async () => {
    const help = await run(process.execPath, [MAIN, '--help']);
    assert.equal(help.code, 0);
    for (const c of ['broker', 'pub', 'sub']) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
    const none = await run(process.execPath, [MAIN]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /Usage: mqtt-hub <command>/);
  });

  test('an unknown command is an error naming it', async () => {
    const r = await run(process.execPath, [MAIN, 'frobnicate']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  test('broker --help and a bad option', async () => {
    const help = await run(process.execPath, [MAIN, 'broker', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: mqtt-hub broker/);
    const bad = await run(process.execPath, [MAIN, 'broker', '--bogus']);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /Unknown option '--bogus'/);
    const badPort = await run(process.execPath, [MAIN, 'broker', '--port', 'x']);
    assert.equal(badPort.code, 3);
    assert.match(badPort.stderr, /Invalid port given: x/);
  });
});

describe('mqtt-hub broker', { timeout: 60_000 }, () => {
  test('-v logs packets in and out as mosquitto -v does (mosquitto_pub QoS 1 and 2, MQTT.js subscriber)', { skip: skipNoMosquitto }, async () => {
    const port = await freePort();
    const b = broker(['--port', String(port), '-v']);
    await running(b);
    assert.ok(logLines(b).some((l) => l === `Opening ipv4 listen socket on 127.0.0.1 port ${port}.`));

    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'subby', protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await sub.subscribeAsync('cli/#', { qos: 2 });
      const got: string[] = [];
      sub.on('message', (_t, payload) => got.push(payload.toString()));
      const p1 = await run('mosquitto_pub', ['-p', String(port), '-t', 'cli/t', '-m', 'hello world!', '-q', '1', '-i', 'c1', '-u', 'user']);
      assert.equal(p1.code, 0, p1.stderr);
      const p2 = await run('mosquitto_pub', ['-p', String(port), '-t', 'cli/t', '-m', 'hello', '-q', '2', '-i', 'c2', '-V', '5', '-r', '--will-topic', 'w/t', '--will-payload', 'bye']);
      assert.equal(p2.code, 0, p2.stderr);
      await until(() => got.length === 2, 5000, 'two messages');
      await waitForLine(b, 'Client c2 disconnected.');
    } finally {
      await sub.endAsync();
    }
    await waitForLine(b, 'Client subby disconnected.');
    const lines = logLines(b);
    // Mosquitto's lines in Mosquitto's order: the connection, the client and its will, then the CONNACK
    const newConnection = new RegExp(`^New connection from 127\\.0\\.0\\.1:\\d+ on port ${port}\\.$`);
    const expectInOrder = [
      newConnection,
      /^New client connected from 127\.0\.0\.1:\d+ as subby \(p2, c1, k60\)\.$/,
      'No will message specified.',
      'Sending CONNACK to subby (0, 0)',
      'Received SUBSCRIBE from subby',
      '\tcli/# (QoS 2)',
      'subby 2 cli/#',
      'Sending SUBACK to subby',
      newConnection,
      /^New client connected from 127\.0\.0\.1:\d+ as c1 \(p2, c1, k60, u'user'\)\.$/,
      'No will message specified.',
      'Sending CONNACK to c1 (0, 0)',
      "Received PUBLISH from c1 (d0, q1, r0, m1, 'cli/t', ... (12 bytes))",
      /^Sending PUBLISH to subby \(d0, q1, r0, m\d+, 'cli\/t', \.\.\. \(12 bytes\)\)$/,
      'Received DISCONNECT from c1',
      'Client c1 disconnected.',
      newConnection,
      /^New client connected from 127\.0\.0\.1:\d+ as c2 \(p5, c1, k60\)\.$/,
      'Will message specified (3 bytes) (r0, q0).',
      '\tw/t',
      'Sending CONNACK to c2 (0, 0)',
      "Received PUBLISH from c2 (d0, q2, r1, m1, 'cli/t', ... (5 bytes))",
      'Received PUBREL from c2 (Mid: 1)',
      'Sending PUBCOMP to c2 (m1)',
      'Client c2 disconnected.',
      'Received DISCONNECT from subby',
      'Client subby disconnected.',
    ];
    let from = 0;
    for (const want of expectInOrder) {
      const i = lines.findIndex((l, k) => k >= from && (typeof want === 'string' ? l === want : want.test(l)));
      assert.ok(i >= 0, `missing (in order) ${want}\n--- log ---\n${lines.join('\n')}`);
      from = i + 1;
    }
    // Nothing said twice: no line of the broker's own beside Mosquitto's, no CONNECT line (Mosquitto has none)
    const doubles = lines.filter((l) => /^client \S+ .*(connected from|subscribed to)|^Received CONNECT/.test(l));
    assert.deepEqual(doubles, [], lines.join('\n'));
    // Lines whose place relative to the others depends on timing: present is enough.
    for (const want of [
      'Sending PUBACK to c1 (m1, rc0)',
      /^Received PUBACK from subby \(Mid: \d+, RC:0\)$/,
      'Sending PUBREC to c2 (m1, rc0)',
      /^Sending PUBLISH to subby \(d0, q2, r0, m\d+, 'cli\/t', \.\.\. \(5 bytes\)\)$/,
      /^Received PUBREC from subby \(Mid: \d+\)$/,
      /^Sending PUBREL to subby \(m\d+\)$/,
      /^Received PUBCOMP from subby \(Mid: \d+, RC:0\)$/,
    ]) {
      assert.ok(lines.some((l) => (typeof want === 'string' ? l === want : want.test(l))), `missing ${want}`);
    }
    const r = await b.kill('SIGTERM');
    assert.equal(r.code, 0);
  });

  test('PINGREQ/PINGRESP and UNSUBSCRIBE are logged with -v', async () => {
    const port = await freePort();
    const b = broker(['--port', String(port), '-v']);
    await running(b);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'pinger', protocolVersion: 5, keepalive: 1, reconnectPeriod: 0 });
    try {
      await c.subscribeAsync('u/1');
      await c.unsubscribeAsync('u/1');
      await waitForLine(b, 'Received PINGREQ from pinger', 5000);
      await waitForLine(b, 'Sending PINGRESP to pinger');
      for (const l of ['Received UNSUBSCRIBE from pinger', '\tu/1', 'pinger u/1', 'Sending UNSUBACK to pinger']) await waitForLine(b, l);
    } finally {
      await c.endAsync();
    }
  });

  test('why a client left: closed connection, keep alive timeout, takeover (Mosquitto wording)', async () => {
    const port = await freePort();
    const b = broker(['--port', String(port)]);
    await running(b);
    const gone = await RawClient.connect(port, 4, { clientId: 'gone' });
    gone.client.destroy();
    await waitForLine(b, 'Client gone closed its connection.');
    const silent = await RawClient.connect(port, 5, { clientId: 'silent', keepalive: 1 });
    await waitForLine(b, 'Client silent has exceeded timeout, disconnecting.', 6000);
    silent.client.destroy();
    const first = await RawClient.connect(port, 4, { clientId: 'twice' });
    const second = await RawClient.connect(port, 4, { clientId: 'twice' });
    await waitForLine(b, 'Client twice already connected, closing old connection.');
    first.client.destroy();
    second.client.destroy();
  });

  test('without -v no packet lines, but clients coming and going are logged', async () => {
    const port = await freePort();
    const b = broker(['--port', String(port)]);
    await running(b);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'quiet', protocolVersion: 4, reconnectPeriod: 0 });
    await c.publishAsync('q/t', 'x', { qos: 1 });
    await c.endAsync();
    await waitForLine(b, 'Client quiet disconnected.');
    const lines = logLines(b);
    assert.ok(lines.some((l) => /^New client connected from 127\.0\.0\.1:\d+ as quiet \(p2, k60\)\.$/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith('Received ') || l.startsWith('Sending ')));
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} stops the broker cleanly with exit code 0, connected clients disconnected`, async () => {
      const port = await freePort();
      const b = broker(['--port', String(port)]);
      await running(b);
      const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
      });
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      const r = await b.kill(signal);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.signal, null);
      assert.ok(logLines({ ...b, stdout: () => r.stdout }).some((l) => l.includes('terminating')));
      await closed;
      c.end(true);
      await assert.rejects(waitForPort(port, '127.0.0.1', 300));
    });
  }

  test('a port in use: "Address already in use" with the port, exit code 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await run(process.execPath, [MAIN, 'broker', '--port', String(port)], 10_000);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`Error: Address already in use \\(127\\.0\\.0\\.1:${port}\\)`));
    } finally {
      blocker.close();
    }
  });

  test('-c with two listeners (TCP and WebSocket): both serve, the same broker behind them', { skip: skipNoMosquitto }, async () => {
    const tcp = await freePort();
    const ws = await freePort();
    const conf = tmpConf(
      [
        '# two listeners',
        `listener ${tcp} 127.0.0.1`,
        `listener ${ws} 127.0.0.1`,
        'protocol websockets',
        'max_keepalive 100',
        'no_such_option site/',
        'allow_anonymous true',
        '',
      ].join('\n'),
    );
    const b = broker(['-c', conf]);
    await running(b);
    assert.match(b.stderr(), new RegExp(`Warning: ${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 6: option 'no_such_option' is not supported yet and is ignored`));
    assert.ok(logLines(b).includes(`Config loaded from ${conf}.`));
    const viaWs = await mqtt.connectAsync(`ws://127.0.0.1:${ws}/`, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      await viaWs.subscribeAsync('two/t', { qos: 1 });
      const got = new Promise<string>((resolve) => viaWs.once('message', (_t, p) => resolve(p.toString())));
      const r = await run('mosquitto_pub', ['-p', String(tcp), '-t', 'two/t', '-m', 'tcp-to-ws', '-q', '1']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await got, 'tcp-to-ws');
    } finally {
      await viaWs.endAsync();
    }
    const stop = await b.kill('SIGTERM');
    assert.equal(stop.code, 0);
  });

  test('-c with max_keepalive: a 5.0 client asking for more is told the server keep alive', async () => {
    const port = await freePort();
    const b = broker(['-c', tmpConf(`listener ${port} 127.0.0.1\nallow_anonymous true\nmax_keepalive 15\n`)]);
    await running(b);
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, keepalive: 60, reconnectPeriod: 0 });
    try {
      const connack = await new Promise<{ properties?: { serverKeepAlive?: number } }>((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      assert.equal(connack.properties?.serverKeepAlive, 15);
    } finally {
      await c.endAsync();
    }
  });

  for (const [line, option] of [
    ['auth_plugin /usr/lib/auth.so', 'auth_plugin'],
    ['tls_engine pkcs11', 'tls_engine'],
  ]) {
    test(`a security option it cannot honour refuses to start: ${line}`, async () => {
      const port = await freePort();
      const conf = tmpConf(`listener ${port} 127.0.0.1\n${line}\n`);
      const r = await run(process.execPath, [MAIN, 'broker', '-c', conf], 10_000);
      assert.equal(r.code, 3);
      assert.ok(r.stderr.includes(`${conf} line 2: security option '${option}' is not supported yet`), r.stderr);
      assert.doesNotMatch(r.stdout, / running/);
      await assert.rejects(waitForPort(port, '127.0.0.1', 300), 'nothing listens');
    });
  }

  test('mqtt-hub pub and mqtt-hub sub (dispatched by main) talk through mqtt-hub broker', async () => {
    const port = await freePort();
    const b = broker(['--port', String(port)]);
    await running(b);
    const sub = start(process.execPath, [MAIN, 'sub', '-p', String(port), '-t', 'disp/#', '-C', '1', '-v', '-q', '1']);
    // Publish until the subscriber, once subscribed, has its message and exits.
    const deadline = Date.now() + 15_000;
    while (sub.child.exitCode === null) {
      assert.ok(Date.now() < deadline, `mqtt-hub sub did not receive: ${sub.stderr()}`);
      const p = await run(process.execPath, [MAIN, 'pub', '-p', String(port), '-t', 'disp/x', '-m', 'through-main', '-q', '1']);
      assert.equal(p.code, 0, p.stderr);
      await Promise.race([sub.exited, new Promise((r) => setTimeout(r, 300))]);
    }
    const r = await sub.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'disp/x through-main');
  });

  test('-c with log_type all logs packets as -v does; connection_messages false drops the connection lines', async () => {
    const port = await freePort();
    const b = broker(['-c', tmpConf(`listener ${port} 127.0.0.1\nallow_anonymous true\nlog_type all\nconnection_messages false\n`)]);
    await running(b);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'lt', protocolVersion: 4, reconnectPeriod: 0 });
    await c.publishAsync('lt/t', 'x', { qos: 1 });
    await c.endAsync();
    await waitForLine(b, 'Received DISCONNECT from lt');
    const lines = logLines(b);
    assert.ok(lines.some((l) => /^Received PUBLISH from lt \(d0, q1, r0, m\d+, 'lt\/t', \.\.\. \(1 bytes\)\)$/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith('New client connected') || l.startsWith('Client lt ')), lines.join('\n'));
  });

  test('a configuration error (bad value) names file and line and exits 3', async () => {
    const conf = tmpConf('listener 1883 127.0.0.1\nmax_keepalive forever\n');
    const r = await run(process.execPath, [MAIN, 'broker', '-c', conf], 10_000);
    assert.equal(r.code, 3);
    assert.ok(r.stderr.includes(`${conf} line 2: invalid value 'forever' for 'max_keepalive'`), r.stderr);
  });

  test('a missing configuration file exits 3', async () => {
    const r = await run(process.execPath, [MAIN, 'broker', '-c', '/definitely/not/here.conf'], 10_000);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /Unable to open config file/);
  });
});
