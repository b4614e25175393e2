// Latency at a fixed rate: publisher and subscriber in one process so both read the same clock. Each
// PUBLISH carries its send time (process.hrtime, ns) in the first 8 payload bytes.
import type { LatencyJob, LatencyResult } from './jobs';
import { AckBatch, PUBACK, PUBLISH, PublishTemplate, publishPacketIdOffset } from './frames';
import { LoadConnection } from './load-connection';
import { percentileSorted } from './stats';
import { cpuMeter } from './proc';
import { makePayload, sleep } from './window';

const TICK_MS = 1;
/** At most this many messages catch up in one tick after a stall of the generator's loop. */
const MAX_BURST = 1000;
/** How long to wait for the last messages of the window after sending stops. */
const DRAIN_MS = 2000;

export async function runLatency(job: LatencyJob): Promise<LatencyResult> {
  const topic = `bench/latency/qos${job.qos}`;
  const template = new PublishTemplate(topic, makePayload(job.payloadSize), job.qos);
  const subscriber = await LoadConnection.open({ port: job.port, clientId: 'bench-latency-sub' });
  const publisher = await LoadConnection.open({ port: job.port, clientId: 'bench-latency-pub' });
  await subscriber.subscribe(topic, job.qos);

  const start = process.hrtime.bigint();
  const measureFrom = start + BigInt(job.warmupMs) * 1_000_000n;
  const measureUntil = measureFrom + BigInt(job.windowMs) * 1_000_000n;
  const expected = Math.ceil((job.rate * job.windowMs) / 1000) + MAX_BURST;
  const latenciesUs = new Float64Array(expected);
  let samples = 0;
  let sent = 0;
  let sentInWindow = 0;
  let nextId = 1;
  const acks = new AckBatch();

  subscriber.onPacket = (first, buf, bodyStart) => {
    if (first >> 4 !== PUBLISH) return;
    const now = process.hrtime.bigint();
    const qos = (first >> 1) & 3;
    const idOffset = publishPacketIdOffset(buf, bodyStart);
    const sentAt = buf.readBigUInt64BE(qos > 0 ? idOffset + 2 : idOffset);
    if (qos > 0) acks.add(PUBACK, buf.readUInt16BE(idOffset));
    if (sentAt >= measureFrom && sentAt < measureUntil && samples < latenciesUs.length) {
      latenciesUs[samples++] = Number(now - sentAt) / 1000;
    }
  };
  subscriber.onChunkEnd = () => {
    const out = acks.take();
    if (out !== null) subscriber.write(out);
  };

  let meter: (() => { generatorCpu: number; brokerCpu: number }) | null = null;
  let cpu = { generatorCpu: NaN, brokerCpu: NaN };
  const size = template.bytes.length;
  const offset = template.payloadOffset;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = process.hrtime.bigint();
      if (meter === null && now >= measureFrom) meter = cpuMeter(job.brokerPid);
      if (now >= measureUntil) {
        clearInterval(timer);
        if (meter !== null) cpu = meter();
        resolve();
        return;
      }
      const due = Math.min(MAX_BURST, Math.floor((Number(now - start) * job.rate) / 1e9) - sent);
      if (due <= 0) return;
      const out = Buffer.allocUnsafe(due * size);
      for (let k = 0; k < due; k++) {
        template.writeTo(out, k * size, nextId);
        nextId = nextId === 65535 ? 1 : nextId + 1;
        out.writeBigUInt64BE(process.hrtime.bigint(), k * size + offset);
      }
      sent += due;
      if (now >= measureFrom) sentInWindow += due;
      publisher.write(out);
    }, TICK_MS);
  });
  // Let the window's last messages arrive; bounded.
  for (let waited = 0; samples < sentInWindow && waited < DRAIN_MS; waited += 20) await sleep(20);
  const failed = [subscriber, publisher].find((c) => c.error !== null);
  subscriber.close();
  publisher.close();
  if (failed) throw failed.error;

  const sorted = latenciesUs.subarray(0, samples).sort();
  return {
    p50Us: percentileSorted(sorted, 50),
    p99Us: percentileSorted(sorted, 99),
    maxUs: samples > 0 ? sorted[samples - 1] : NaN,
    samples,
    lost: Math.max(0, sentInWindow - samples),
    ...cpu,
  };
}
