// Codec benchmark: encode and decode throughput of our codec against mqtt-packet (generate() and its
// parser) in the same run, on the same packets. Rounds alternate between the two; each cell is the
// median of its rounds.
import * as mqttPacket from 'mqtt-packet';
import { PacketDecoder, PublishEncoding, encode } from '../src/codec';
import type { Packet, ProtocolVersion } from '../src/codec';
import type { BenchOptions, BenchResult } from './types';

interface Case {
  name: string;
  version: ProtocolVersion;
  ours: Packet;
  theirs: Record<string, unknown>;
}

const payload = (n: number) => Buffer.alloc(n, 0x61);

function publishCase(name: string, size: number, qos: 0 | 1, version: ProtocolVersion): Case {
  return {
    name,
    version,
    ours: { type: 'publish', topic: 'sensors/house/kitchen/temperature', payload: payload(size), qos, retain: false, dup: false, packetId: qos ? 42 : undefined },
    theirs: { cmd: 'publish', topic: 'sensors/house/kitchen/temperature', payload: payload(size), qos, retain: false, dup: false, messageId: qos ? 42 : undefined },
  };
}

const cases: Case[] = [
  publishCase('PUBLISH 16 B QoS 0 (3.1.1)', 16, 0, 4),
  publishCase('PUBLISH 16 B QoS 0 (5.0)', 16, 0, 5),
  publishCase('PUBLISH 1 KiB QoS 1 (3.1.1)', 1024, 1, 4),
  publishCase('PUBLISH 64 KiB QoS 1 (3.1.1)', 65536, 1, 4),
  {
    name: 'SUBSCRIBE 3 filters (3.1.1)',
    version: 4,
    ours: {
      type: 'subscribe', packetId: 7,
      subscriptions: [{ topicFilter: 'a/+/c', qos: 1 }, { topicFilter: 'sensors/#', qos: 2 }, { topicFilter: '$SYS/broker/load', qos: 0 }],
    },
    theirs: {
      cmd: 'subscribe', messageId: 7,
      subscriptions: [{ topic: 'a/+/c', qos: 1 }, { topic: 'sensors/#', qos: 2 }, { topic: '$SYS/broker/load', qos: 0 }],
    },
  },
  {
    name: 'CONNECT with will and credentials (3.1.1)',
    version: 4,
    ours: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'bench-client-0001',
      username: 'user', password: Buffer.from('secret'), will: { topic: 'clients/bench/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    },
    theirs: {
      cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'bench-client-0001',
      username: 'user', password: Buffer.from('secret'), will: { topic: 'clients/bench/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    },
  },
];

let sink = 0; // keeps results alive so nothing is optimised away

type Op = (n: number) => void;

function encoders(c: Case): [Op, Op] {
  const opts = { protocolVersion: c.version };
  return [
    (n) => {
      for (let i = 0; i < n; i++) sink += encode(c.ours, c.version).length;
    },
    (n) => {
      const p = c.theirs as unknown as mqttPacket.Packet;
      for (let i = 0; i < n; i++) sink += mqttPacket.generate(p, opts).length;
    },
  ];
}

function decoders(c: Case): [Op, Op] {
  const bytes = encode(c.ours, c.version);
  // One decoder/parser per connection, as in real use; fed one packet per operation.
  const ours = new PacketDecoder({ protocolVersion: c.version });
  const theirs = mqttPacket.parser({ protocolVersion: c.version });
  theirs.on('packet', () => {
    sink++;
  });
  return [
    (n) => {
      for (let i = 0; i < n; i++) {
        ours.push(bytes);
        for (let p = ours.next(); p !== null; p = ours.next()) sink++;
      }
    },
    (n) => {
      for (let i = 0; i < n; i++) theirs.parse(bytes);
    },
  ];
}

/**
 * Fan-out: the same 1 KiB QoS 1 message to one more recipient, each with its own packet identifier.
 * Ours: one PublishEncoding, header patched per recipient, payload not copied (buffers()).
 * mqtt-packet: generate() per recipient, as a broker built on it does.
 */
function fanOut(): [Op, Op, number] {
  const payload1k = payload(1024);
  const enc = new PublishEncoding({ topic: 'sensors/house/kitchen/temperature', payload: payload1k });
  const recipient = { protocolVersion: 4 as const, qos: 1 as const, retain: false, packetId: 1 };
  const theirs = { cmd: 'publish', topic: 'sensors/house/kitchen/temperature', payload: payload1k, qos: 1, retain: false, dup: false, messageId: 1 };
  const opts = { protocolVersion: 4 };
  return [
    (n) => {
      for (let i = 0; i < n; i++) {
        recipient.packetId = (i & 0xfffe) + 1;
        sink += enc.buffers(recipient).length;
      }
    },
    (n) => {
      for (let i = 0; i < n; i++) {
        theirs.messageId = (i & 0xfffe) + 1;
        sink += mqttPacket.generate(theirs as unknown as mqttPacket.Packet, opts).length;
      }
    },
    enc.length(recipient),
  ];
}

/**
 * Operations per CPU second of `op` over one batch of `n`. CPU time rather than wall time: on a shared
 * machine the process is preempted at random, which wall time would charge to whoever ran then.
 */
function measure(op: Op, n: number): number {
  const start = process.cpuUsage();
  op(n);
  const used = process.cpuUsage(start);
  return (n * 1e6) / Math.max(used.user + used.system, 1);
}

/** How many operations take about `ms`. */
function calibrate(op: Op, ms: number): number {
  let n = 10;
  for (;;) {
    const start = process.hrtime.bigint();
    op(n);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (elapsed > ms / 4 || n > 1e8) return Math.max(1, Math.round((n * ms) / Math.max(elapsed, 0.001)));
    n *= 4;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const round2 = (x: number) => Math.round(x * 100) / 100;
const thousands = (x: number) => Math.round(x / 1000);

/** Medians of interleaved rounds: [ours ops/s, theirs ops/s]. */
async function compare(ours: Op, theirs: Op, rounds: number, roundMs: number): Promise<[number, number]> {
  const nOurs = calibrate(ours, roundMs);
  const nTheirs = calibrate(theirs, roundMs);
  const oursRates: number[] = [];
  const theirRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate who goes first, so drift in machine load hits both alike.
    if (r % 2 === 0) {
      oursRates.push(measure(ours, nOurs));
      theirRates.push(measure(theirs, nTheirs));
    } else {
      theirRates.push(measure(theirs, nTheirs));
      oursRates.push(measure(ours, nOurs));
    }
    await new Promise((resolve) => setImmediate(resolve)); // let the GC and the event loop breathe
  }
  return [median(oursRates), median(theirRates)];
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const rounds = opts.quick ? 5 : 11;
  const roundMs = opts.quick ? 60 : 200;
  const rows: (string | number)[][] = [];
  const row = (name: string, direction: string, size: number, a: number, b: number) =>
    rows.push([name, direction, size, thousands(a), thousands(b), round2((a * size) / 1e6), round2((b * size) / 1e6), round2(a / b)]);
  // Warm-up: every operation runs before any is measured, so the first case does not pay for the JIT.
  for (const c of cases) {
    for (const op of [...encoders(c), ...decoders(c)]) calibrate(op, roundMs);
  }
  for (const c of cases) {
    const size = encode(c.ours, c.version).length;
    const [encOurs, encTheirs] = encoders(c);
    row(c.name, 'encode', size, ...(await compare(encOurs, encTheirs, rounds, roundMs)));
    const [decOurs, decTheirs] = decoders(c);
    row(c.name, 'decode', size, ...(await compare(decOurs, decTheirs, rounds, roundMs)));
  }
  const [fanOurs, fanTheirs, fanSize] = fanOut();
  row('PUBLISH 1 KiB QoS 1 fan-out (PublishEncoding)', 'encode', fanSize, ...(await compare(fanOurs, fanTheirs, rounds, roundMs)));
  return {
    title: 'Codec: ours vs mqtt-packet (median of interleaved rounds)',
    columns: ['packet', 'dir', 'bytes', 'ours kops/s', 'mqtt-packet kops/s', 'ours MB/s', 'mqtt-packet MB/s', 'ratio'],
    rows,
    notes: [
      `${rounds} rounds of ~${roundMs} ms per side, rates per CPU second; ratio = ours / mqtt-packet; sink ${sink > 0 ? 'ok' : 'empty'}`,
      'decode: one decoder / parser per connection, fed one whole packet per operation',
      'fan-out: ours returns [header, payload] for writev (payload not copied); mqtt-packet generates each copy',
      `node ${process.version}, mqtt-packet ${(require('mqtt-packet/package.json') as { version: string }).version}`,
    ],
  };
}
