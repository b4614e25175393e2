// The broker bench's Node-RED launcher: our broker node in a real Node-RED child process, started
// like the other brokers under test, measured by one tiny scenario, and stopped with its user dir
// removed and no process left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { run } from '../../bench/broker.bench';
import { startBroker } from '../../bench/load/brokers';
import { liveChildren } from '../../bench/load/children';
import { LoadConnection } from '../../bench/load/load-connection';
import { nodeRedProblem } from '../../bench/load/nodered-broker';
import { freePort, waitUntil } from '../helpers/net';

/** Running or sleeping; a zombie waiting to be reaped counts as gone. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Live children of this test process that are a Node-RED (which sets its process title to node-red). */
function benchNodeRedChildren(): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const title = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0];
      if (parent === process.pid && running(Number(entry)) && title === 'node-red') out.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

test('the node-red launcher runs one broker node in a Node-RED process and removes it on stop', { timeout: 90_000 }, async () => {
  const port = await freePort();
  const broker = await startBroker('node-red', port);
  let userDir = '';
  try {
    assert.equal(broker.kind, 'node-red');
    assert.deepEqual(benchNodeRedChildren(), [broker.pid], 'Node-RED itself is the broker process');
    userDir = broker.dir ?? '';
    assert.match(userDir, /mqtt-hub-bench-nodered-/);
    const flow = JSON.parse(fs.readFileSync(`${userDir}/flows.json`, 'utf8')) as Array<Record<string, unknown>>;
    const nodes = flow.filter((n) => n.type === 'mqtt-hub-broker');
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].port, String(port));
    assert.ok(broker.residentBytes() > 0, 'its RSS can be read');
    // The node's broker answers, as startBroker's own probe already required.
    const client = await LoadConnection.open({ port, clientId: 'nodered-bench-test', timeoutMs: 5000 });
    client.close();
  } finally {
    await broker.stop();
  }
  assert.ok(!running(broker.pid), `Node-RED (pid ${broker.pid}) stopped`);
  assert.ok(userDir !== '' && !fs.existsSync(userDir), `user dir ${userDir} removed`);
});

test('a broker bench smoke run of the Node-RED broker tabulates it against the CLI and stops its processes', { timeout: 120_000 }, async () => {
  const progress: string[] = [];
  const result = await run({ quick: true, smoke: true, brokers: ['node-red'], scenarios: ['fan-in'], log: (line) => progress.push(line) });

  const column = (name: string): number => result.columns.indexOf(name);
  assert.ok(column('in Node-RED') > 0 && column('Node-RED / CLI') > 0, result.columns.join(', '));
  assert.deepEqual((result.notes ?? []).filter((n) => /failed|skipped/.test(n)), []);
  assert.equal(result.rows.length, 1);
  const row = result.rows[0];
  const rate = row[column('in Node-RED')];
  assert.ok(typeof rate === 'number' && rate > 0, `fan-in in Node-RED measured ${rate}`);
  // The CLI was not asked for: no value and no ratio.
  assert.equal(row[column('mqtt-hub')], '-');
  assert.equal(row[column('Node-RED / CLI')], '-');
  assert.equal(progress.filter((l) => l.includes('· mqtt-hub in Node-RED: ')).length, 1);
  assert.deepEqual(liveChildren(), []);
  assert.deepEqual(benchNodeRedChildren(), []);
});

test('a port taken before the broker node listens: the node\'s error line says so and the launcher moves to another free port', { timeout: 90_000 }, async (t) => {
  // Something else holds the port and never answers MQTT: the broker node fails to listen while
  // the port still accepts TCP, so only Node-RED's log can say what went wrong.
  const held = new Set<net.Socket>();
  const squatter = net.createServer((s) => {
    s.on('error', () => {});
    held.add(s);
  });
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of held) s.destroy();
    squatter.close();
  });
  const taken = (squatter.address() as net.AddressInfo).port;
  const broker = await startBroker('node-red', taken);
  t.after(() => broker.stop());
  assert.notEqual(broker.port, taken);
  assert.doesNotMatch(broker.output(), /\[error\]/, 'the Node-RED that runs started cleanly');
  const client = await LoadConnection.open({ port: broker.port, clientId: 'nodered-bench-retry', timeoutMs: 5000 });
  client.close();
  await broker.stop();
  await waitUntil(() => benchNodeRedChildren().length === 0, 5000, 'no Node-RED left');
  assert.deepEqual(liveChildren(), []);
});

test('what Node-RED prints when the broker cannot come up is named in one line', () => {
  // Lines as Node-RED 4 prints them.
  const log = (lines: string[]): string => lines.map((l) => `26 Nov 13:23:54 - ${l}`).join('\n');
  assert.equal(nodeRedProblem(log(['[info] Started flows'])), null);
  assert.equal(
    nodeRedProblem(log(['[info] Started flows', '[error] [mqtt-hub-broker:bench] Cannot listen on port 40000: it is in use by another program'])),
    '[mqtt-hub-broker:bench] Cannot listen on port 40000: it is in use by another program',
  );
  assert.equal(
    nodeRedProblem(log(['[warn] ------------------------------------------------------', '[warn] [@mqtt-hub/node-red/mqtt-hub-broker] Error: broken build (line:1)', '[warn] Using unencrypted credentials'])),
    '[@mqtt-hub/node-red/mqtt-hub-broker] Error: broken build (line:1)',
  );
  assert.equal(
    nodeRedProblem(log(['[warn] Using unencrypted credentials', '[info] Waiting for missing types to be registered:', '[info]  - mqtt-hub-broker', '[info] Server now running at http://127.0.0.1:39495/'])),
    'Node-RED did not load node types (mqtt-hub-broker): its flow waits for them',
  );
});
