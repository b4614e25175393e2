// mqtt-hub-connection: the config node that owns one MQTT client for the in and out nodes using it.
import { ConnectionController } from './lib/connection-controller';
import type { ConnectionNode } from './lib/connection-node';
import { connectionFingerprint, offerHandover, takeHandover, watchFlowEvents } from './lib/connection-handover';
import { registerConnectionTest } from './lib/connection-test';
import { readConnectionSettings } from './lib/connection-settings';
import { connectionMigrations, migrateConfig } from './lib/migrations';
import type { Node, NodeAPI, NodeDef } from './lib/node-red-types';

export = function (RED: NodeAPI): void {
  function MqttHubConnectionNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as ConnectionNode;
    node.controller = null;
    let fingerprint = '';
    try {
      // Settings saved by an earlier version are upgraded first (a copy: the flow is not changed).
      const { config } = migrateConfig(def, connectionMigrations);
      // Host, URL and client id may name an environment variable (typedInput "env"), read now.
      for (const key of ['host', 'url', 'clientId']) {
        if (config[`${key}Type`] === 'env' && typeof config[key] === 'string') config[key] = RED.util.evaluateNodeProperty(config[key], 'env', node, null);
      }
      const credentials = (node.credentials ?? {}) as { user?: string; password?: string };
      const settings = readConnectionSettings(config, credentials);
      // A kept session needs a stable client id: a generated one is new on every start.
      if (!settings.cleanStart && !settings.clientId) node.warn(RED._('mqtt-hub.errors.sessionWithoutClientId'));
      fingerprint = connectionFingerprint(RED, settings);
      // A full deploy recreates this node: the previous one's live client is reused when nothing changed.
      const previous = takeHandover(node.id, fingerprint);
      previous.controller?.adopt(node);
      node.controller = previous.controller ?? new ConnectionController(RED, node, settings, previous.ended);
    } catch (err) {
      node.settingsError = (err as Error).message;
      node.error(RED._('mqtt-hub.errors.badSettings', { error: node.settingsError }));
    }
    node.on('close', (removed: boolean, done: () => void) => {
      const controller = node.controller;
      node.controller = null;
      if (!controller) return done();
      if (!removed && controller.canHandOver) {
        offerHandover(node.id, fingerprint, controller, node);
        return done();
      }
      controller.close().then(done, (err: Error) => {
        node.warn(err.message);
        done();
      });
    });
  }
  RED.nodes.registerType('mqtt-hub-connection', MqttHubConnectionNode, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
  registerConnectionTest(RED);
  watchFlowEvents(RED);
};
