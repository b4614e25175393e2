// Node-RED under faults, with the built nodes loaded by Node-RED's test helper (as the node tests do):
// redeploys while traffic flows, a broker node removed under connected clients, a flow that throws
// downstream of an in node, and a connection to a host that accepts TCP and never answers. Each test
// counts sockets, listening servers, timers and process listeners before and after: a fault must not
// leave any of them behind. Waits are on conditions with timeouts, never on durations.
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import mqtt from 'mqtt';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, coreNode, helper, logLines, trackStatuses, waitForStatus } from '../nodes/harness';

trackStatuses();

const functionNode = coreNode('function/10-function.js');

function activeHandles(): unknown[] {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
}

/** Open sockets with a peer on `port` (either end), so both ends of an in-process link count. */
function sockets(port: number): number {
  return activeHandles().filter(
    (h) => h instanceof net.Socket && !h.destroyed && (h.remotePort === port || h.localPort === port),
  ).length;
}

function servers(): number {
  return activeHandles().filter((h) => h instanceof net.Server && h.listening).length;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Listeners on the process itself: a node that registers one per deploy and never removes it leaks. */
function processListeners(): number {
  return process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0);
}

interface Baseline {
  servers: number;
  timers: number;
  listeners: number;
}

function baseline(): Baseline {
  return { servers: servers(), timers: timers(), listeners: processListeners() };
}

/** After unload: nothing on `port`, and servers, timers and process listeners back to the baseline. */
async function assertNoLeaks(base: Baseline, ports: number[], what: string): Promise<string> {
  for (const port of ports) await waitUntil(() => sockets(port) === 0, 5000, `${what}: no sockets on ${port}`);
  await waitUntil(() => servers() <= base.servers, 5000, `${what}: listeners closed (${servers()} vs ${base.servers})`);
  // Timers a closing socket or client still holds go away with it; wait rather than sample once.
  await waitUntil(() => timers() <= base.timers, 5000, `${what}: timers ${timers()} vs ${base.timers}`).catch(() => undefined);
  assert.ok(timers() <= base.timers, `${what}: timers ${timers()} after, ${base.timers} before`);
  assert.ok(processListeners() <= base.listeners, `${what}: process listeners ${processListeners()} after, ${base.listeners} before`);
  // Reported with the test, so a run shows what was counted and not only that it passed.
  return `${what}: sockets 0 on ${ports.join(', ')}; servers ${servers()}/${base.servers}, timers ${timers()}/${base.timers}, process listeners ${processListeners()}/${base.listeners} (after/before)`;
}

/** Node-RED's unload must finish, not hang on a socket that never answers. */
async function unloadPromptly(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    helper.unload(),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('unload did not finish within 10 s')), 10_000);
    }),
  ]).finally(() => clearTimeout(timer));
}

function brokerFlow(port: number, name: string, extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return [
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'broker', z: 'f1', type: 'mqtt-hub-broker', name, port: String(port), sysInterval: '0', wires: [[]] },
    { id: 'conn', type: 'mqtt-hub-connection', serverType: 'broker-node', brokerNode: 'broker', protocolVersion: '5', reconnectPeriod: '100' },
    ...extra,
  ];
}

