// Defects found by the abuse runs, kept as regression tests: a client dribbling bytes into an unfinished
// packet is not "active" for keepalive, and kept payloads (retained, queued) do not pin the socket chunk
// they were read from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess, MB } from './helpers/broker-process';
import { RawMqtt } from './helpers/raw-mqtt';

async function closedWithin(c: RawMqtt, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!c.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return c.closed;
}

test('a client dribbling an incomplete packet is disconnected after 1.5 x keepalive [MQTT-3.1.2-24]', async () => {
  const broker = await BrokerProcess.start({});
  try {
    const c = await RawMqtt.connect(broker.port, 4, { keepalive: 1 });
    c.socket.write(Buffer.from([0x30, 0xe8, 0x07])); // PUBLISH, Remaining Length 1000, then one byte at a time
    const drip = setInterval(() => c.socket.write(Buffer.from([0x00])), 300);
    try {
      // 1.5 s is the rule; 8 s leaves room for a busy machine, and the dribble alone would go on for ever
      assert.ok(await closedWithin(c, 8000), 'still connected after 8 s with keepalive 1 s and no complete packet');
    } finally {
      clearInterval(drip);
      c.destroy();
    }
  } finally {
    await broker.stop();
  }
});

test('2,000 one-byte retained messages, each read with 60 KB of other traffic, hold less than 16 MB of buffers', async (t) => {
  const broker = await BrokerProcess.start({});
  try {
    const p = await RawMqtt.connect(broker.port, 4, {}, ['puback']);
    const junk = Buffer.alloc(60 * 1024, 1);
    for (let i = 0; i < 2000; i++) {
      const a = p.encode({ cmd: 'publish', topic: 'junk', payload: junk, qos: 0, retain: false, dup: false });
      const r = p.encode({ cmd: 'publish', topic: `r/${i}`, payload: Buffer.from('v'), qos: 1, messageId: 1 + i, retain: true, dup: false });
      p.socket.write(Buffer.concat([a, r]));
      await p.until(() => p.count('puback') === i + 1, 10000, 'PUBACK');
    }
    p.destroy();
    // the closed socket's last chunks go at a later collection: sample a few times, a pinned chunk never goes
    let s = await broker.stats(true);
    for (let i = 0; i < 10 && s.arrayBuffers >= 16 * MB; i++) {
      await new Promise((r) => setTimeout(r, 200));
      s = await broker.stats(true);
    }
    t.diagnostic(`arrayBuffers ${(s.arrayBuffers / MB).toFixed(1)} MB, RSS ${(s.rss / MB).toFixed(0)} MB`);
    assert.ok(s.arrayBuffers < 16 * MB, `buffers held: ${(s.arrayBuffers / MB).toFixed(0)} MB for 2,000 bytes of retained payload`);
  } finally {
    await broker.stop();
  }
});
