// Throughput scenarios, run inside a load-generator process: fan-in and fan-out at QoS 0 (a bounded
// number of messages on the way, so no broker has to queue without limit), and QoS 1 / QoS 2 end to
// end with a fixed number of unacknowledged PUBLISH packets.
import type { ThroughputJob, ThroughputResult } from './jobs';
import { AckBatch, PUBACK, PUBCOMP, PUBLISH, PublishTemplate, PUBREC, PUBREL, publishPacketIdOffset } from './frames';
import { LoadConnection, openMany } from './load-connection';
import { makePayload, measureWindow } from './window';

/** QoS 0 messages written per socket write. */
const BATCH = 16;
/** A QoS 0 flow with no delivery for this long counts what is on the way as lost (a broker may drop QoS 0). */
const STALL_MS = 1000;

/**
 * Keeps `window` QoS 0 messages on the way: sent minus received (in publishes; each publish is
 * `fanOut` deliveries). Publishers take turns; one whose socket buffer is full waits for 'drain'.
 */
class Qos0Flow {
  sent = 0;
  delivered = 0;
  lost = 0;
  running = true;
  private turn = 0;
  private readonly blocked: boolean[];
  private lastDelivered = 0;
  private lastProgress = Date.now();
  private readonly stallTimer: NodeJS.Timeout;

  constructor(
    private readonly publishers: LoadConnection[],
    private readonly batches: Buffer[],
    private readonly window: number,
    private readonly fanOut: number,
  ) {
    this.blocked = publishers.map(() => false);
    this.stallTimer = setInterval(() => this.checkStall(), 100);
  }

  private outstanding(): number {
    return this.sent - this.delivered / this.fanOut - this.lost;
  }

  pump(): void {
    const n = this.publishers.length;
    while (this.running && this.outstanding() + BATCH <= this.window) {
      let tried = 0;
      while (tried < n && this.blocked[this.turn]) {
        this.turn = (this.turn + 1) % n;
        tried++;
      }
      if (tried === n) return; // every publisher waits for 'drain'
      const index = this.turn;
      this.turn = (this.turn + 1) % n;
      this.sent += BATCH;
      if (!this.publishers[index].write(this.batches[index])) {
        this.blocked[index] = true;
        this.publishers[index].socket.once('drain', () => {
          this.blocked[index] = false;
          this.pump();
        });
      }
    }
  }

  private checkStall(): void {
    const now = Date.now();
    if (this.delivered !== this.lastDelivered) {
      this.lastDelivered = this.delivered;
      this.lastProgress = now;
    } else if (now - this.lastProgress > STALL_MS && this.outstanding() > 0) {
      this.lost += this.outstanding();
      this.lastProgress = now;
      this.pump();
    }
  }

  stop(): void {
    this.running = false;
    clearInterval(this.stallTimer);
  }
}

async function qos0(job: ThroughputJob, topicOf: (publisher: number) => string, filter: string): Promise<ThroughputResult> {
  const payload = makePayload(job.payloadSize);
  const subscribers = await openMany(job.subscribers, 16, (i) => LoadConnection.open({ port: job.port, clientId: `bench-sub-${i}` }));
  const publishers = await openMany(job.publishers, 16, (i) => LoadConnection.open({ port: job.port, clientId: `bench-pub-${i}` }));
  for (const s of subscribers) await s.subscribe(filter, 0);
  const batches = publishers.map((_, i) => new PublishTemplate(topicOf(i), payload, 0).repeat(BATCH));
  const flow = new Qos0Flow(publishers, batches, job.window, job.subscribers);
  for (const s of subscribers) {
    s.onPacket = (first) => {
      if (first >> 4 === PUBLISH) flow.delivered++;
    };
    s.onChunkEnd = () => flow.pump();
  }
  try {
    flow.pump();
    const sample = await measureWindow(job.brokerPid, job.warmupMs, job.windowMs, () => flow.delivered);
    const failed = [...subscribers, ...publishers].find((c) => c.error !== null);
    if (failed) throw failed.error;
    return { rate: sample.count / sample.seconds, received: sample.count, lost: flow.lost * job.subscribers, generatorCpu: sample.generatorCpu, brokerCpu: sample.brokerCpu };
  } finally {
    flow.stop();
    for (const c of [...subscribers, ...publishers]) c.close();
  }
}

