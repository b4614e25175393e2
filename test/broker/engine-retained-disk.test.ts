// Engine: a retained message kept as its 3.1.1 PUBLISH (for new subscriptions) is written to a
// DiskStore with its fields only: not a second time as that packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBroker } from '../../src/broker';
import { DiskStore } from '../../src/persistence';

function directoryBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

test('1,000 retained 64-byte messages take about their own size in a DiskStore, and come back after a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-retained-disk-'));
  try {
    const count = 1000;
    const first = await DiskStore.open({ directory: dir });
    const broker = createBroker({ listeners: [], store: first, sysInterval: 0 });
    await broker.listen();
    for (let i = 0; i < count; i++) await broker.publish({ topic: `site/${i}`, payload: Buffer.alloc(64, i % 256), qos: 1, retain: true });
    await broker.close();
    await first.close();
    // each record: the 64-byte payload, its topic and some 30 bytes of framing and field names (about 105
    // bytes now); the packet written too would add the payload again
    const perMessage = directoryBytes(dir) / count;
    assert.ok(perMessage < 140, `${perMessage.toFixed(0)} bytes per retained message`);
    const second = await DiskStore.open({ directory: dir });
    try {
      const restored = await second.matchRetained('site/#');
      assert.equal(restored.length, count);
      assert.deepEqual(restored.find((m) => m.topic === 'site/7')?.payload, Buffer.alloc(64, 7));
    } finally {
      await second.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
