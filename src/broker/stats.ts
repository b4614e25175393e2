// Counters behind $SYS and clients(): plain numbers bumped on the hot path.

export class BrokerStats {
  readonly startedAt = Date.now();
  /** Packets of any type, as Mosquitto counts `messages/received` and `messages/sent`. */
  messagesReceived = 0;
  messagesSent = 0;
  publishReceived = 0;
  publishSent = 0;
  publishDropped = 0;
  bytesReceived = 0;
  bytesSent = 0;
  clientsMaximum = 0;
  connectionsTotal = 0;
}
