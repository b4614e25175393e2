// mqtt-hub-out: publishes each msg on a shared connection; done() once the QoS flow completes.
import { findConnection } from './lib/connection-node';
import type { Node, NodeAPI, NodeDef, NodeDone, NodeMessage, NodeSend } from './lib/node-red-types';
import { migrateConfig, outMigrations } from './lib/migrations';
import { OutController, readOutSettings } from './lib/out-controller';
import { showStatus } from './lib/status';

export = function (RED: NodeAPI): void {
  function MqttHubOutNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = findConnection(RED, def.broker);
    if (!connection?.controller) {
      node.error(RED._(connection ? 'mqtt-hub.errors.connectionBroken' : 'mqtt-hub.errors.missingConnection'));
      showStatus(RED, node, 'error', RED._('mqtt-hub.status.noConnection'));
      return;
    }
    let controller: OutController;
    try {
      controller = new OutController(RED, node, connection.controller, readOutSettings(migrateConfig(def, outMigrations).config));
    } catch (err) {
      node.error(RED._('mqtt-hub.errors.badSettings', { error: (err as Error).message }));
      showStatus(RED, node, 'error', RED._('mqtt-hub.status.badSettings'));
      return;
    }
    controller.start();
    node.on('input', (msg: NodeMessage, _send: NodeSend, done: NodeDone) => {
      void controller.handleInput(msg, done);
    });
    node.on('close', (removed: boolean, done: () => void) => {
      controller.close(removed).then(done, done);
    });
  }
  RED.nodes.registerType('mqtt-hub-out', MqttHubOutNode);
};
