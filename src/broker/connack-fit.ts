// A CONNACK within the client's Maximum Packet Size [MQTT-3.1.2-24]: the optional properties go,
// first those the specification names (Reason String [MQTT-3.2.2-19], User Properties [MQTT-3.2.2-20]),
// then those whose absence tells the client the same or less; what is left changes what the client may
// do, so a CONNACK that still does not fit is not sent at all and the connection closes (as Mosquitto
// 2.0 does for any CONNACK over the limit).
import { type ConnackPacket, type Properties, encodedLength } from '../codec';

type Optional = (props: Properties) => boolean;

/** In the order they are dropped. */
const OPTIONAL: readonly (readonly [keyof Properties, Optional])[] = [
  ['reasonString', () => true],
  ['userProperties', () => true],
  // absent means 1, the very value they carry (section 3.2.2.3)
  ['retainAvailable', (p) => p.retainAvailable === 1],
  ['wildcardSubscriptionAvailable', (p) => p.wildcardSubscriptionAvailable === 1],
  ['subscriptionIdentifiersAvailable', (p) => p.subscriptionIdentifiersAvailable === 1],
  ['sharedSubscriptionAvailable', (p) => p.sharedSubscriptionAvailable === 1],
  // absent means 0 aliases: the client only loses a saving
  ['topicAliasMaximum', () => true],
  // information the client asked for or may use, not a rule it must keep
  ['responseInformation', () => true],
  ['serverReference', () => true],
];

/** The CONNACK itself when it fits, a copy with fewer properties that fits, or null when none does. */
export function fitConnack(connack: ConnackPacket, maximumPacketSize: number): ConnackPacket | null {
  if (encodedLength(connack, 5) <= maximumPacketSize) return connack;
  const properties: Properties = { ...connack.properties };
  const fitted: ConnackPacket = { ...connack, properties };
  for (const [name, optional] of OPTIONAL) {
    if (properties[name] === undefined || !optional(properties)) continue;
    delete properties[name];
    if (encodedLength(fitted, 5) <= maximumPacketSize) return fitted;
  }
  return null;
}
