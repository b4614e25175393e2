import type { Connection } from '../connection';

/** PINGREQ is answered with PINGRESP [MQTT-3.12.4-1]. */
export function handlePingreq(c: Connection): void {
  c.send({ type: 'pingresp' });
}
