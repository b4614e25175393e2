// Retained messages: store N retained messages (QoS 1, so the broker has them all before we go on),
// then time how long a new subscriber to '#' takes to receive all of them.
import type { RetainedJob, RetainedResult } from './jobs';
import { PUBACK, PUBLISH } from './frames';
import { generate } from 'mqtt-packet';
import { LoadConnection } from './load-connection';
import { cpuMeter } from './proc';
import { makePayload } from './window';

const IN_FLIGHT = 64;
const STORE_TIMEOUT_MS = 60_000;
const DELIVERY_TIMEOUT_MS = 60_000;

async function storeRetained(job: RetainedJob): Promise<void> {
  const payload = makePayload(job.payloadSize);
  const publisher = await LoadConnection.open({ port: job.port, clientId: 'bench-retained-pub' });
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let acked = 0;
      const timer = setTimeout(() => reject(new Error(`only ${acked} of ${job.messages} retained PUBLISH acknowledged`)), STORE_TIMEOUT_MS);
      const send = (count: number): void => {
        const packets: Buffer[] = [];
        for (let k = 0; k < count && next < job.messages; k++, next++) {
          packets.push(generate({ cmd: 'publish', topic: `bench/retained/${next}`, payload, qos: 1, dup: false, retain: true, messageId: (next % 65535) + 1 }));
        }
        if (packets.length > 0) publisher.write(Buffer.concat(packets));
      };
      publisher.onPacket = (first) => {
        if (first >> 4 !== PUBACK) return;
        acked++;
        if (acked === job.messages) {
          clearTimeout(timer);
          resolve();
        } else send(1);
      };
      publisher.socket.on('close', () => reject(publisher.error ?? new Error('publisher closed')));
      send(IN_FLIGHT);
    });
  } finally {
    publisher.close();
  }
}

export async function runRetained(job: RetainedJob): Promise<RetainedResult> {
  await storeRetained(job);
  const subscriber = await LoadConnection.open({ port: job.port, clientId: 'bench-retained-sub' });
  try {
    return await new Promise<RetainedResult>((resolve, reject) => {
      let received = 0;
      const timer = setTimeout(() => reject(new Error(`only ${received} of ${job.messages} retained messages delivered`)), DELIVERY_TIMEOUT_MS);
      let start = 0n;
      let meter: ReturnType<typeof cpuMeter> | null = null;
      subscriber.onPacket = (first) => {
        // Retained messages sent because of a new subscription have RETAIN set [MQTT-3.3.1-8].
        if (first >> 4 !== PUBLISH || (first & 1) === 0) return;
        if (++received === job.messages) {
          const deliveryMs = Number(process.hrtime.bigint() - start) / 1e6;
          clearTimeout(timer);
          resolve({ deliveryMs, ...meter!() });
        }
      };
      subscriber.socket.on('close', () => reject(subscriber.error ?? new Error('subscriber closed')));
      start = process.hrtime.bigint();
      meter = cpuMeter(job.brokerPid);
      subscriber.subscribeNoWait('#', 0);
    });
  } finally {
    subscriber.close();
  }
}
