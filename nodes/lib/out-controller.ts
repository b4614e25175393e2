// mqtt-hub-out: publishes each msg and reports the outcome through done(), so Catch and Complete
// nodes see every message. While the connection is down, QoS 1 and 2 messages wait in a bounded
// queue and go out in order on reconnect; what cannot wait or does not fit fails visibly.
import type { QoS } from '../../src/codec/types';
import type { ConnectionController, ConnectionUser } from './connection-controller';
import { ConnectionError } from './connection-controller';
import {
  parseBool,
  parseIntSetting,
  parseQos,
  parseUserPropertiesJson,
  payloadToBuffer,
  publishFieldsFrom,
  type PublishFields,
} from './message-convert';
import type { Node, NodeAPI, NodeDone, NodeMessage } from './node-red-types';
import { showStatus, type LinkState } from './status';

export interface OutSettings {
  topic: string;
  /** undefined: taken from msg.qos (then 0). */
  qos?: QoS;
  /** undefined: taken from msg.retain. */
  retain?: boolean;
  queueSize: number;
  fields: PublishFields;
}

export class OutSettingsError extends Error {
  override readonly name = 'OutSettingsError';
}

export function readOutSettings(config: Record<string, unknown>): OutSettings {
  let userProperties: Record<string, unknown> | undefined;
  try {
    userProperties = parseUserPropertiesJson(config.userProperties);
  } catch {
    throw new OutSettingsError('user properties are not a JSON object');
  }
  const fields = publishFieldsFrom({
    responseTopic: config.responseTopic,
    correlationData: config.correlationData,
    contentType: config.contentType,
    messageExpiryInterval: config.messageExpiryInterval,
    userProperties,
  });
  return {
    topic: String(config.topic ?? '').trim(),
    qos: parseQos(config.qos),
    retain: parseBool(config.retain),
    queueSize: parseIntSetting(config.queueSize, 100, 0, 1_000_000),
    fields,
  };
}

interface Pending {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  layers: PublishFields[];
  done: NodeDone;
}

export class OutController implements ConnectionUser {
  private readonly queue: Pending[] = [];
  private flushing = false;
  private linkState: LinkState = 'disconnected';
  private linkDetail: string | undefined;
  private readonly stopListening: () => void;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly connection: ConnectionController,
    private readonly settings: OutSettings,
  ) {
    this.stopListening = connection.onConnect(() => void this.flush());
  }

  get id(): string {
    return this.node.id;
  }

  start(): void {
    this.connection.register(this);
  }

  linkStateChanged(state: LinkState, detail?: string): void {
    this.linkState = state;
    this.linkDetail = detail;
    this.showStatus();
  }

  async handleInput(msg: NodeMessage, done: NodeDone): Promise<void> {
    try {
      if (msg.action === 'connect') {
        await this.connection.connectAction(msg.broker && typeof msg.broker === 'object' ? (msg.broker as Record<string, unknown>) : null);
        return done();
      }
      if (msg.action === 'disconnect') {
        await this.connection.disconnectAction();
        return done();
      }
      if (msg.action !== undefined) throw new Error(this.RED._('mqtt-hub.errors.invalidAction', { action: String(msg.action) }));
    } catch (err) {
      return done(err as Error);
    }
    if (!Object.prototype.hasOwnProperty.call(msg, 'payload')) return done();
    // As in core: the node's topic, QoS and retain, when set, win over the msg's.
    const topic = this.settings.topic || (typeof msg.topic === 'string' ? msg.topic : '');
    const qos = this.settings.qos ?? parseQos(msg.qos) ?? 0;
    const retain = this.settings.retain ?? parseBool(msg.retain) ?? false;
    const fromMsg = publishFieldsFrom(msg);
    // Scalar 5.0 properties: the node's, when set, win; user properties merge with the msg winning per key.
    const nodeFields = { ...this.settings.fields, userProperties: undefined };
    const layers: PublishFields[] = [{ userProperties: this.settings.fields.userProperties }, fromMsg, nodeFields];
    const item: Pending = { topic, payload: payloadToBuffer(msg.payload), qos, retain, layers, done };
    if (!topic || !isPublishable(topic)) {
      return done(new ConnectionError('INVALID_TOPIC', this.RED._('mqtt-hub.errors.invalidTopic', { topic })));
    }
    if (this.connection.connected && this.queue.length === 0) return this.send(item);
    if (qos === 0) {
      // QoS 0 promises nothing across a disconnection: fail it rather than hold it.
      return done(new ConnectionError('NOT_CONNECTED', this.RED._('mqtt-hub.errors.droppedNotConnected', { topic })));
    }
    if (this.queue.length >= this.settings.queueSize) {
      return done(new ConnectionError('NOT_CONNECTED', this.RED._('mqtt-hub.errors.queueFull', { size: this.settings.queueSize, topic })));
    }
    this.queue.push(item);
    this.showStatus();
    if (this.connection.connected) void this.flush();
  }

  async close(removed: boolean): Promise<void> {
    this.stopListening();
    const left = this.queue.splice(0);
    for (const item of left) item.done(new ConnectionError('CLOSED', this.RED._('mqtt-hub.errors.closedWithQueue')));
    await this.connection.deregister(this, removed);
  }

  private async send(item: Pending): Promise<void> {
    try {
      await this.connection.publish(item.topic, item.payload, item.qos, item.retain, ...item.layers);
      item.done();
    } catch (err) {
      item.done(describePublishError(err as Error));
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length && this.connection.connected) {
        const item = this.queue.shift()!;
        this.showStatus();
        await this.send(item);
      }
    } finally {
      this.flushing = false;
      this.showStatus();
    }
  }

  private showStatus(): void {
    const backlog = this.queue.length ? this.RED._('mqtt-hub.status.queued', { count: this.queue.length }) : undefined;
    const detail = [this.linkDetail, backlog].filter(Boolean).join(', ') || undefined;
    showStatus(this.RED, this.node, this.linkState, detail);
  }
}

function isPublishable(topic: string): boolean {
  return !/[+#\u0000]/.test(topic);
}

/** A publish failure with the server's reason code in its text, so a Catch node can show it. */
function describePublishError(err: Error): Error {
  const reasonCode = (err as { reasonCode?: number }).reasonCode;
  if (reasonCode === undefined || /0x[0-9a-f]{2}/i.test(err.message)) return err;
  const wrapped = new Error(`${err.message} (reason code 0x${reasonCode.toString(16).padStart(2, '0')})`, { cause: err });
  Object.assign(wrapped, { code: (err as { code?: string }).code, reasonCode });
  return wrapped;
}
