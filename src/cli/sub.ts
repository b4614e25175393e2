// `mqtt-hub sub`: subscribe and print what arrives, with mosquitto_sub's options, output formats
// and exit codes (-C count reached: 0; -W timeout: 27; refused CONNACK: its reason code). After a
// successful connection a lost link is re-established, as mosquitto_sub does.
import type { MqttClient } from '../client';
import { MqttError } from '../client';
import type { PublishPacket } from '../codec/types';
import { topicMatchesFilter } from '../topics';
import type { SubArgs } from './client-args';
import { CliIo, connectClient, SetupError } from './client-connection';
import { connackString, EXIT_TIMED_OUT, reasonString } from './client-errors';
import { formatOutput, RenderContext } from './client-format';
import { defaultIo, parseOrReport } from './client-main';
import { nowNanoseconds } from './client-time';

/** Base of the reconnect backoff (ms) once connected: mosquitto_sub keeps trying too. */
const RECONNECT_PERIOD_MS = 1000;

/** The -T check: a filter-out may itself be a filter, as in `-t 'bbc/#' -T 'bbc/radio3'`. */
function filteredOut(topic: string, filterOut: readonly string[]): boolean {
  return filterOut.some((f) => topicMatchesFilter(f, topic));
}

class Subscriber {
  private printed = 0;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private resolveDone!: (exitCode: number) => void;
  readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly client: MqttClient,
    private readonly args: SubArgs,
    private readonly io: CliIo,
  ) {}

  /** Ends the client once and settles `done` with the exit code. */
  finish(exitCode: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    // Safe from a 'message' listener: the client queues that message's PUBACK / PUBREC before
    // delivering it, so the acknowledgement leaves ahead of DISCONNECT.
    void this.client.end({ properties: this.args.protocolVersion === 5 ? this.args.properties.disconnect : undefined }).then(() => this.resolveDone(exitCode));
  }

  private error(text: string): void {
    if (!this.args.quiet) this.io.stderr.write(`${text}\n`);
  }

  /** Listens from the start, so messages of a kept session that arrive with CONNACK are printed too. */
  listen(): void {
    this.client.on('message', (_topic, _payload, packet) => this.onMessage(packet));
    // `mqtt-hub sub ... | head -1`: once the reader has gone there is nothing left to do.
    this.io.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.finish(0);
    });
  }

  /** Once connected: the -W timer, then SUBSCRIBE. */
  start(): void {
    const a = this.args;
    // -C may already be satisfied by a kept session's messages that came with CONNACK.
    if (this.finished) return;
    if (a.timeout !== undefined) {
      this.timer = setTimeout(() => {
        this.error('Timed out');
        this.finish(EXIT_TIMED_OUT);
      }, a.timeout * 1000);
    }
    this.client.on('error', (err) => {
      if (err.code === 'CONNACK_REFUSED' && err.reasonCode !== undefined) {
        // Refused on a reconnect: give up with the reason, as on the first attempt.
        this.error(`Connection error: ${connackString(err.reasonCode, a.protocolVersion)}`);
        this.finish(err.reasonCode);
        return;
      }
      // A lost link is retried by the client; only -d shows it, as with mosquitto_sub.
      if (a.debug) this.io.stdout.write(`Client ${this.client.clientId} error: ${err.message}\n`);
    });
    void this.subscribe();
  }

  private async subscribe(): Promise<void> {
    const a = this.args;
    try {
      const results = await this.client.subscribe(
        a.topics.map((topicFilter) => ({ topicFilter, qos: a.qos })),
        {
          qos: a.qos,
          ...(a.protocolVersion === 5 ? { nl: a.noLocal, rap: a.retainAsPublished, rh: a.retainHandling, properties: a.properties.subscribe } : {}),
        },
      );
      const denied = results.filter((r) => r.reasonCode >= 0x80);
      if (denied.length === results.length) {
        this.error('All subscription requests were denied.');
        this.finish(1);
        return;
      }
      for (const r of denied) this.error(`Warning: Subscription to '${r.topicFilter}' denied: ${reasonString(r.reasonCode)}.`);
      if (a.unsubscribe.length > 0) {
        await this.client.unsubscribe(a.unsubscribe, a.protocolVersion === 5 ? { properties: a.properties.unsubscribe } : {});
      }
      if (a.exitAfterSubscribe) this.finish(0);
    } catch (err) {
      if (this.finished) return;
      this.error(`Error: ${(err as Error).message}`);
      this.finish(1);
    }
  }

  private onMessage(packet: PublishPacket): void {
    const a = this.args;
    if (this.finished) return;
    if (filteredOut(packet.topic, a.filterOut)) return;
    if (a.removeRetained && packet.retain) {
      // An empty retained message clears the retained one: [MQTT-3.3.1-10] in 3.1.1, [MQTT-3.3.1-6] in 5.0.
      this.client.publish(packet.topic, Buffer.alloc(0), { qos: 1, retain: true }).catch((err: Error) => this.error(`Error: ${err.message}`));
    }
    if (a.retainedOnly && !packet.retain) {
      this.finish(0);
      return;
    }
    if (a.noStale && packet.retain) return;
    const context: RenderContext = { now: nowNanoseconds(), pretty: a.pretty, warn: (text) => this.error(text) };
    const out = formatOutput(
      { topic: packet.topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, packetId: packet.packetId, properties: packet.properties },
      { format: a.format, verbose: a.verbose, eol: a.eol },
      context,
    );
    if (out.length > 0) this.io.stdout.write(out);
    this.printed++;
    if (a.count !== undefined && this.printed >= a.count) this.finish(0);
  }
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const args = parseOrReport('sub', argv, io);
  if (typeof args === 'number') return args;
  let outcome;
  let subscriber: Subscriber | undefined;
  try {
    outcome = await connectClient(args, io, RECONNECT_PERIOD_MS, (client) => {
      subscriber = new Subscriber(client, args, io);
      subscriber.listen();
    });
  } catch (err) {
    if (!(err instanceof SetupError || err instanceof MqttError)) throw err;
    io.stderr.write(`Error: ${err.message}\n`);
    return 1;
  }
  if ('exitCode' in outcome || !subscriber) return 'exitCode' in outcome ? outcome.exitCode : 1;
  // Ctrl-C or a kill disconnects cleanly, so the broker does not publish the Will.
  const running = subscriber;
  const onSignal = () => running.finish(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  running.start();
  try {
    return await running.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
