// Full deploys: Node-RED closes and recreates every node, the connection config node too. With the
// connection's settings unchanged the new config node takes the live client over, so the broker sees
// no new CONNECT and retained messages do not fire again; changed settings reconnect; a client nobody
// takes over is ended; in nodes removed by the deploy are unsubscribed; nothing leaks.
import { afterEach, beforeEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { createBroker, type Broker } from '../../src/broker';
import { pendingHandovers } from '../../nodes/lib/connection-handover';
import { freePort, waitUntil } from '../helpers/net';
import { allNodes, collect, helper, logLines, trackStatuses, waitForStatus, type Msg } from './harness';

trackStatuses();

function sockets(port: number): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h instanceof net.Socket && !h.destroyed && (h.remotePort === port || h.localPort === port)).length;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

interface FlowOptions {
  keepalive?: string;
  connectionName?: string;
  /** A second in node on `other/#`. */
  second?: boolean;
}

describe('full deploys hand the connection over', () => {
  let broker: Broker;
  let port: number;
  let connects: string[];
  let disconnects: Array<{ id: string; reason: string }>;
  let subscribes: string[];
  /** Connects and disconnects in the order the broker saw them. */
  let sequence: string[];
  let unsubscribes: string[];

  beforeEach(async () => {
    port = await freePort();
    broker = createBroker({ listeners: [{ host: '127.0.0.1', port }], sysInterval: 0 });
    connects = [];
    disconnects = [];
    subscribes = [];
    unsubscribes = [];
    sequence = [];
    broker.on('clientConnected', (info) => {
      connects.push(info.id);
      sequence.push(`connect ${info.id}`);
    });
    broker.on('clientDisconnected', (info, reason) => {
      disconnects.push({ id: info.id, reason });
      sequence.push(`disconnect ${info.id}`);
    });
    broker.on('subscribed', (_id, subs) => subscribes.push(...subs.map((s: { topicFilter: string }) => s.topicFilter)));
    broker.on('unsubscribed', (_id, filters) => unsubscribes.push(...filters));
    await broker.listen();
    await broker.publish({ topic: 'fd/state', payload: Buffer.from('retained-1'), qos: 1, retain: true });
  });

  afterEach(async () => {
    await helper.unload();
    await broker.close();
  });

  function flow(o: FlowOptions = {}): Record<string, unknown>[] {
    const nodes: Record<string, unknown>[] = [
      { id: 'f1', type: 'tab', label: 'test' },
      {
        id: 'conn', type: 'mqtt-hub-connection', name: o.connectionName ?? 'c', serverType: 'host', host: '127.0.0.1', port: String(port),
        protocolVersion: '5', reconnectPeriod: '100', keepalive: o.keepalive ?? '60',
      },
      { id: 'in', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'fd/#', qos: '1', datatype: 'utf8', wires: [['rx']] },
      { id: 'rx', z: 'f1', type: 'helper' },
    ];
    if (o.second) {
      nodes.push(
        { id: 'in2', z: 'f1', type: 'mqtt-hub-in', broker: 'conn', topic: 'other/#', qos: '1', datatype: 'utf8', wires: [['rx2']] },
        { id: 'rx2', z: 'f1', type: 'helper' },
      );
    }
    return nodes;
  }

  async function firstDeploy(o: FlowOptions = {}): Promise<void> {
    await helper.load(allNodes, flow(o));
    const rx = collect(helper.getNode('rx'));
    await waitUntil(() => rx.length === 1, 5000, 'retained on the first deploy');
    assert.equal(rx[0].payload, 'retained-1');
    assert.deepEqual(connects.length, 1);
  }

  /** A fence message published after the deploy: whatever the in node got before it is in `rx`. */
  async function fence(rx: Msg[], text: string): Promise<void> {
    await broker.publish({ topic: 'fd/fence', payload: Buffer.from(text), qos: 1 });
    await waitUntil(() => rx.some((m) => m.payload === text), 5000, `fence ${text}`);
  }

  test('a full deploy of the same flow: no new CONNECT, no SUBSCRIBE, the retained message does not fire again', async () => {
    await firstDeploy();
    const subscribedBefore = subscribes.length;
    await helper.setFlows(flow(), 'full');
    const rx = collect(helper.getNode('rx'));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected after the deploy');
    await fence(rx, 'fence-1');
    assert.deepEqual(rx.map((m) => m.payload), ['fence-1'], 'no retained message again, nothing lost');
    assert.equal(connects.length, 1, 'no new CONNECT');
    assert.equal(disconnects.length, 0, 'no DISCONNECT');
    assert.equal(subscribes.length, subscribedBefore, 'no SUBSCRIBE');
    assert.deepEqual(unsubscribes, [], 'no UNSUBSCRIBE');
    assert.equal(broker.clients().length, 1);
    assert.equal(pendingHandovers(), 0, 'the handover was taken');

    // "Modified flows" with only the connection node's name changed: it restarts, the client stays.
    await helper.setFlows(flow({ connectionName: 'renamed' }), 'flows');
    const rx2 = collect(helper.getNode('rx'));
    await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', 'connected after the modified-flows deploy');
    await fence(rx2, 'fence-2');
    assert.deepEqual(rx2.map((m) => m.payload), ['fence-2']);
    assert.equal(connects.length, 1, 'no new CONNECT');
    assert.equal(subscribes.length, subscribedBefore, 'no SUBSCRIBE');
  });

  test('control: changed connection settings end the old client with DISCONNECT, reconnect, and the retained message arrives', async () => {
    await firstDeploy();
    await helper.setFlows(flow({ keepalive: '30' }), 'full');
    const rx = collect(helper.getNode('rx'));
    await waitUntil(() => rx.some((m) => m.payload === 'retained-1'), 5000, 'retained after the reconnect');
    assert.equal(rx.find((m) => m.payload === 'retained-1')?.retain, true);
    assert.equal(connects.length, 2, 'a new CONNECT');
    await waitUntil(() => broker.clients().length === 1, 5000, 'one client left');
    await waitUntil(() => disconnects.length === 1, 5000, 'the old client left');
    assert.equal(disconnects[0].reason, 'disconnect', 'with a DISCONNECT');
    // The new client dials only once the old one is gone: never two connections at once.
    assert.deepEqual(sequence, [`connect ${connects[0]}`, `disconnect ${connects[0]}`, `connect ${connects[1]}`]);
    assert.equal(pendingHandovers(), 0);
  });

  test('an in node removed by a full deploy is unsubscribed; the kept one keeps its subscription', async () => {
    await firstDeploy({ second: true });
    await waitUntil(() => subscribes.includes('other/#'), 5000, 'second subscription');
    const subscribedBefore = subscribes.length;
    await helper.setFlows(flow(), 'full');
    const rx = collect(helper.getNode('rx'));
    await waitUntil(() => unsubscribes.includes('other/#'), 5000, 'UNSUBSCRIBE of the removed node');
    await fence(rx, 'fence-r');
    assert.deepEqual(rx.map((m) => m.payload), ['fence-r']);
    assert.deepEqual(unsubscribes, ['other/#']);
    assert.equal(subscribes.length, subscribedBefore, 'no SUBSCRIBE');
    assert.equal(connects.length, 1, 'no new CONNECT');
  });

  test('a client nobody takes over is ended after the grace period: DISCONNECT, no socket, no timer left', async () => {
    await firstDeploy();
    const baseTimers = timers();
    const conn = helper.getNode('conn') as unknown as { close(removed: boolean): Promise<void> };
    // Closed for a redeploy that never brings it back: done comes at once, the client waits.
    await conn.close(false);
    assert.equal(pendingHandovers(), 1);
    assert.equal(broker.clients().length, 1, 'still connected while a successor may come');
    await waitUntil(() => disconnects.length === 1, 15_000, 'the unclaimed client ended');
    assert.equal(disconnects[0].reason, 'disconnect');
    assert.equal(pendingHandovers(), 0);
    await waitUntil(() => sockets(port) === 0, 5000, 'no socket left');
    assert.ok(timers() < baseTimers, `timers: ${timers()} after, ${baseTimers} before`);
  });

  test('twenty full deploys: one CONNECT, one client, no leaked sockets or timers, no close timeouts', async () => {
    await firstDeploy();
    const baseTimers = timers();
    for (let n = 1; n <= 20; n++) {
      await helper.setFlows(flow({ connectionName: `c${n % 2}` }), 'full');
      const rx = collect(helper.getNode('rx'));
      await waitForStatus(helper.getNode('in'), (s) => s.fill === 'green', `connected after deploy ${n}`);
      await fence(rx, `m${n}`);
      assert.deepEqual(rx.map((m) => m.payload), [`m${n}`], `deploy ${n}: no retained message again`);
      assert.equal(pendingHandovers(), 0);
    }
    assert.equal(connects.length, 1, 'one CONNECT in all');
    assert.equal(broker.clients().length, 1);
    assert.equal(sockets(port), 2, 'one connection (both ends)');
    assert.ok(timers() <= baseTimers + 1, `timers: ${timers()} after, ${baseTimers} before`);
    assert.equal(logLines().filter((l) => /timed out/i.test(l.msg)).length, 0, 'no close timeouts');
    // Stopping the runtime (not a deploy) leaves no successor: the client ends at once, cleanly.
    await helper.unload();
    await waitUntil(() => broker.clients().length === 0, 5000, 'client gone after unload');
    assert.deepEqual(disconnects.map((d) => d.reason), ['disconnect']);
    assert.equal(pendingHandovers(), 0);
    await waitUntil(() => sockets(port) === 0, 5000, 'no socket after unload');
  });
});
