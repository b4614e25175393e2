// mqtt-hub-in: messages from a subscription (fixed, or driven by msg.action) on a shared connection.
import { findConnection } from './lib/connection-node';
import { InController, readInSettings } from './lib/in-controller';
import { inMigrations, migrateConfig } from './lib/migrations';
import type { Node, NodeAPI, NodeDef, NodeDone, NodeMessage, NodeSend } from './lib/node-red-types';
import { showStatus } from './lib/status';

export = function (RED: NodeAPI): void {
  function MqttHubInNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = findConnection(RED, def.broker);
    if (!connection?.controller) {
      node.error(RED._(connection ? 'mqtt-hub.errors.connectionBroken' : 'mqtt-hub.errors.missingConnection'));
      showStatus(RED, node, 'error', RED._('mqtt-hub.status.noConnection'));
      return;
    }
    const controller = new InController(RED, node, connection.controller, readInSettings(migrateConfig(def, inMigrations).config));
    const started = controller.start();
    node.on('input', (msg: NodeMessage, send: NodeSend, done: NodeDone) => {
      if (!started) return done(new Error(RED._('mqtt-hub.errors.invalidTopicFilter', { topic: String(def.topic ?? '') })));
      void controller.handleInput(msg, send, done);
    });
    node.on('close', (removed: boolean, done: () => void) => {
      if (!started) return done();
      controller.close(removed).then(done, done);
    });
  }
  RED.nodes.registerType('mqtt-hub-in', MqttHubInNode);
};
