// The topic name check of broker-controller.ts and broker-settings.ts, which another piece of work is
// changing: the rule itself is the engine's (src/topics), so this file only adds the type guard
// for values that may not be strings. Every other node file imports from './engine'; when those two
// do as well, this file goes.
import { validateTopicName } from './engine';

/** A topic name to publish to [MQTT-4.7.3-1], [MQTT-4.7.3-2], [MQTT-3.3.2-2], as src/topics checks it. */
export function isValidTopicName(topic: unknown): topic is string {
  return typeof topic === 'string' && validateTopicName(topic);
}
