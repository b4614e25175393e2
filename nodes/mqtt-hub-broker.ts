// mqtt-hub-broker: an MQTT broker from our engine hosted inside Node-RED.
import { BrokerController } from './lib/broker-controller';
import { BrokerSettingsError, readBrokerSettings } from './lib/broker-settings';
import { brokerMigrations, migrateConfig } from './lib/migrations';
import type { Node, NodeAPI, NodeDef, NodeDone, NodeMessage, NodeSend } from './lib/node-red-types';
import { showStatus } from './lib/status';

export = function (RED: NodeAPI): void {
  function MqttHubBrokerNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let controller: BrokerController | null = null;
    try {
      controller = new BrokerController(RED, node, readBrokerSettings(migrateConfig(def, brokerMigrations).config, (node.credentials ?? {}) as { passwords?: string; bridgeSecrets?: string }));
    } catch (err) {
      node.error(RED._('mqtt-hub.errors.badSettings', { error: (err as Error).message }));
      const aclLine = err instanceof BrokerSettingsError ? err.aclLine : undefined;
      showStatus(RED, node, 'error', aclLine !== undefined ? RED._('mqtt-hub-broker.status.aclError', { line: aclLine }) : RED._('mqtt-hub.status.badSettings'));
    }
    const started = controller ? controller.start() : Promise.resolve();
    node.on('input', (msg: NodeMessage, _send: NodeSend, done: NodeDone) => {
      if (!controller) return done(new Error(RED._('mqtt-hub-broker.errors.notRunning')));
      controller.publish(msg).then(() => done(), done);
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      // Close only after start settled, so a half-open listener is not left behind.
      void started.then(() => controller?.close()).then(done, done);
    });
  }
  RED.nodes.registerType('mqtt-hub-broker', MqttHubBrokerNode, {
    credentials: { passwords: { type: 'password' }, bridgeSecrets: { type: 'password' } },
  });
};
