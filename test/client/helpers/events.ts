// Small waits on client events, bounded so a broken client fails the test instead of hanging it.
import type { MqttClient } from '../../../src/client';
import type { ClientEvents } from '../../../src/client/client';

export function nextEvent<K extends keyof ClientEvents>(client: MqttClient, event: K, timeoutMs = 5000): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, on as never);
      reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (...args: ClientEvents[K]) => {
      clearTimeout(timer);
      resolve(args);
    };
    client.once(event, on as never);
  });
}

/** Collects messages as they arrive. */
export function collectMessages(client: MqttClient): { topic: string; payload: string; qos: number; retain: boolean; dup: boolean; properties?: unknown }[] {
  const got: { topic: string; payload: string; qos: number; retain: boolean; dup: boolean; properties?: unknown }[] = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup, properties: packet.properties });
  });
  return got;
}
