// Packet identifiers for outgoing QoS > 0 PUBLISH, SUBSCRIBE and UNSUBSCRIBE: never 0, never one
// still in flight [MQTT-2.2.1-3], [MQTT-2.3.1-2]. The in-flight table itself is the record of use,
// so an id is free again as soon as its flow leaves the table.

export class PacketIdAllocator {
  private next = 1;

  /** The next id not in `inUse`, or undefined when all 65535 are taken. */
  allocate(inUse: { has(id: number): boolean; readonly size: number }): number | undefined {
    if (inUse.size >= 65535) return undefined;
    for (;;) {
      const id = this.next;
      this.next = id === 65535 ? 1 : id + 1;
      if (!inUse.has(id)) return id;
    }
  }
}
