// mqtt-hub-in: a fixed subscription, or (with one input) subscriptions driven by msg.action, as
// Node-RED's core MQTT-in node's dynamic mode does.
import type { PublishPacket, QoS } from '../../src/codec/types';
import type { ConnectionController, ConnectionUser } from './connection-controller';
import { messageFromPublish, parseBool, parseIntSetting, parseQos, PayloadConversionError, type OutputType } from './message-convert';
import type { Node, NodeAPI, NodeDone, NodeMessage, NodeSend } from './node-red-types';
import { showStatus, type LinkState } from './status';
import { validateTopicFilter } from './engine';
import type { SubscriptionRequest } from './subscription-table';

export interface InSettings {
  topic: string;
  qos: QoS;
  datatype: OutputType;
  dynamic: boolean;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

/** One dynamic subscription as msg.subscriptions lists it (core's field names). */
interface DynamicSubscription {
  topic: string;
  qos: QoS;
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
  datatype?: OutputType;
}

const outputTypes: OutputType[] = ['auto-detect', 'auto', 'utf8', 'buffer', 'json', 'base64'];

export function readInSettings(config: Record<string, unknown>): InSettings {
  const datatype = String(config.datatype ?? 'auto-detect') as OutputType;
  return {
    topic: String(config.topic ?? '').trim(),
    qos: parseQos(config.qos) ?? 2,
    datatype: outputTypes.includes(datatype) ? datatype : 'auto-detect',
    dynamic: Number(config.inputs) === 1,
    noLocal: parseBool(config.nl) ?? false,
    retainAsPublished: parseBool(config.rap) ?? true,
    retainHandling: parseIntSetting(config.rh, 0, 0, 2) as 0 | 1 | 2,
  };
}

export class InController implements ConnectionUser {
  private readonly dynamicSubscriptions = new Map<string, DynamicSubscription>();

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly connection: ConnectionController,
    private readonly settings: InSettings,
  ) {}

  get id(): string {
    return this.node.id;
  }

  /** Registers with the connection and, unless dynamic, subscribes; false when the settings are unusable. */
  start(): boolean {
    if (!this.settings.dynamic && !validateTopicFilter(this.settings.topic)) {
      this.node.error(this.RED._('mqtt-hub.errors.invalidTopicFilter', { topic: this.settings.topic }));
      showStatus(this.RED, this.node, 'error', this.RED._('mqtt-hub.status.badTopic'));
      return false;
    }
    this.connection.register(this);
    if (!this.settings.dynamic) {
      const { qos, noLocal, retainAsPublished, retainHandling, datatype, topic } = this.settings;
      this.subscribe(topic, { qos, noLocal, retainAsPublished, retainHandling }, datatype).catch((err: Error) => this.node.error(err.message));
    }
    return true;
  }

  linkStateChanged(state: LinkState, detail?: string): void {
    showStatus(this.RED, this.node, state, detail);
  }

  async handleInput(msg: NodeMessage, send: NodeSend, done: NodeDone): Promise<void> {
    try {
      switch (msg.action) {
        case 'connect':
          await this.connection.connectAction(msg.broker && typeof msg.broker === 'object' ? (msg.broker as Record<string, unknown>) : null);
          break;
        case 'disconnect':
          await this.connection.disconnectAction();
          break;
        case 'subscribe':
          for (const sub of this.describe(msg.topic, false)) await this.subscribeDynamic(sub);
          msg.subscriptions = this.subscriptionList();
          break;
        case 'unsubscribe': {
          const subs = msg.topic === true ? [...this.dynamicSubscriptions.values()] : this.describe(msg.topic, true);
          for (const sub of subs) {
            this.dynamicSubscriptions.delete(sub.topic);
            await this.connection.unsubscribe(this.node.id, sub.topic);
          }
          msg.subscriptions = this.subscriptionList();
          break;
        }
        case 'getSubscriptions':
          msg.topic = 'subscriptions';
          msg.payload = this.subscriptionList();
          send(msg);
          break;
        default:
          throw new Error(this.RED._('mqtt-hub.errors.invalidAction', { action: String(msg.action) }));
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  async close(removed: boolean): Promise<void> {
    if (removed && this.settings.dynamic) {
      for (const topic of this.dynamicSubscriptions.keys()) await this.connection.unsubscribe(this.node.id, topic);
    }
    this.dynamicSubscriptions.clear();
    await this.connection.deregister(this, removed);
  }

  private subscriptionList(): DynamicSubscription[] {
    return [...this.dynamicSubscriptions.values()].map((s) => ({ ...s }));
  }

  /** msg.topic of a subscribe/unsubscribe action: a filter, an object with options, or a list of them. */
  private describe(topic: unknown, forUnsubscribe: boolean): DynamicSubscription[] {
    const list = Array.isArray(topic) ? topic : [topic];
    if (list.length === 0 || (typeof topic !== 'string' && (typeof topic !== 'object' || topic === null))) {
      throw new Error(this.RED._('mqtt-hub.errors.invalidSubscription'));
    }
    return list.map((item: unknown) => {
      const o = (typeof item === 'string' ? { topic: item } : item) as Record<string, unknown> | null;
      if (!o || typeof o.topic !== 'string' || !validateTopicFilter(o.topic)) {
        throw new Error(this.RED._('mqtt-hub.errors.invalidTopicFilter', { topic: String(o?.topic ?? item) }));
      }
      if (forUnsubscribe) return { topic: o.topic, qos: 0 as QoS };
      const sub: DynamicSubscription = { topic: o.topic, qos: parseQos(o.qos) ?? 2 };
      if (this.connection.v5) {
        sub.rh = parseIntSetting(o.rh, 0, 0, 2) as 0 | 1 | 2;
        sub.rap = parseBool(o.rap) ?? true;
        const nl = parseBool(o.nl);
        if (nl !== undefined) sub.nl = nl;
      }
      const datatype = typeof o.datatype === 'string' && outputTypes.includes(o.datatype as OutputType) ? (o.datatype as OutputType) : undefined;
      if (datatype) sub.datatype = datatype;
      return sub;
    });
  }

  private async subscribeDynamic(sub: DynamicSubscription): Promise<void> {
    this.dynamicSubscriptions.set(sub.topic, sub);
    await this.subscribe(
      sub.topic,
      { qos: sub.qos, noLocal: sub.nl, retainAsPublished: sub.rap, retainHandling: sub.rh },
      sub.datatype ?? this.settings.datatype,
    );
  }

  private subscribe(topic: string, request: SubscriptionRequest, datatype: OutputType): Promise<void> {
    return this.connection.subscribe(this.node.id, topic, request, (packet) => this.deliver(packet, datatype));
  }

  private deliver(packet: PublishPacket, datatype: OutputType): void {
    let msg: NodeMessage;
    try {
      msg = messageFromPublish(packet, datatype, this.connection.v5);
    } catch (err) {
      if (!(err instanceof PayloadConversionError)) throw err;
      this.node.error(this.RED._('mqtt-hub.errors.payloadConversion', { error: err.message }), {
        topic: packet.topic,
        payload: packet.payload,
        qos: packet.qos,
        retain: packet.retain,
      });
      return;
    }
    this.node.send(msg);
  }
}