describe('Node-RED under faults', () => {
  const clients: mqtt.MqttClient[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
    await helper.unload().catch(() => undefined);
    for (const f of cleanups.splice(0)) await f();
  });

  test('redeploys (full and changed nodes) while MQTT.js and out-node traffic flows through a broker node', async (t) => {
    const port = await freePort();
    const base = baseline();
    const flow = (n: number) =>
      brokerFlow(port, n % 2 === 0 ? 'b' : 'b-renamed', [
        { id: 'in', z: 'f1', type: 'mqtt-hub-in', name: `in${n}`, broker: 'conn', topic: 'rd/#', datatype: 'utf8', wires: [['rx']] },
        { id: 'rx', z: 'f1', type: 'helper' },
        { id: 'out', z: 'f1', type: 'mqtt-hub-out', name: `out${n}`, broker: 'conn', topic: 'rd/out', qos: '1', wires: [] },
      ]);
    await helper.load(allNodes, flow(0));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected');
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 50 });
    clients.push(pub);
    // Traffic keeps coming through every redeploy; the publisher reconnects when the broker restarts.
    let seq = 0;
    const traffic = setInterval(() => {
      if (pub.connected) pub.publish('rd/ext', `e${seq++}`, { qos: 0 });
    }, 5);
    try {
      for (let n = 1; n <= 8; n++) {
        // Odd: only the in and out nodes change (the broker keeps running); even: everything restarts.
        await helper.setFlows(flow(n), n % 2 === 0 ? 'full' : 'nodes');
        const rx = collect(helper.getNode('rx'));
        await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', `in connected after deploy ${n}`, 8000);
        await waitUntil(() => rx.some((m) => String(m.payload).startsWith('e')), 8000, `external traffic after deploy ${n}`);
        await waitUntil(async () => {
          helper.getNode('out').receive({ payload: `o${n}` });
          await new Promise((r) => setTimeout(r, 20));
          return rx.some((m) => m.payload === `o${n}`);
        }, 8000, `out-node message after deploy ${n}`);
      }
    } finally {
      clearInterval(traffic);
    }
    await pub.endAsync();
    clients.splice(0);
    await unloadPromptly();
    t.diagnostic(await assertNoLeaks(base, [port], 'after redeploys'));
  });

  test('removing a broker node with MQTT.js clients connected: they get DISCONNECT or close, Node-RED keeps running', async (t) => {
    const port = await freePort();
    const base = baseline();
    await helper.load(allNodes, brokerFlow(port, 'b', [
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'rm/#', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
    ]));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected');
    const ended: string[] = [];
    for (const protocolVersion of [5, 4, 5] as const) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion, reconnectPeriod: 0 });
      clients.push(c);
      await c.subscribeAsync('rm/#', { qos: 1 });
      let seen = false;
      const mark = (how: string) => {
        if (!seen) ended.push(how);
        seen = true;
      };
      c.on('disconnect', (p) => mark(`disconnect 0x${(p.reasonCode ?? 0).toString(16)}`));
      c.on('close', () => mark('close'));
    }
    // The whole flow goes: broker, connection and in node all stop with clients still attached.
    await helper.setFlows([{ id: 'f1', type: 'tab', label: 'test' }], 'full');
    await waitUntil(() => ended.length === 3, 8000, `all three clients told (${ended.join(', ')})`);
    t.diagnostic(`clients ended by: ${ended.join(', ')}`);
    // The two 5.0 clients are told why (Server shutting down); the 3.1.1 one can only see the close.
    assert.equal(ended.filter((e) => e === 'disconnect 0x8b').length, 2, ended.join(', '));
    await waitUntil(() => sockets(port) === 0, 5000, 'no sockets left on the removed broker port');
    assert.equal(servers(), base.servers, 'the listener is closed');

    // Node-RED is still running: a new broker node on the same port deploys and carries traffic.
    await helper.setFlows(brokerFlow(port, 'again', [
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'rm/#', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
    ]), 'full');
    const rx = collect(helper.getNode('rx'));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected to the new broker', 8000);
    const again = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(again);
    await waitUntil(async () => {
      await again.publishAsync('rm/x', 'alive', { qos: 1 });
      return rx.some((m) => m.payload === 'alive');
    }, 5000, 'traffic through the new broker node');
    for (const c of clients.splice(0)) await c.endAsync();
    await unloadPromptly();
    t.diagnostic(await assertNoLeaks(base, [port], 'after broker removal'));
  });

  test('a function node that throws downstream of an in node: the error is logged, later messages keep arriving', async (t) => {
    const port = await freePort();
    const base = baseline();
    await helper.load([...allNodes, functionNode], brokerFlow(port, 'b', [
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'th/#', qos: '1', datatype: 'utf8', wires: [['fn']] },
      {
        id: 'fn', z: 'f1', type: 'function', name: 'thrower', outputs: 1,
        func: "if (msg.payload.startsWith('bad')) { throw new Error('boom ' + msg.payload); }\nreturn msg;",
        wires: [['rx']],
      },
      { id: 'rx', z: 'f1', type: 'helper' },
    ]));
    const rx = collect(helper.getNode('rx'));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected');
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(pub);
    for (let i = 0; i < 20; i++) {
      await pub.publishAsync('th/x', i % 2 === 0 ? `bad${i}` : `good${i}`, { qos: 1 });
    }
    const goods = Array.from({ length: 10 }, (_, k) => `good${2 * k + 1}`);
    await waitUntil(() => goods.every((g) => rx.some((m) => m.payload === g)), 8000, 'every good message after the throws');
    assert.ok(!rx.some((m) => String(m.payload).startsWith('bad')), 'nothing past the throw');
    await waitUntil(() => logLines().filter((l) => /boom bad/.test(l.msg)).length === 10, 5000, 'each throw logged');
    assert.equal(helper.getNode('in')._lastStatus && (helper.getNode('in')._lastStatus as { fill?: string }).fill, 'green', 'in node still connected');
    for (const c of clients.splice(0)) await c.endAsync();
    await unloadPromptly();
    t.diagnostic(await assertNoLeaks(base, [port], 'after throwing flow'));
  });

  test('a connection to a host that accepts TCP and never answers: connecting then disconnected, prompt close, no leaks', async (t) => {
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      // Accept and read, never write: no CONNACK ever comes.
      held.add(s);
      s.on('close', () => held.delete(s));
      s.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of held) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const base = baseline();
    await helper.load(allNodes, [
      { id: 'f1', type: 'tab', label: 'test' },
      { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(port), protocolVersion: '5', connectTimeout: '1000', reconnectPeriod: '100' },
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'bh/#', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
      { id: 'out', z: 'f1', type: 'mqtt-hub-out', broker: 'conn', topic: 'bh/t', wires: [] },
    ]);
    await waitUntil(() => held.size > 0, 5000, 'the connection reaches the silent host');
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'yellow', 'connecting status');
    // The connect timeout gives up on the silent host and the node says so.
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'red', 'disconnected status after the connect timeout', 8000);
    // Node-RED keeps running: a message to the out node is taken without a crash while offline.
    helper.getNode('out').receive({ payload: 'while offline' });
    await unloadPromptly();
    // Our client ends of the link are gone (the silent server's own ends are cleaned up after).
    await waitUntil(
      () => activeHandles().filter((h) => h instanceof net.Socket && !h.destroyed && h.remotePort === port).length === 0,
      5000,
      'no client socket to the silent host',
    );
    for (const s of held) s.destroy();
    t.diagnostic(await assertNoLeaks(base, [port], 'after silent host'));
  });
});
