// checkRetainSource (Mosquitto's check_retain_source): a retained message goes to a new subscription
// only while its publisher may still publish it. The publisher's client identifier, username and
// listener are kept with the retained message; authorizePublish is asked again with them, so an ACL
// changed since (a SIGHUP reload, a user removed) takes effect on what was retained before.
import type { PublishPacket } from '../codec';
import type { BrokerCore } from './core';
import type { BrokerMessage } from './message';
import type { ClientHandle } from './options';

type Authorize = NonNullable<BrokerCore['options']['authorizePublish']>;

/** Notes the publisher of a message about to be retained, when retained sources are checked. */
export function noteRetainSource(core: BrokerCore, message: BrokerMessage, username: string | undefined, listener: ClientHandle['listener']): void {
  if (!core.options.checkRetainSource) return;
  if (username !== undefined) message.originUsername = username;
  const index = listener === undefined ? -1 : core.options.listeners.indexOf(listener);
  if (index >= 0) message.originListener = index;
}

/**
 * The publisher of a retained message as a client handle; one per publisher in a batch (`sources`), so
 * hooks that keep per-client state by handle (the ACL's rules) gather it once, not once per message.
 */
function sourceOf(core: BrokerCore, message: BrokerMessage, sources: Map<string, ClientHandle>): ClientHandle {
  const key = `${message.originListener ?? -1}\u0000${message.originUsername ?? ''}\u0000${message.originUsername === undefined ? 0 : 1}\u0000${message.origin}`;
  let source = sources.get(key);
  if (source === undefined) {
    const listeners = core.options.listeners;
    const listener = message.originListener !== undefined ? listeners[message.originListener] : undefined;
    source = { id: message.origin!, address: 'retained', protocolVersion: 4, username: message.originUsername, listener };
    sources.set(key, source);
  }
  return source;
}

function verdictFor(core: BrokerCore, authorize: Authorize, message: BrokerMessage, sources: Map<string, ClientHandle>): boolean | Promise<boolean> {
  // the broker's own messages ($SYS, those published through broker.publish) have no source to check
  if (message.origin === undefined) return true;
  const packet: PublishPacket = { type: 'publish', topic: message.topic, payload: message.payload, qos: message.qos, retain: true, dup: false };
  if (message.qos > 0) packet.packetId = 1;
  const allowed = (v: boolean | number): boolean => v === true || v === 0;
  try {
    const v = authorize(sourceOf(core, message, sources), packet);
    return v instanceof Promise ? v.then(allowed, () => false) : allowed(v);
  } catch (err) {
    core.log.error(`authorizePublish for the retained message on ${message.topic}: ${(err as Error).message}`);
    return false;
  }
}

/**
 * The retained messages whose publisher may still publish them, to `deliver`: at once when every
 * answer is, else once all have come (in their order either way). Without checkRetainSource, all.
 */
export function withRetainSourceChecked(core: BrokerCore, messages: BrokerMessage[], deliver: (allowed: BrokerMessage[]) => void): void {
  const authorize = core.options.checkRetainSource ? core.options.authorizePublish : undefined;
  if (authorize === undefined || messages.length === 0) return deliver(messages);
  const sources = new Map<string, ClientHandle>();
  const verdicts = messages.map((m) => verdictFor(core, authorize, m, sources));
  const pick = (v: boolean[]): BrokerMessage[] => messages.filter((_, i) => v[i]);
  if (verdicts.every((v) => typeof v === 'boolean')) return deliver(pick(verdicts as boolean[]));
  void Promise.all(verdicts).then((v) => deliver(pick(v)));
}
