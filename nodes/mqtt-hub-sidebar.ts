// mqtt-hub-sidebar: an editor plugin, the "MQTT broker" sidebar tab (mqtt-hub-sidebar.html) and the
// admin endpoints it reads and acts through. Broker nodes feed it (lib/broker-monitor.ts).
import { registerBrokerAdmin } from './lib/broker-admin';
import type { NodeAPI } from './lib/node-red-types';

type PluginAPI = NodeAPI & { plugins?: { registerPlugin(id: string, definition: Record<string, unknown>): void } };

export = function (RED: PluginAPI): void {
  RED.plugins?.registerPlugin('mqtt-hub-sidebar', { type: 'mqtt-hub-sidebar' });
  registerBrokerAdmin(RED);
};
