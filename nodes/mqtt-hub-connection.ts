// mqtt-hub-connection: the config node that owns one MQTT client for the in and out nodes using it.
import { ConnectionController } from './lib/connection-controller';
import type { ConnectionNode } from './lib/connection-node';
import { readConnectionSettings } from './lib/connection-settings';
import type { Node, NodeAPI, NodeDef } from './lib/node-red-types';

export = function (RED: NodeAPI): void {
  function MqttHubConnectionNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as ConnectionNode;
    node.controller = null;
    try {
      const credentials = (node.credentials ?? {}) as { user?: string; password?: string };
      node.controller = new ConnectionController(RED, node, readConnectionSettings(def, credentials));
    } catch (err) {
      node.settingsError = (err as Error).message;
      node.error(RED._('mqtt-hub.errors.badSettings', { error: node.settingsError }));
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      const controller = node.controller;
      node.controller = null;
      if (!controller) return done();
      controller.close().then(done, (err: Error) => {
        node.warn(err.message);
        done();
      });
    });
  }
  RED.nodes.registerType('mqtt-hub-connection', MqttHubConnectionNode, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
};
