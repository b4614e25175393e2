// Client benchmark: publish throughput of our client next to MQTT.js, both against the same
// Mosquitto started here on a free port, MQTT 3.1.1, 64-byte payloads. Rounds alternate between
// the two clients; each cell is the median of its rounds.
//  - QoS 0: N publishes, then one QoS 1 publish as a barrier (Mosquitto handles a connection's
//    packets in order, so its PUBACK means all N were read); time to that PUBACK.
//  - QoS 1: N publishes at once; time until every PUBACK is in.
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mqtt from 'mqtt';
import { connect, MqttClient } from '../src/client';
import { freePort, waitForPort } from '../test/helpers/net';
import type { BenchOptions, BenchResult } from './types';

/** Mosquitto without the test helper's -v: logging every packet would make the broker the bottleneck. */
async function quietMosquitto(): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-bench-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, ['per_listener_settings false', 'allow_anonymous true', `listener ${port} 127.0.0.1`, 'log_type error', ''].join('\n'));
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  await waitForPort(port);
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) await new Promise<void>((resolve) => child.once('exit', () => resolve()).kill('SIGTERM'));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const payload = Buffer.alloc(64, 0x61);
const topic = 'bench/client/throughput';

interface Contender {
  name: string;
  qos0(n: number): Promise<void>;
  qos1(n: number): Promise<void>;
  close(): Promise<void>;
}

async function ours(url: string): Promise<Contender> {
  const client: MqttClient = connect(url, { reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return {
    name: 'mqtt-hub',
    qos0: async (n) => {
      for (let i = 0; i < n; i++) void client.publish(topic, payload);
      await client.publish(topic, payload, { qos: 1 });
    },
    qos1: async (n) => {
      const all: Promise<unknown>[] = new Array(n);
      for (let i = 0; i < n; i++) all[i] = client.publish(topic, payload, { qos: 1 });
      await Promise.all(all);
    },
    close: () => client.end(),
  };
}

async function mqttJs(url: string): Promise<Contender> {
  const client = mqtt.connect(url, { reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return {
    name: 'MQTT.js',
    qos0: async (n) => {
      for (let i = 0; i < n; i++) client.publish(topic, payload, { qos: 0 });
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    qos1: (n) =>
      new Promise<void>((resolve, reject) => {
        let left = n;
        const done = (err?: Error) => {
          if (err) reject(err);
          else if (--left === 0) resolve();
        };
        for (let i = 0; i < n; i++) client.publish(topic, payload, { qos: 1 }, done);
      }),
    close: () => client.endAsync(),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function rate(op: (n: number) => Promise<void>, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await op(n);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / seconds;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const rounds = opts.quick ? 3 : 7;
  const n0 = opts.quick ? 20000 : 100000;
  const n1 = opts.quick ? 5000 : 20000;
  const mq = await quietMosquitto();
  const url = `mqtt://127.0.0.1:${mq.port}`;
  const contenders = [await ours(url), await mqttJs(url)];
  const results = new Map<string, number[]>();
  const record = (key: string, v: number) => results.set(key, [...(results.get(key) ?? []), v]);
  try {
    // Two warm-up rounds each, not counted, so both run JIT-compiled code.
    for (let w = 0; w < 2; w++) {
      for (const c of contenders) {
        await c.qos0(n0);
        await c.qos1(n1);
      }
    }
    for (let r = 0; r < rounds; r++) {
      // Alternate who goes first, so neither always runs on a warmer (or busier) broker.
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        record(`${c.name} qos0`, await rate(c.qos0, n0));
        record(`${c.name} qos1`, await rate(c.qos1, n1));
      }
    }
  } finally {
    for (const c of contenders) await c.close();
    await mq.stop();
  }
  const row = (label: string, key: string, n: number): (string | number)[] => {
    const a = median(results.get(`mqtt-hub ${key}`) ?? []);
    const b = median(results.get(`MQTT.js ${key}`) ?? []);
    return [label, n, Math.round(a), Math.round(b), Number((a / b).toFixed(2))];
  };
  return {
    title: 'Client publish throughput against Mosquitto (MQTT 3.1.1, 64 B payload, one connection)',
    columns: ['case', 'messages', 'mqtt-hub msg/s', 'MQTT.js msg/s', 'ratio'],
    rows: [row('QoS 0 until a QoS 1 barrier is acknowledged', 'qos0', n0), row('QoS 1 all at once until every PUBACK', 'qos1', n1)],
    notes: [
      `median of ${rounds} interleaved rounds after two warm-up rounds each; ratio = mqtt-hub / MQTT.js`,
      'both clients talk to the same Mosquitto over loopback; the broker is in every number',
    ],
  };
}