/** One publisher keeping `job.window` PUBLISH unacknowledged, one subscriber acknowledging at the same QoS. */
async function endToEnd(job: ThroughputJob, qos: 1 | 2): Promise<ThroughputResult> {
  const topic = `bench/qos${qos}`;
  const template = new PublishTemplate(topic, makePayload(job.payloadSize), qos);
  const subscriber = await LoadConnection.open({ port: job.port, clientId: 'bench-sub-0' });
  const publisher = await LoadConnection.open({ port: job.port, clientId: 'bench-pub-0' });
  await subscriber.subscribe(topic, qos);

  let received = 0;
  let inFlight = 0;
  let running = true;
  let nextId = 1;
  const inUse = new Uint8Array(65536);
  const subscriberAcks = new AckBatch();
  const publisherAcks = new AckBatch();

  const release = (packetId: number): void => {
    if (inUse[packetId] === 1) {
      inUse[packetId] = 0;
      inFlight--;
    }
  };
  const pump = (): void => {
    const free = job.window - inFlight;
    if (!running || free <= 0) return;
    const size = template.bytes.length;
    const out = Buffer.allocUnsafe(free * size);
    for (let k = 0; k < free; k++) {
      while (inUse[nextId] === 1) nextId = nextId === 65535 ? 1 : nextId + 1;
      inUse[nextId] = 1;
      template.writeTo(out, k * size, nextId);
      nextId = nextId === 65535 ? 1 : nextId + 1;
    }
    inFlight += free;
    publisher.write(out);
  };

  subscriber.onPacket = (first, buf, start) => {
    const type = first >> 4;
    if (type === PUBLISH) {
      received++;
      const packetId = buf.readUInt16BE(publishPacketIdOffset(buf, start));
      subscriberAcks.add(((first >> 1) & 3) === 2 ? PUBREC : PUBACK, packetId);
    } else if (type === PUBREL) {
      subscriberAcks.add(PUBCOMP, buf.readUInt16BE(start));
    }
  };
  subscriber.onChunkEnd = () => {
    const acks = subscriberAcks.take();
    if (acks !== null) subscriber.write(acks);
  };
  publisher.onPacket = (first, buf, start) => {
    const type = first >> 4;
    const packetId = buf.readUInt16BE(start);
    if (type === PUBACK || type === PUBCOMP) release(packetId);
    else if (type === PUBREC) publisherAcks.add(PUBREL, packetId);
  };
  publisher.onChunkEnd = () => {
    const acks = publisherAcks.take();
    if (acks !== null) publisher.write(acks);
    pump();
  };
  try {
    pump();
    const sample = await measureWindow(job.brokerPid, job.warmupMs, job.windowMs, () => received);
    const failed = [subscriber, publisher].find((c) => c.error !== null);
    if (failed) throw failed.error;
    return { rate: sample.count / sample.seconds, received: sample.count, lost: 0, generatorCpu: sample.generatorCpu, brokerCpu: sample.brokerCpu };
  } finally {
    running = false;
    subscriber.close();
    publisher.close();
  }
}

export function runThroughput(job: ThroughputJob): Promise<ThroughputResult> {
  switch (job.kind) {
    case 'fan-in':
      return qos0(job, (i) => `bench/fan-in/${i}`, 'bench/#');
    case 'fan-out':
      return qos0(job, () => 'bench/fan-out', 'bench/fan-out');
    case 'qos1':
      return endToEnd(job, 1);
    case 'qos2':
      return endToEnd(job, 2);
  }
}
